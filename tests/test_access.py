"""The authorisation matrix: every command for every role, written out by hand from PRODUCT.md.

The expected table is not derived from the code's registry: changing who may use a command
must change this table too. Scope within a role (a team leader's village, a township leader's
township) is tested with each command family (test_stats, test_export, test_disputes,
test_digests, test_broadcast, test_roster_chat).

Below the table, authority that outlives the role (issue 15, item 3): for every form and every
button prefix, a role change and a move by the roster import while it is open.
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import tests.emulator.world as emulator_world
from handlers import load as load_handlers
from handlers.formregistry import FORM_ROLES, FORMS
from handlers.registry import CALLBACKS, COMMANDS
from storage import cases, disputes, problems, rectification, summaries
from storage.models import Dialog, Person, Village
from storage.people import deactivate
from storage.visits import add_visit
from tests.harness import DEFAULT_ROSTER, ROSTER_HEADER, keyboard_dropped, offered_buttons, texts
from tests.test_publicity import _record
from tests.test_schedules import bind_everyone
from tests.test_stats import people

CADRE, LEADER, TOWNSHIP, LEADING, OFFICE, SUPERVISOR = (
    "cadre", "team_leader", "township_leader", "leading_group", "office", "supervisor")
EVERYONE = {CADRE, LEADER, TOWNSHIP, LEADING, OFFICE, SUPERVISOR}
LEADERS = {LEADER, TOWNSHIP, LEADING, OFFICE}
READERS = LEADERS | {SUPERVISOR}  # the supervision groups read what the office reads
EXPECTED: dict[str, set[str]] = {
    "start": EVERYONE, "help": EVERYONE, "language": EVERYONE, "cancel": EVERYONE,
    "checkin": {CADRE, LEADER}, "visit": {CADRE, LEADER}, "dispute": {CADRE, LEADER},
    "aid": {CADRE, LEADER}, "summary": {CADRE, LEADER}, "me": {CADRE, LEADER},
    "publicity": {CADRE, LEADER},
    "case": {CADRE, LEADER}, "cases": {LEADING, OFFICE},  # the leading group reads only
    "problem": {CADRE, LEADER},
    "problems": EVERYONE,  # cadres and team leaders their village's ledger; leaders their scope
    "disputes": EVERYONE,  # cadres their own; leaders their scope
    # /rectify: the office marks villages, a marked village's cadres record, leaders read;
    # /winter: the team leader updates, cadres and leaders above read.
    "rectify": EVERYONE, "winter": EVERYONE,
    "digest": READERS, "stats": READERS, "laggards": READERS, "pairs": READERS,
    # a team leader's village targets are in /pairs
    "targets": {TOWNSHIP, LEADING, OFFICE, SUPERVISOR},
    "export": READERS, "team": READERS,
    "broadcast": {OFFICE}, "roster": {OFFICE},
    # /spotcheck: the county draws; a supervisor reads the results (and verifies its checks)
    "spotcheck": {LEADING, OFFICE, SUPERVISOR}, "appraise": {LEADER},
    # /final: the summary stage's writers, and the office, which accepts township summaries.
    "final": {CADRE, LEADER, TOWNSHIP, OFFICE}, "merit": {LEADING, OFFICE},
    "report": {LEADING, OFFICE, SUPERVISOR},  # the county's report to the county committee
    "review": {LEADER, TOWNSHIP, LEADING, OFFICE},
    "leave": {CADRE, LEADER},  # asked for by cadres and team leaders, decided by the one above
    "pair": EVERYONE,  # the notice gives everyone a pairing quota, county-level leaders too
    "systems": EVERYONE,  # a team records its village's systems; leaders above read the lacks
    "inspect": {SUPERVISOR},  # an inspection or unannounced visit, by the supervision groups
    # a condolence visit to one's own paired household, for those in no village team (cadres
    # and team leaders record theirs with /aid)
    "condolence": {TOWNSHIP, LEADING, OFFICE, SUPERVISOR},
    "training": {TOWNSHIP, LEADING, OFFICE},  # a training, recorded by whoever held it
    "console": EVERYONE,  # the web console: each sees their own scope (cadres their own week)
}
PHONES = {CADRE: "13800138002", LEADER: "13800138001", TOWNSHIP: "13800138007",
          LEADING: "13800138008", OFFICE: "13800138009", SUPERVISOR: "13800138010"}
SUPERVISOR_ROW = "钱进,13800138010,ordinary,县纪委,,,supervisor\n"
REFUSED = "not available to your role"
REGISTER = "Share my phone number"


def refused(replies) -> str | None:
    """Why the bot refused, or None if it did what was asked."""
    for sent in replies:
        text = sent.plain_text or ""
        if REFUSED in text:
            return "role"
        if any(REGISTER in label for label in sent.keyboard_labels):
            return "register"
    return None


async def bound(harness) -> dict[str, object]:
    """One user per role, plus a deactivated cadre and a stranger."""
    await harness.import_roster(DEFAULT_ROSTER + SUPERVISOR_ROW)
    users: dict[str, object] = {}
    async with harness.db.write() as session:
        people = {p.phone[-11:]: p for p in (await session.execute(select(Person))).scalars()}
        for number, (role, phone) in enumerate([*PHONES.items(), ("deactivated", "13800138003")]):
            person = people[phone]
            person.telegram_user_id, person.telegram_language = 9300 + number, "en"
            users[role] = harness.emu.user(9300 + number, language_code="en")
        await session.flush()
        await deactivate(session, person=people["13800138003"], by=None, now=harness.clock.now())
    users["unregistered"] = harness.emu.user(9399, language_code="en")
    return users


def test_the_table_names_every_registered_command():
    load_handlers()
    assert set(EXPECTED) == set(COMMANDS)


async def test_every_command_for_every_role(harness):
    users = await bound(harness)
    wrong = []
    for name, allowed in sorted(EXPECTED.items()):
        for role, user in users.items():
            replies = await harness.send(user, f"/{name}")
            assert replies, f"/{name} as {role}: no answer"
            why = refused(replies)
            if role in ("unregistered", "deactivated"):
                ok = why == "register" or (name == "start" and why is None and replies)
            else:
                ok = (why is None) == (role in allowed)
            if not ok:
                wrong.append((name, role, why, replies[-1].plain_text[:80]))
            await harness.send(user, "/cancel")  # leave any dialog the command opened
    assert wrong == []


# --- authority that outlives the role: every form and every button, mid-dialog ------------------
#
# For each form of the engine and each button prefix: who opens it and how, and what a roster
# import then makes of them — another role, and (for a role that has one) another place. The
# draft must be closed at their next message, the button refused, whatever the form or button
# is. The cases are keyed by the registries' names, so a form or a button added without a case
# here fails test_every_form_and_button_has_a_case.

MOVES = {  # name -> (after a role change, after a move), as 'township,village,role'
    "吴敏": (",,leading_group", None), "周杰": (",,office", None),
    "张伟": ("黄金埠镇,新村,cadre", "古埠镇,古埠村,team_leader"),
    "李娜": (",,leading_group", "黄金埠镇,东岗村,cadre"),
    "孙丽": (",,leading_group", "古埠镇,,township_leader"),
    "钱进": (",,office", None),
}


async def _seed(harness) -> None:
    """李娜's open dispute and problem, her model case, and 新村 marked for rectification."""
    found = await people(harness)
    li, now = found["李娜"], harness.clock.now()
    async with harness.db.write() as session:
        await disputes.add_dispute(
            session, person=li, category="other", parties="A/B", people_count=2, flags=[],
            description="d", urgency="low", day=now.date(), now=now)
        await problems.raise_problem(session, person=li, category="land", description="Wall",
                                     priority="high", day=now.date(), now=now, next_due_on=None)
        await cases.add_case(session, person=li, kind="model", title="Night school",
                             text="Every week.", photos=[], day=now.date(), now=now)
        village = await session.get(Village, li.village_id)
        await rectification.set_mark(session, village=village, types=["weak_team"],
                                     by=found["吴敏"], now=now)
        await add_visit(session, person=li, kind="weak", day=now.date(), heard="a road",
                        wants="a road", now=now)
        await summaries.submit_summary(
            session, person=li, week_start=now.date() - dt.timedelta(days=now.weekday()),
            text=summaries.SummaryText("a", "b", "c"), now=now, tz=ZoneInfo("Asia/Shanghai"),
            minimum=0)


def _pick(replies, prefix: str, suffix: str = "") -> tuple[str, int]:
    """The newest offered button of this prefix (and ending): (callback_data, message_id)."""
    for _, data, message_id in offered_buttons(replies):
        if data.startswith(prefix + ":") and data.endswith(suffix):
            return data, message_id
    raise LookupError(f"no {prefix}:…{suffix} in {[b[1] for b in offered_buttons(replies)]}")


def _user(harness, chats, name):
    return harness.emu.user(chats[name], first_name=name, language_code="en")


async def _spot_request(harness, chats) -> list:
    """The office draws 李娜's visit: its request, with the buttons, goes to the supervisor
    (never her team or township leader)."""
    await harness.send(_user(harness, chats, "吴敏"), "/spotcheck 1 新村")
    return harness.emu.sent_to(chats["钱进"])


async def _inspected(harness, chats) -> list:
    """钱进 records an inspection of 新村: 张伟's notice, with 查看记录."""
    qian = _user(harness, chats, "钱进")
    replies = await harness.send(qian, "/inspect")
    for label in ("黄金埠镇", "新村", "inspection", "Done ✔"):
        replies = await harness.tap(qian, replies, label)
    replies = await harness.send(qian, "All there")
    await harness.tap(qian, replies, suffix=":ok")
    await harness.emu.wait_idle()
    return harness.emu.sent_to(chats["张伟"])


def _command(name: str, text: str):
    async def run(harness, chats):
        return await harness.send(_user(harness, chats, name), text)
    return run


def _then(name: str, first, prefix: str, suffix: str = ""):
    """What `first` shows, then the press of its button of this prefix."""
    async def run(harness, chats):
        shown = await first(harness, chats)
        return await harness.press(_user(harness, chats, name), *_pick(shown, prefix, suffix))
    return run


async def _return_button(harness, chats) -> list:
    """张伟's /review, and the 退回修改 button of 李娜's weekly summary."""
    zhang = _user(harness, chats, "张伟")
    shown = await harness.send(zhang, "/review")
    return await harness.press(zhang, *_pick(shown, "rv"))


async def _returning(harness, chats) -> list:
    """张伟 presses 退回修改 on 李娜's weekly summary: the reason's form opens."""
    shown = await _return_button(harness, chats)
    data, message_id = next((d, m) for _, d, m in offered_buttons(shown) if ":r:" in d)
    return await harness.press(_user(harness, chats, "张伟"), data, message_id=message_id)


async def _returned(harness, chats) -> list:
    """张伟 returns 李娜's weekly summary with a reason: her notice has its 修改 button."""
    zhang = _user(harness, chats, "张伟")
    await _returning(harness, chats)
    shown = await harness.send(zhang, "Incomplete")
    await harness.tap(zhang, shown, "Save")
    await harness.emu.wait_idle()
    return harness.emu.sent_to(chats["李娜"])


async def _which_village(harness, chats):
    """A second 新村, in 古埠镇: the leading group's /stats 新村 asks which one."""
    second = "钱多,13800138010,ordinary,县教育局,古埠镇,新村,cadre\n"
    await harness.import_roster(ROSTER_HEADER + second)
    return await harness.send(_user(harness, chats, "周杰"), "/stats 新村")


async def _handed_over(harness, chats) -> list:
    """李娜 escalates her dispute to the township: 孙丽's notice, with 受理 / 退回."""
    li = _user(harness, chats, "李娜")
    shown = await harness.send(li, "/disputes")
    await harness.press(li, *_pick(shown, "dsp", ":et"))
    replies = await harness.send(li, "Needs the township")
    await harness.tap(li, replies, "Save")
    await harness.emu.wait_idle()
    return harness.emu.sent_to(chats["孙丽"])


_PROBLEM_CARD = _then("李娜", _command("李娜", "/problems"), "prb")


async def _paired_condolence(harness, chats) -> list:
    """孙丽 (in no village team) paired with a household of 新村 by /pair; her /condolence."""
    sun = _user(harness, chats, "孙丽")
    replies = await harness.send(sun, "/pair")
    for label in ("黄金埠镇", "新村"):
        replies = await harness.tap(sun, replies, label)
    await harness.tap(sun, await harness.send(sun, "Old Liu"), "Save")
    return await harness.send(sun, "/condolence")


async def _leave_asked(harness, chats) -> list:
    """李娜 asks for leave: 张伟's notice, with 批准 / 不批准."""
    li = _user(harness, chats, "李娜")
    for answer in ("/leave", "tomorrow", "tomorrow"):
        await harness.send(li, answer)
    replies = await harness.send(li, "Family matter")
    await harness.tap(li, replies, "Save")
    await harness.emu.wait_idle()
    return harness.emu.sent_to(chats["张伟"])
async def _roll_call(harness, chats) -> list:
    """张伟 records a mobilisation meeting: its roll call, a button per team cadre."""
    return await _record(harness, _user(harness, chats, "张伟"), kind="mobilisation")


FORM_CASES = {  # form -> (who, how they open it)
    **{name: ("李娜", _command("李娜", f"/{name}")) for name in (
        "visit", "dispute", "aid", "summary", "publicity", "case", "problem", "final",
        "leave")},
    "rectify_action": ("李娜", _command("李娜", "/rectify")),
    "broadcast": ("吴敏", _command("吴敏", "/broadcast")),
    "rectify_mark": ("吴敏", _command("吴敏", "/rectify")),
    "roster_off": ("吴敏", _command("吴敏", "/roster off 李娜")),
    "spotcheck_note": ("钱进", _then("钱进", _spot_request, "spc", ":n")),
    "inspect": ("钱进", _command("钱进", "/inspect")),
    "training": ("孙丽", _command("孙丽", "/training")),
    "appraisal": ("张伟", _then("张伟", _command("张伟", "/appraise"), "apr")),
    "dispute_step": ("李娜", _then("李娜", _command("李娜", "/disputes"), "dsp", ":et")),
    "problem_step": ("李娜", _then("李娜", _PROBLEM_CARD, "prs")),
    "winter_item": ("张伟", _then("张伟", _command("张伟", "/winter"), "wnt")),
    "review_return": ("张伟", _returning),
    "handover_return": ("孙丽", _then("孙丽", _handed_over, "ho", ":r")),
    "pair": ("李娜", _command("李娜", "/pair")),
    "systems": ("李娜", _command("李娜", "/systems")),
    "condolence": ("孙丽", _paired_condolence),
}
BUTTON_CASES = {  # prefix -> (who, how they are shown a message with such a button)
    "f": ("李娜", _command("李娜", "/dispute")), "ci": ("李娜", _command("李娜", "/checkin")),
    "lang": ("李娜", _command("李娜", "/language")),
    "apr": ("张伟", _command("张伟", "/appraise")), "mc": ("吴敏", _command("吴敏", "/cases")),
    "dsp": ("李娜", _command("李娜", "/disputes")), "dsh": ("孙丽", _command("孙丽", "/disputes")),
    "mer": ("周杰", _command("周杰", "/merit")), "prb": ("李娜", _command("李娜", "/problems")),
    "prs": ("李娜", _PROBLEM_CARD), "ros": ("吴敏", _command("吴敏", "/roster")),
    "spc": ("钱进", _spot_request), "stg": ("张伟", _command("张伟", "/final")),
    "isp": ("张伟", _inspected),
    "wnt": ("张伟", _command("张伟", "/winter")), "pl": ("周杰", _which_village),
    "rv": ("张伟", _command("张伟", "/review")), "sum": ("李娜", _returned),
    "ho": ("孙丽", _handed_over), "lv": ("张伟", _leave_asked),
    "ab": ("张伟", _roll_call),
}


KINDS = ("role", "place")  # the index into MOVES


def _changes(cases: dict[str, tuple[str, Any]]) -> list[tuple[str, str]]:
    """(case, "role" or "place") for every case; a county role has no place to move."""
    return [(key, kind) for key, (name, _) in sorted(cases.items())
            for index, kind in enumerate(KINDS) if MOVES[name][index] is not None]


def test_every_form_and_button_has_a_case():
    load_handlers()
    assert set(FORM_CASES) == set(FORMS)
    assert set(BUTTON_CASES) == set(CALLBACKS)
    assert set(FORMS) <= set(FORM_ROLES)  # a form without roles is open to nobody


async def _ready(harness) -> dict[str, int]:
    chats = await bind_everyone(harness)
    await harness.import_roster(ROSTER_HEADER + SUPERVISOR_ROW)  # and a supervisor, on the bot
    async with harness.db.write() as session:
        qian = (await session.execute(select(Person).where(Person.name == "钱进"))).scalar_one()
        qian.telegram_user_id = chats["钱进"] = 7010
        qian.telegram_language = "en"
    harness.emu.user(7010, first_name="钱进", language_code="en")
    harness.settings.summary_stage_start = harness.clock.now().date()  # /final is open
    await _seed(harness)
    return chats


async def _change(harness, name: str, kind: str) -> None:
    """A minute later, the roster import gives `name` another role or place."""
    after = MOVES[name][KINDS.index(kind)]
    assert after is not None
    harness.at(harness.clock.now() + dt.timedelta(minutes=1))
    lines = []
    for line in (DEFAULT_ROSTER + SUPERVISOR_ROW).splitlines():
        person, phone, rank, unit, *_ = line.split(",")
        lines.append(f"{person},{phone},{rank},{unit},{after}" if person == name else line)
    await harness.import_roster("\n".join(lines) + "\n")


async def _open_dialogs(harness, chat_id: int) -> list[Dialog]:
    async with harness.db.read() as session:
        query = select(Dialog).where(Dialog.chat_id == chat_id)
        return list((await session.execute(query)).scalars())


@pytest.fixture
def telegram_follows_the_clock(monkeypatch, harness):
    """Messages the emulator creates are dated by the test's clock, as in production."""
    monkeypatch.setattr(emulator_world, "time",
                        types.SimpleNamespace(time=lambda: harness.clock.now().timestamp()))


@pytest.mark.parametrize(("form", "change"), _changes(FORM_CASES))
async def test_every_form_closes_its_draft_after_a_role_or_place_change(
    harness, telegram_follows_the_clock, form, change
):
    chats = await _ready(harness)
    name, opens = FORM_CASES[form]
    await opens(harness, chats)
    assert [d.form for d in await _open_dialogs(harness, chats[name])] == [form]
    await _change(harness, name, change)
    replies = await harness.send(_user(harness, chats, name), "12")
    assert len(replies) == 1 and replies[0].plain_text.startswith(
        "Your role, township/village or access changed on Sat 28 Nov 10:01; "
        "your unfinished"), texts(replies)
    assert replies[0].plain_text.endswith(
        "was closed and nothing of it was saved. Send the command again if you still need it.")
    assert await _open_dialogs(harness, chats[name]) == []


@pytest.mark.parametrize(("prefix", "change"), _changes(BUTTON_CASES))
async def test_every_button_offered_before_a_role_or_place_change_is_refused(
    harness, telegram_follows_the_clock, prefix, change
):
    chats = await _ready(harness)
    name, shows = BUTTON_CASES[prefix]
    data, message_id = _pick(await shows(harness, chats), prefix)
    await harness.send(_user(harness, chats, name), "/cancel")  # no draft: the button alone
    await _change(harness, name, change)
    user = _user(harness, chats, name)
    assert keyboard_dropped(await harness.press(user, data, message_id=message_id))
    assert harness.emu.callback_answers[-1].get("text") == (
        "Your role, township/village or access changed on Sat 28 Nov 10:01; "
        "this button no longer works. Please send the command again.")
