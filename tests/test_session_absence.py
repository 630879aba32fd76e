"""A mobilisation meeting's roll call: the team leader who recorded it marks the team's absent
cadres with one tap each, then 完成; /laggards names them; nobody else can take the roll."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Person, SessionAbsence
from storage.people import set_authority
from tests.harness import texts
from tests.test_publicity import _record
from tests.test_schedules import bind_everyone


async def _users(harness):
    chats = await bind_everyone(harness, "zh-hans")
    return {name: harness.emu.user(chat, first_name=name, language_code="zh-hans")
            for name, chat in chats.items()}


async def _absent(harness) -> list[tuple[str, str]]:
    async with harness.db.read() as session:
        names = {p.id: p.name for p in (await session.execute(select(Person))).scalars()}
        rows = (await session.execute(select(SessionAbsence).order_by(SessionAbsence.id)))
        return [(names[r.person_id], names[r.marked_by]) for r in rows.scalars()]


def _roll(replies):
    """The roll call's message: the newest with a 完成 button."""
    for sent in reversed(replies):
        if any(label == "完成" for row in sent.buttons for label, _ in row):
            return sent
    raise AssertionError(f"no roll call in {texts(replies)}")


def _data(sent, label):
    [found] = [data for row in sent.buttons for text, data in row if text == label]
    return found


async def test_the_team_leader_marks_the_absent_and_laggards_names_them(harness):
    users = await _users(harness)
    zhang = users["张伟"]
    replies = await _record(harness, zhang, kind="mobilisation")
    roll = _roll(replies)
    assert roll.plain_text.splitlines() == [
        "11月28日（周六）的动员会：请点名。点一下队员的名字，即记为缺席（再点一下取消）；点完后点"
        "“完成”。工作队共 2 人（不含您）。", "尚未记缺席。"]
    assert [label for row in roll.buttons for label, _ in row] == ["李娜", "王芳", "完成"]
    await harness.press(zhang, _data(roll, "李娜"), message_id=roll.message_id)
    await harness.press(zhang, _data(roll, "王芳"), message_id=roll.message_id)
    await harness.press(zhang, _data(roll, "王芳"), message_id=roll.message_id)  # undone
    edited = harness.emu.sent_to(zhang.id)[-1]
    assert edited.plain_text.splitlines()[-1] == "已记缺席：李娜"
    assert [label for row in edited.buttons for label, _ in row] == [
        "✗ 李娜（缺席）", "王芳", "完成"]
    replies = await harness.press(zhang, _data(roll, "完成"), message_id=roll.message_id)
    assert texts(replies)[-1] == "✅ 已记录11月28日（周六）动员会的缺席：李娜。后进名单中会列出。"
    assert await _absent(harness) == [("李娜", "张伟")]

    shown = "\n".join(texts(await harness.send(users["孙丽"], "/laggards")))
    [li] = [line for line in shown.splitlines() if line.startswith("• 李娜")]
    [wang] = [line for line in shown.splitlines() if line.startswith("• 王芳")]
    assert li.endswith("缺席动员会 1 次") and "缺席动员会" not in wang
    assert "缺席动员会" not in "\n".join(texts(await harness.send(users["孙丽"], "/laggards 上周")))


async def test_a_cadre_cannot_press_the_roll_call(harness):
    users = await _users(harness)
    replies = await _record(harness, users["张伟"], kind="mobilisation")
    roll = _roll(replies)
    await harness.send(users["李娜"], "/publicity")  # a keyboard of her own to press on
    await harness.press(users["李娜"], _data(roll, "王芳"))  # the leader's button, forged
    assert harness.emu.callback_answers[-1]["text"] == "只有该村的队长可以为这次动员会点名。"
    assert await _absent(harness) == []


async def test_another_villages_team_leader_and_a_moved_leader_mark_nobody(harness):
    users = await _users(harness)
    replies = await _record(harness, users["张伟"], kind="mobilisation")
    roll = _roll(replies)
    await harness.send(users["刘洋"], "/publicity")
    await harness.press(users["刘洋"], _data(roll, "李娜"))  # 东岗村's team leader, forged
    assert harness.emu.callback_answers[-1]["text"] == "只有该村的队长可以为这次动员会点名。"
    async with harness.db.write() as session:
        zhang = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        set_authority(zhang, now=harness.clock.now(), role="cadre")
    await harness.press(users["张伟"], _data(roll, "李娜"), message_id=roll.message_id)
    assert await _absent(harness) == []


async def test_a_cadres_own_mobilisation_meeting_has_no_roll_call(harness):
    users = await _users(harness)
    replies = await _record(harness, users["李娜"], kind="mobilisation")
    assert all(not sent.buttons for sent in replies[-1:])
    assert "完成" not in str([sent.buttons for sent in replies])
    replies = await _record(harness, users["张伟"], kind="mass")  # not a mobilisation meeting
    assert "完成" not in str([sent.buttons for sent in replies])
