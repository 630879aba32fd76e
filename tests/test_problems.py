"""/problem and /problems through the emulator: raised → in hand → solved → written feedback →
checked back, with the step buttons of each status only, stale and forged buttons refused, and
the leaders' read-only lists of their scope."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from storage import export, figures, stats
from storage import problems as store
from storage.models import AuditEntry, Problem, ProblemStep, Visit
from storage.scope import Scope
from tests.conftest import SHANGHAI
from tests.harness import texts
from tests.scheduling import local, tick
from tests.test_reminders import people_by_name
from tests.test_schedules import bind_everyone, messages
from tests.test_visits import button

TODAY = dt.date(2026, 11, 28)  # the harness's clock: Saturday


async def _user(harness, phone="13800138002", user_id=6501, language="en", roster=True):
    if roster:
        await harness.import_roster()
    return await harness.register(phone, user_id=user_id, language_code=language)


async def _problems(harness) -> list[Problem]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Problem).order_by(Problem.id))).scalars())


async def _steps(harness, problem_id) -> list[ProblemStep]:
    async with harness.db.read() as session:
        return list((await session.execute(select(ProblemStep).where(
            ProblemStep.problem_id == problem_id).order_by(ProblemStep.id))).scalars())


async def _raise(harness, user, *, category="infrastructure", priority="normal",
                 text="The bridge to the fields is broken"):
    replies = await harness.send(user, "/problem")
    replies = await harness.press(user, button(replies, f":{category}"))
    replies = await harness.send(user, text)
    replies = await harness.press(user, button(replies, f":{priority}"))
    replies = await harness.press(user, button(replies, ":s:3"))  # no household
    return await harness.press(user, button(replies, ":ok"))


def _buttons(replies) -> list[str]:
    return [data for sent in replies for row in sent.buttons for _, data in row if data]


async def _take(harness, user, problem_id, *, due=None):
    await harness.send(user, "/problems")  # a keyboard to press on
    replies = await harness.press(user, f"prs:{problem_id}:t")
    await harness.send(user, "Repair with the village's labour")
    replies = await harness.send(user, "Wang, the village head")
    replies = await harness.press(user, button(replies, f":{due or '2026-12-05'}"))
    return await harness.press(user, button(replies, ":ok"))


async def _step(harness, user, problem_id, code, note, *, addressee="village_committee"):
    replies = await harness.press(user, f"prs:{problem_id}:{code}")
    if code == "f":  # written feedback names its addressee first
        await harness.press(user, button(replies, f":{addressee}"))
    replies = await harness.send(user, note)
    return await harness.press(user, button(replies, ":ok"))


async def test_a_raised_problem_is_saved_with_its_first_step_in_english(harness):
    user = await _user(harness)
    replies = await harness.send(user, "/problem")
    assert "What kind of problem" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":infrastructure"))
    assert "Describe the problem" in replies[-1].plain_text
    replies = await harness.send(user, "   ")
    assert len(await _problems(harness)) == 0 and replies
    replies = await harness.send(user, "The bridge to the fields is broken")
    assert "How urgent" in replies[-1].plain_text
    assert [label for row in replies[-1].buttons for label, _ in row][:3] == [
        "Very urgent", "Urgent", "Normal"]
    replies = await harness.press(user, button(replies, ":high"))
    assert "Which household" in replies[-1].plain_text
    replies = await harness.send(user, "Li Si")
    assert "The bridge to the fields is broken" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":ok"))
    [problem] = await _problems(harness)
    assert f"Problem #{problem.id}" in texts(replies)[-1]
    assert "Take it in hand by Sat 5 Dec" in texts(replies)[-1]  # PROBLEM_RAISED_DAYS = 7
    assert (problem.status, problem.priority, problem.category, problem.next_due_on) == (
        "raised", 1, "infrastructure", dt.date(2026, 12, 5))
    assert problem.household_id is not None and problem.village_id is not None
    [step] = await _steps(harness, problem.id)
    assert (step.action, step.status, step.day) == ("raise", "raised", TODAY)


async def test_a_problem_is_raised_in_chinese_and_back_goes_one_question_back(harness):
    user = await _user(harness, language="zh-hans")
    replies = await harness.send(user, "/problem")
    assert "是哪一类问题" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":livelihood"))
    await harness.send(user, "低保户房屋漏雨")
    replies = await harness.send(user, "/back")
    assert "请描述问题" in replies[-1].plain_text
    replies = await harness.send(user, "五保户房屋漏雨")
    assert "紧急程度" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":low"))
    replies = await harness.press(user, button(replies, ":s:3"))
    replies = await harness.press(user, button(replies, ":ok"))
    [problem] = await _problems(harness)
    assert f"问题 #{problem.id}（生活困难）已登记入本村问题台账" in texts(replies)[-1]
    assert (problem.description, problem.priority, problem.household_id) == (
        "五保户房屋漏雨", 3, None)


async def test_cancel_saves_nothing(harness):
    user = await _user(harness)
    replies = await harness.send(user, "/problem")
    await harness.press(user, button(replies, ":land"))
    await harness.send(user, "/cancel")
    assert await _problems(harness) == []


async def test_the_whole_lifecycle_offers_only_the_next_step_in_english(harness):
    user = await _user(harness)
    await _raise(harness, user)
    [problem] = await _problems(harness)
    replies = await harness.send(user, "/problems")
    assert "Open problems of 新村: 1 (0 overdue)" in replies[0].plain_text
    assert "[Urgent] Infrastructure · The bridge to the fields is broken · raised" in (
        replies[0].plain_text)
    assert _buttons(replies) == [f"prb:{problem.id}"]
    replies = await harness.press(user, f"prb:{problem.id}")
    assert "Next step due by Sat 5 Dec." in replies[0].plain_text
    assert _buttons(replies) == [f"prs:{problem.id}:t"]
    replies = await harness.press(user, f"prs:{problem.id}:t")
    assert "Which measures" in replies[-1].plain_text
    await harness.send(user, "Repair with the village's labour")
    replies = await harness.send(user, "Wang, the village head")
    assert "By when" in replies[-1].plain_text
    replies = await harness.send(user, "2026-11-27")
    assert replies[0].plain_text == ("That day has passed. Please send today's date or a "
                                     "later one, such as “12-5” or “next friday”.")
    replies = await harness.send(user, "not a date")
    assert replies and (await _problems(harness))[0].status == "raised"
    replies = await harness.send(user, "2026-12-10")
    assert "Thu 10 Dec" in replies[-1].plain_text and "Wang, the village head" in (
        replies[-1].plain_text)
    replies = await harness.press(user, button(replies, ":ok"))
    assert f"Problem #{problem.id} is in hand, to be solved by Thu 10 Dec." in texts(replies)[-1]
    replies = await harness.press(user, f"prb:{problem.id}")
    assert "Measures: Repair with the village's labour; who: Wang, the village head; by " \
           "Thu 10 Dec" in replies[0].plain_text
    assert _buttons(replies) == [f"prs:{problem.id}:s"]
    replies = await _step(harness, user, problem.id, "s", "Rebuilt in concrete")
    assert "Give the people concerned written feedback by Tue 1 Dec." in texts(replies)[-1]
    replies = await harness.press(user, f"prs:{problem.id}:f")
    assert "To whom is the written feedback addressed?" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":household"))
    assert "written feedback" in replies[-1].plain_text
    replies = await harness.send(user, "Letter to the 12 households of group 3")
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1].splitlines()[-2:] == [  # PROBLEM_CHECKBACK_DAYS = 14
        f"Feedback on problem #{problem.id} is recorded. Look back on Sat 12 Dec.",
        "The bot does not reach the household: please hand the written feedback to them "
        "yourself."]
    replies = await harness.press(user, f"prb:{problem.id}")
    assert "Looking back is due on Sat 12 Dec." in replies[0].plain_text
    assert "feedback given · 李娜 · to the household · Letter to the 12 households" in (
        replies[0].plain_text)
    assert _buttons(replies) == []  # not before it is due
    replies = await harness.press(user, f"prs:{problem.id}:c")  # a forged early press
    assert f"Looking back at problem #{problem.id} is due from Sat 12 Dec" in texts(replies)[-1]
    harness.at(dt.datetime(2026, 12, 12, 9, 0, tzinfo=SHANGHAI))
    replies = await harness.press(user, f"prb:{problem.id}")
    assert _buttons(replies) == [f"prs:{problem.id}:c"]
    replies = await harness.press(user, f"prs:{problem.id}:c")
    assert "did the solution hold" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":held"))
    replies = await harness.send(user, "Bridge in use, no complaints")
    replies = await harness.press(user, button(replies, ":ok"))
    assert f"Problem #{problem.id} is looked back at and closed." in texts(replies)[-1]
    [problem] = await _problems(harness)
    assert (problem.status, problem.next_due_on, problem.feedback_on) == (
        "checked", None, dt.date(2026, 11, 28))
    steps = await _steps(harness, problem.id)
    assert [(s.action, s.status, s.held) for s in steps] == [
        ("raise", "raised", None), ("take", "in_hand", None), ("solve", "solved", None),
        ("feedback", "feedback", None), ("check", "checked", True)]
    assert (steps[1].measures, steps[1].responsible, steps[1].due_on) == (
        "Repair with the village's labour", "Wang, the village head", dt.date(2026, 12, 10))
    assert steps[3].note == "Letter to the 12 households of group 3"
    async with harness.db.read() as session:
        audit = list((await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "problem").order_by(AuditEntry.id))).scalars())
    assert [a.new_value for a in audit] == ["raised", "in_hand", "solved", "feedback", "checked"]
    assert "No open problems" in (await harness.send(user, "/problems"))[0].plain_text


async def test_a_check_back_that_did_not_hold_reopens_it_in_hand_in_chinese(harness):
    user = await _user(harness, language="zh-hans")
    await _raise(harness, user)
    [problem] = await _problems(harness)
    await _take(harness, user, problem.id)
    await _step(harness, user, problem.id, "s", "已修复")
    await _step(harness, user, problem.id, "f", "张贴公告")
    harness.at(dt.datetime(2026, 12, 13, 9, 0, tzinfo=SHANGHAI))
    replies = await harness.press(user, f"prs:{problem.id}:c")
    assert "回头看：问题解决的效果是否巩固？" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":not"))
    replies = await harness.send(user, "桥面又出现裂缝")
    assert "将采取哪些措施" in replies[-1].plain_text
    await harness.send(user, "请水利站加固")
    replies = await harness.send(user, "王村长")
    replies = await harness.press(user, button(replies, ":2026-12-20"))
    replies = await harness.press(user, button(replies, ":ok"))
    assert f"问题 #{problem.id} 已落实办理，应于12月20日（周日）前解决。" in texts(replies)[-1]
    [problem] = await _problems(harness)
    assert (problem.status, problem.due_on, problem.next_due_on, problem.measures) == (
        "in_hand", dt.date(2026, 12, 20), dt.date(2026, 12, 20), "请水利站加固")
    last = (await _steps(harness, problem.id))[-1]
    assert (last.action, last.status, last.held, last.note) == (
        "check", "in_hand", False, "桥面又出现裂缝")
    replies = await harness.send(user, "/problems")
    assert "办理中" in replies[0].plain_text


async def test_stale_and_forged_buttons_are_answered_with_a_note(harness):
    user = await _user(harness)
    await _raise(harness, user)
    [problem] = await _problems(harness)
    await _take(harness, user, problem.id)
    replies = await harness.press(user, f"prs:{problem.id}:t")  # pressed again on an old card
    assert "has moved on: it is now in hand" in texts(replies)[-1]
    assert len(await _steps(harness, problem.id)) == 2
    for data in ("prs:x:t", f"prs:{problem.id}:z", "prb:abc"):
        assert await harness.press(user, data) == []
        assert harness.emu.callback_answers[-1].get("text") == "This button no longer works."
    # 赵强 is a cadre of another village: its ledger is not his.
    other = await _user(harness, phone="13800138006", user_id=6502, roster=False)
    await harness.send(other, "/problem")  # any message with buttons to forge a press on
    await harness.send(other, "/cancel")
    assert await harness.press(other, f"prb:{problem.id}") == []
    assert harness.emu.callback_answers[-1].get("text") == (
        "That problem is not in a ledger you can see.")
    replies = await harness.press(other, f"prs:{problem.id}:s")
    assert "not in a ledger you can see" in texts(replies)[-1]
    assert (await _problems(harness))[0].status == "in_hand"


async def test_a_team_mate_moves_a_problem_and_the_team_leader_sees_the_village(harness):
    owner = await _user(harness)
    mate = await _user(harness, phone="13800138003", user_id=6503, roster=False)
    leader = await _user(harness, phone="13800138001", user_id=6504, roster=False)
    await _raise(harness, owner)
    [problem] = await _problems(harness)
    await _take(harness, mate, problem.id)
    replies = await harness.send(leader, "/problems")
    assert "Open problems of 新村: 1" in replies[0].plain_text
    replies = await harness.press(leader, f"prb:{problem.id}")
    assert _buttons(replies) == [f"prs:{problem.id}:s"]
    assert "in hand · 王芳" in replies[0].plain_text and "raised · 李娜" in replies[0].plain_text


async def test_open_problems_are_listed_by_priority_then_age_and_capped(harness):
    user = await _user(harness)
    harness.at(dt.datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))
    await _raise(harness, user, priority="low", text="old low")
    await _raise(harness, user, priority="normal", text="old normal")
    harness.at(dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))
    await _raise(harness, user, priority="high", text="new high")
    for n in range(7):
        await _raise(harness, user, priority="normal", text=f"new normal {n}")
    replies = await harness.send(user, "/problems")
    lines = replies[0].plain_text.splitlines()
    assert "10 (0 overdue)" in lines[0]
    assert "new high" in lines[1] and "old normal" in lines[2] and "2 days" in lines[2]
    assert "new normal 0" in lines[3]
    assert "… and 2 more." in replies[0].plain_text and "old low" not in replies[0].plain_text
    assert len(_buttons(replies)) == 8


async def test_leaders_read_their_scope_and_a_place_in_it_without_step_buttons(harness):
    cadre = await _user(harness)
    township = await _user(harness, phone="13800138007", user_id=6505, roster=False)
    office = await _user(harness, phone="13800138009", user_id=6506, roster=False,
                         language="zh-hans")
    other = await _user(harness, phone="13800138006", user_id=6507, roster=False)
    await _raise(harness, cadre)
    await _raise(harness, other, text="Well is dry")
    mine, theirs = await _problems(harness)
    replies = await harness.send(township, "/problems")
    text = replies[0].plain_text
    assert "Open problems of 黄金埠镇: 1" in text and "新村" in text and "李娜" in text
    assert "Well is dry" not in text
    replies = await harness.press(township, f"prb:{mine.id}")
    assert "Problem #" in replies[0].plain_text and _buttons(replies) == []
    assert await harness.press(township, f"prb:{theirs.id}") == []
    assert "not in a ledger" in harness.emu.callback_answers[-1].get("text")
    replies = await harness.send(township, "/problems 古埠村")
    assert "outside" in replies[0].plain_text or "古埠" in replies[0].plain_text
    replies = await harness.send(office, "/problems")
    assert "全县未办结问题：2 个（逾期 0 个）" in replies[0].plain_text
    replies = await harness.send(office, "/problems 古埠村")
    assert "古埠村未办结问题：1 个" in replies[0].plain_text
    replies = await harness.press(office, f"prb:{theirs.id}")
    assert "办理记录" in replies[0].plain_text and _buttons(replies) == []


async def test_a_visit_needing_follow_up_enters_the_ledger_with_its_first_step(harness):
    user = await _user(harness)
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":masses"))
    await harness.send(user, "Old Li")
    await harness.send(user, "Road floods")
    replies = await harness.send(user, "Drain the road")
    replies = await harness.press(user, button(replies, ":yes"))
    replies = await harness.press(user, button(replies, ":infrastructure"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.send(user, "Skip")
    replies = await harness.press(user, button(replies, f":{TODAY.isoformat()}"))
    await harness.press(user, button(replies, ":ok"))
    [problem] = await _problems(harness)
    async with harness.db.read() as session:
        [visit] = list((await session.execute(select(Visit))).scalars())
    assert (problem.visit_id, problem.household_id, problem.next_due_on) == (
        visit.id, visit.household_id, dt.date(2026, 12, 5))
    assert [s.action for s in await _steps(harness, problem.id)] == ["raise"]


def _row(person, *, status, due, text, priority=2, escalated=None):
    when = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    return Problem(person_id=person.id, village_id=person.village_id,
                   township_id=person.township_id, category="infrastructure", description=text,
                   status=status, priority=priority, next_due_on=due, escalated_on=escalated,
                   created_at=when, updated_at=when)


def _ledger_messages(harness, chat_id) -> list[str]:
    """What the ledger's morning run sent (check-in reminders come at the same hours)."""
    starts = ("Problems waiting", "Overdue problems of", "以下问题等待", "本队逾期")
    return [m for m in messages(harness, chat_id) if m.startswith(starts)]


async def test_the_holder_is_reminded_each_morning_and_the_team_leader_once(harness):
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    li, chen, zhang = people["李娜"], people["陈静"], people["张伟"]
    await tick(harness, local(2026, 12, 1, 8, 0))  # the schedule's row is written
    async with harness.db.write() as session:
        rows = [_row(li, status="raised", due=dt.date(2026, 11, 27), text="Bridge"),
                _row(li, status="in_hand", due=dt.date(2026, 12, 1), text="Well"),
                _row(li, status="feedback", due=dt.date(2026, 12, 2), text="Lamp"),
                _row(chen, status="solved", due=dt.date(2026, 11, 30), text="Road"),
                _row(zhang, status="in_hand", due=dt.date(2026, 11, 25), text="School"),
                _row(li, status="checked", due=None, text="Done")]
        session.add_all(rows)
        await session.flush()
        bridge, well, lamp, road, school, _ = (r.id for r in rows)
    await tick(harness, local(2026, 12, 1, 8, 30))
    assert _ledger_messages(harness, chats["李娜"]) == [
        "Problems waiting for your next step (1): /problems\n"
        f"#{bridge} Infrastructure · Bridge — to be taken in hand by Fri 27 Nov"]
    assert _ledger_messages(harness, chats["陈静"]) == [
        "Problems waiting for your next step (1): /problems\n"
        f"#{road} Infrastructure · Road — written feedback due by Mon 30 Nov"]
    # The team leader holds his own problem, and hears of 李娜's four days overdue; his own,
    # six days overdue, goes to the township leader.
    assert _ledger_messages(harness, chats["张伟"]) == [
        "Problems waiting for your next step (1): /problems\n"
        f"#{school} Infrastructure · School — to be solved by Wed 25 Nov",
        "Overdue problems of your team (1):\n"
        f"新村 · #{bridge} Infrastructure · Bridge — to be taken in hand by Fri 27 Nov"
        " · held by 李娜"]
    assert _ledger_messages(harness, chats["孙丽"]) == [
        "Overdue problems of your team (1):\n"
        f"新村 · #{school} Infrastructure · School — to be solved by Wed 25 Nov · held by 张伟"]
    assert _ledger_messages(harness, chats["刘洋"]) == []
    await tick(harness, local(2026, 12, 2, 8, 30))
    assert _ledger_messages(harness, chats["李娜"])[1] == (
        "Problems waiting for your next step (3): /problems\n"
        f"#{bridge} Infrastructure · Bridge — to be taken in hand by Fri 27 Nov\n"
        f"#{well} Infrastructure · Well — to be solved by Tue 1 Dec\n"
        f"#{lamp} Infrastructure · Lamp — looking back due on Wed 2 Dec")
    assert len(_ledger_messages(harness, chats["张伟"])) == 3  # his reminder again, no escalation
    assert _ledger_messages(harness, chats["刘洋"]) == []  # 陈静's is two days overdue
    await tick(harness, local(2026, 12, 3, 8, 30))
    [up] = _ledger_messages(harness, chats["刘洋"])
    assert f"#{road}" in up and "held by 陈静" in up
    await tick(harness, local(2026, 12, 4, 8, 30))
    assert len(_ledger_messages(harness, chats["刘洋"])) == 1
    async with harness.db.read() as session:
        found = {p.id: p for p in (await session.execute(select(Problem))).scalars()}
    assert (found[bridge].escalated_on, found[road].escalated_on, found[lamp].escalated_on) == (
        dt.date(2026, 12, 1), dt.date(2026, 12, 3), None)


async def test_a_step_clears_the_escalation_and_a_missed_morning_is_not_sent_late(harness):
    chats = await bind_everyone(harness, language="zh-hans")
    people = await people_by_name(harness)
    await tick(harness, local(2026, 12, 1, 8, 0))
    async with harness.db.write() as session:
        row = _row(people["李娜"], status="raised", due=dt.date(2026, 11, 27), text="桥",
                   escalated=dt.date(2026, 11, 30))
        session.add(row)
        await session.flush()
        await store.move_problem(
            session, problem=row, action="take", by_person_id=people["王芳"].id,
            day=dt.date(2026, 12, 1), now=harness.clock.now(),
            terms=store.Terms(3, 14), measures="修桥", responsible="王芳",
            due_on=dt.date(2026, 12, 1))
        assert (row.status, row.escalated_on, row.next_due_on) == (
            "in_hand", None, dt.date(2026, 12, 1))
        problem_id = row.id
    await tick(harness, local(2026, 12, 3, 23, 0))  # the 08:30 run of the 3rd: day not over
    assert _ledger_messages(harness, chats["李娜"]) == [
        f"<b>以下问题等待您办理下一步（1 个）：</b>/problems\n"
        f"#{problem_id} 基础设施 · 桥 — 应于12月1日（周二）前解决".replace("<b>", "").replace(
            "</b>", "")]
    await tick(harness, local(2026, 12, 5, 9, 0))  # down on the 4th: only the 5th's run is sent
    assert len(_ledger_messages(harness, chats["李娜"])) == 2


async def test_ledger_figures_match_the_raw_rows(harness):
    await harness.import_roster()
    people = list((await people_by_name(harness)).values())
    cadres = [p for p in people if p.role in ("cadre", "team_leader")]
    chooser = random.Random(8)
    today = harness.clock.now().astimezone(SHANGHAI).date()
    async with harness.db.write() as session:
        for n in range(60):
            status = chooser.choice(store.STATUSES)
            due = None if status == "checked" else today + dt.timedelta(
                days=chooser.randint(-5, 5))
            session.add(_row(chooser.choice(cadres), status=status, due=due, text=f"p{n}",
                             priority=chooser.randint(1, 3)))
    async with harness.db.read() as session:
        rows = list((await session.execute(select(Problem))).scalars())
        li = next(p for p in people if p.name == "李娜")
        scopes = [(Scope("county"), lambda r: True),
                  (Scope("township", "黄金埠镇", li.township_id),
                   lambda r: r.township_id == li.township_id),
                  (Scope("village", "新村", li.township_id, li.village_id),
                   lambda r: r.village_id == li.village_id)]
        for scope, inside in scopes:
            found = await stats.scope_stats(
                session, scope=scope, start=today, end=today, now=harness.clock.now(),
                tz=SHANGHAI, calendar=harness.settings.calendar, overdue_days={"default": 3},
                default_overdue_days=3)
            mine = [r for r in rows if inside(r)]
            by_status: dict[str, int] = {}
            for r in mine:
                by_status[r.status] = by_status.get(r.status, 0) + 1
            late = [r for r in mine if r.status != "checked" and r.next_due_on < today]
            assert found.problems_by_status == by_status and sum(by_status.values()) > 0
            assert found.problems_overdue == len(late) > 0
            listed = await store.open_problems(session, **scope.filters)
            assert [item.problem.id for item in listed] == [r.id for r in sorted(
                (r for r in mine if r.status != "checked"),
                key=lambda r: (r.priority, r.created_at, r.id))]
        days = await figures.village_days(
            session, day=today, now=harness.clock.now(), tz=SHANGHAI,
            overdue_days={"default": 3}, default_overdue_days=3)
    for village_id, day in days.items():
        expected = sorted((r for r in rows if r.village_id == village_id
                           and r.status != "checked" and r.next_due_on < today),
                          key=lambda r: (r.priority, r.next_due_on, r.id))
        assert [p.id for p in day.problems_overdue] == [r.id for r in expected]
    assert sum(len(d.problems_overdue) for d in days.values()) == sum(
        1 for r in rows if r.status != "checked" and r.next_due_on < today)


async def test_the_export_has_the_ledger_columns_and_every_step_of_the_period(harness):
    await harness.import_roster()
    people = await people_by_name(harness)
    li, zhao = people["李娜"], people["赵强"]
    terms = store.Terms(3, 14)
    async with harness.db.write() as session:
        mine = await store.raise_problem(
            session, person=li, category="land", description="Boundary", priority="high",
            day=TODAY, now=harness.clock.now(), next_due_on=dt.date(2026, 12, 5))
        await store.move_problem(
            session, problem=mine, action="take", by_person_id=li.id, day=TODAY,
            now=harness.clock.now(), terms=terms, measures="Survey", responsible="Land office",
            due_on=dt.date(2026, 12, 3))
        await store.raise_problem(
            session, person=zhao, category="health", description="Clinic", priority="low",
            day=TODAY, now=harness.clock.now(), next_due_on=None)
    where = export.Filter(export.window(TODAY, TODAY, SHANGHAI), village_ids=[li.village_id])
    async with harness.db.read() as session:
        problems = [r async for r in export.rows(session, kind="problems", where=where)]
        steps = [r async for r in export.rows(session, kind="problem_steps", where=where)]
        later = export.Filter(export.window(TODAY + dt.timedelta(days=1),
                                            TODAY + dt.timedelta(days=1), SHANGHAI))
        none = [r async for r in export.rows(session, kind="problem_steps", where=later)]
    [row] = [dict(zip(export.PROBLEMS, r, strict=True)) for r in problems]
    assert (row["id"], row["priority"], row["status"], row["measures"], row["responsible"],
            row["due_on"], row["next_due_on"]) == (
        mine.id, "high", "in_hand", "Survey", "Land office", dt.date(2026, 12, 3),
        dt.date(2026, 12, 3))
    assert [dict(zip(export.PROBLEM_STEPS, r, strict=True))["action"] for r in steps] == [
        "raise", "take"]
    assert steps[1][export.PROBLEM_STEPS.index("measures")] == "Survey"
    assert none == []


async def test_a_household_is_picked_by_button_and_a_forged_code_is_kept_as_a_name(harness):
    user = await _user(harness)
    for answer in ("Old Zhang", "h999"):
        replies = await harness.send(user, "/problem")
        replies = await harness.press(user, button(replies, ":health"))
        replies = await harness.send(user, "Needs a wheelchair")
        replies = await harness.press(user, button(replies, ":normal"))
        replies = await harness.send(user, answer)
        await harness.press(user, button(replies, ":ok"))
    replies = await harness.send(user, "/problem")
    replies = await harness.press(user, button(replies, ":health"))
    replies = await harness.send(user, "Roof leaks")
    replies = await harness.press(user, button(replies, ":normal"))
    assert [label for row in replies[-1].buttons for label, _ in row][:2] == ["Old Zhang", "h999"]
    replies = await harness.tap(user, replies, "Old Zhang")
    await harness.press(user, button(replies, ":ok"))
    first, forged, picked = await _problems(harness)
    assert picked.household_id == first.household_id and forged.household_id not in (
        None, first.household_id)
