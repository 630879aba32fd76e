"""The authorisation matrix: every command for every role, written out by hand from PRODUCT.md.

The expected table is not derived from the code's registry: changing who may use a command
must change this table too. Scope within a role (a team leader's village, a township leader's
township) is tested with each command family (test_stats, test_export, test_disputes,
test_digests, test_broadcast, test_roster_chat).
"""

from __future__ import annotations

from sqlalchemy import select

from handlers import load as load_handlers
from handlers.registry import COMMANDS
from storage.models import Person
from storage.people import deactivate

CADRE, LEADER, TOWNSHIP, LEADING, OFFICE = (
    "cadre", "team_leader", "township_leader", "leading_group", "office")
EVERYONE = {CADRE, LEADER, TOWNSHIP, LEADING, OFFICE}
LEADERS = {LEADER, TOWNSHIP, LEADING, OFFICE}
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
    "digest": LEADERS, "stats": LEADERS, "laggards": LEADERS, "pairs": LEADERS,
    "export": LEADERS, "team": {LEADER, TOWNSHIP, LEADING, OFFICE},
    "broadcast": {OFFICE}, "roster": {OFFICE},
    "spotcheck": {LEADING, OFFICE}, "appraise": {LEADER},
    # /final: the summary stage's writers, and the office, which accepts township summaries.
    "final": {CADRE, LEADER, TOWNSHIP, OFFICE}, "merit": {LEADING, OFFICE},
}
PHONES = {CADRE: "13800138002", LEADER: "13800138001", TOWNSHIP: "13800138007",
          LEADING: "13800138008", OFFICE: "13800138009"}
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
    await harness.import_roster()
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
