"""/training transcripts: a township leader records a training of their township — today
unless changed, the topic, the absent typed as names (张三、李四); a name that is nobody of the
township is named back when 提交 is tapped and asked again, the rest kept; /laggards names the
absent with 缺席培训; 无人缺席 records nobody; the office records one for the whole county (全县)
and the export's 培训 sheet reads them back; cadres and team leaders cannot /training, and a
township leader cannot record another township's."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Person, TrainingAbsence, TrainingSession
from storage.people import set_authority
from tests.harness import texts
from tests.test_export import by_header, fetch_workbook
from tests.test_export import exports as exports  # the fixture, for this module's tests
from tests.test_report import fetch_report
from tests.test_session_absence import _users


async def _trainings(harness) -> list[tuple[str | None, str, list[str]]]:
    """Each training: its township's id as text (None: the county), topic, absent names."""
    async with harness.db.read() as session:
        names = {p.id: p.name for p in (await session.execute(select(Person))).scalars()}
        found = []
        for t in (await session.execute(select(TrainingSession).order_by(
                TrainingSession.id))).scalars():
            absent = (await session.execute(select(TrainingAbsence.person_id).where(
                TrainingAbsence.training_id == t.id))).scalars()
            found.append((None if t.township_id is None else str(t.township_id), t.topic,
                          sorted(names[pid] for pid in absent)))
        return found


async def test_a_township_leader_records_a_training_and_laggards_names_the_absent(harness):
    users = await _users(harness)
    sun = users["孙丽"]
    replies = await harness.send(sun, "/training")
    assert "培训内容是什么？" in replies[-1].plain_text
    replies = await harness.send(sun, "防汛救灾政策")
    assert "谁缺席了？" in replies[-1].plain_text
    replies = await harness.send(sun, "李娜、赵强 王芳")  # 赵强 is of 古埠镇
    screen = replies[-1].plain_text
    assert "范围：黄金埠镇" in screen and "缺席：李娜、赵强、王芳" in screen
    assert "赵强不是本范围在岗的驻村干部或队长" in screen  # named at once, asked again at 提交
    replies = await harness.tap(sun, replies, "✅ 提交")
    assert texts(replies)[-1].startswith(
        "赵强不是本范围在岗的驻村干部或队长，请核对姓名后重新输入。")
    assert "谁缺席了？" in replies[-1].plain_text
    assert await _trainings(harness) == []
    replies = await harness.send(sun, "李娜，王")  # a part of a name finds the whole
    screen = replies[-1].plain_text
    assert "内容：防汛救灾政策" in screen and "缺席：李娜、王" in screen  # the rest kept
    assert "将记为缺席：李娜、王芳。" in screen
    replies = await harness.tap(sun, replies, "✅ 提交")
    assert texts(replies)[-1] == (
        "✅ 已记录11月28日（周六）黄金埠镇的培训“防汛救灾政策”，缺席 2 人：李娜、王芳。")
    [(township, topic, absent)] = await _trainings(harness)
    assert (topic, absent) == ("防汛救灾政策", ["李娜", "王芳"]) and township is not None

    shown = "\n".join(texts(await harness.send(sun, "/laggards")))
    [li] = [line for line in shown.splitlines() if line.startswith("• 李娜")]
    [wang] = [line for line in shown.splitlines() if line.startswith("• 王芳")]
    assert li.endswith("缺席培训 1 次") and wang.endswith("缺席培训 1 次")
    assert "缺席培训" not in "\n".join(line for line in shown.splitlines()
                                    if line.startswith("• 陈静"))
    assert "缺席培训" not in "\n".join(texts(await harness.send(sun, "/laggards 上周")))


async def test_a_name_two_people_share_is_asked_again_and_a_phone_number_tells_them_apart(
        harness):
    users = await _users(harness)
    async with harness.db.write() as session:
        li = (await session.execute(select(Person).where(Person.name == "李娜"))).scalar_one()
        chen = (await session.execute(select(Person).where(Person.name == "陈静"))).scalar_one()
        session.add(Person(name="李娜", phone="+8613800138011", rank="ordinary", role="cadre",
                           unit_id=chen.unit_id, township_id=chen.township_id,
                           village_id=chen.village_id, active=True, invite_code="TRAIN011",
                           created_at=harness.clock.now(), updated_at=harness.clock.now()))
        phone = li.phone.removeprefix("+86")
    sun = users["孙丽"]
    await harness.send(sun, "/training")
    await harness.send(sun, "政策宣讲")
    replies = await harness.send(sun, "李娜")
    assert "李娜有同名的人，请改为输入其手机号。" in replies[-1].plain_text
    replies = await harness.tap(sun, replies, "✅ 提交")
    assert texts(replies)[-1].startswith("李娜有同名的人，请改为输入其手机号。")
    replies = await harness.send(sun, phone)
    assert "将记为缺席：李娜。" in replies[-1].plain_text
    replies = await harness.tap(sun, replies, "✅ 提交")
    assert texts(replies)[-1].endswith("缺席 1 人：李娜。")
    async with harness.db.read() as session:
        assert (await session.execute(select(TrainingAbsence.person_id))).scalars().all() == [
            li.id]


async def test_nobody_absent_and_the_county_training_in_the_export(harness, exports):
    users = await _users(harness)
    wu = users["吴敏"]
    replies = await harness.send(wu, "/training")
    assert "哪个乡镇的培训？" in replies[-1].plain_text
    replies = await harness.tap(wu, replies, "全县")
    replies = await harness.send(wu, "矛盾纠纷排查化解")
    replies = await harness.tap(wu, replies, "无人缺席")
    assert "缺席：无人缺席" in replies[-1].plain_text
    replies = await harness.tap(wu, replies, "✅ 提交")
    assert texts(replies)[-1] == (
        "✅ 已记录11月28日（周六）全县的培训“矛盾纠纷排查化解”，无人缺席。")
    assert await _trainings(harness) == [(None, "矛盾纠纷排查化解", [])]

    replies = await harness.send(wu, "/training")
    replies = await harness.tap(wu, replies, "黄金埠镇")
    replies = await harness.send(wu, "走访群众方法")
    replies = await harness.send(wu, "陈静")
    replies = await harness.tap(wu, replies, "✅ 提交")
    assert texts(replies)[-1].endswith("缺席 1 人：陈静。")

    await harness.send(wu, "/export")
    _, book, _ = await fetch_workbook(harness, wu)
    rows = by_header(book, "培训")
    assert [(r["乡镇"], r["内容"], r["记录人"], r["缺席人员"]) for r in rows] == [
        ("全县", "矛盾纠纷排查化解", "吴敏", None),
        ("黄金埠镇", "走访群众方法", "吴敏", "陈静")]
    assert all(r["日期"] is not None for r in rows)
    logged = [(r["对象"], r["操作"], r["字段"], r["新值"]) for r in by_header(book, "操作日志")
              if r["对象"] == "培训"]
    assert logged == [("培训", "记录", None, None), ("培训", "记录", "乡镇", "黄金埠镇")]

    # The county report's attendance section counts them (two trainings, one absence).
    harness.emu.documents.clear()  # the report is the next document
    await harness.send(wu, "/report")
    _, document, _ = await fetch_report(harness, wu)
    assert ("本期县乡组织培训 2 次，记录缺席 1 人次；动员会点名缺席 0 人次。缺席人员已列入每周"
            "“后进名单”。") in [p.text for p in document.paragraphs]


async def test_cadres_cannot_and_a_township_leader_only_for_their_township(harness):
    users = await _users(harness)
    for name in ("李娜", "张伟"):
        replies = texts(await harness.send(users[name], "/training"))
        assert "培训内容" not in "\n".join(replies)
    sun = users["孙丽"]
    replies = await harness.send(sun, "/training")
    replies = await harness.send(sun, "政策宣讲")
    replies = await harness.tap(sun, replies, "无人缺席")
    offered = await harness.tap(sun, replies, "✏️ 范围")  # her township is the one offered
    assert [label for row in offered[-1].buttons for label, _ in row] == ["黄金埠镇"]
    replies = await harness.tap(sun, offered, "黄金埠镇")
    replies = await harness.tap(sun, replies, "无人缺席")
    # the roster moves her to 古埠镇 while the draft is open: 黄金埠镇's is no longer hers
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(Person.name == "孙丽"))).scalar_one()
        gubu = (await session.execute(select(Person.township_id).where(
            Person.name == "赵强"))).scalar_one()
        set_authority(person, now=harness.clock.now(), township_id=gubu)
    replies = await harness.tap(sun, replies, "✅ 提交")
    assert "您未完成的培训已关闭" in texts(replies)[0]
    assert await _trainings(harness) == []
    async with harness.db.read() as session:
        assert not (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "training"))).scalars().all()
