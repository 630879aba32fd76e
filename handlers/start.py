"""Registration, /start, /help and /language."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math

from common.context import AppContext
from common.i18n import N_, normalise_locale, translator
from handlers.base import REMOVE_KEYBOARD, Turn, contact_keyboard, inline_keyboard
from handlers.registry import EVERYONE, Command, callback, command, commands_for
from storage import outbox, people
from storage.models import Person
from storage.outbox import Outgoing
from storage.roster import normalise_phone
from storage.scope import COUNTY_ROLES

MENU_VERSION = "2"
log = logging.getLogger(__name__)

# /help and the command menu put each command under what people do with it; the general ones
# (/start, /help, /language, /cancel) come last, in /help as one line.
DAILY, VIEW, MANAGE, MORE = "daily", "view", "manage", "more"
GROUP_TITLES = {DAILY: N_("help.group.daily"), VIEW: N_("help.group.view"),
                MANAGE: N_("help.group.manage")}
GROUP_ORDER = (DAILY, VIEW, MANAGE, MORE)
# A command named in its group's title line instead of a line of its own (/help stays on one
# phone screen): group -> (command, the title naming it). The menu lists it as any other.
IN_TITLE = {VIEW: ("console", N_("help.group.view_console"))}
GROUPS = {
    **dict.fromkeys(("checkin", "visit", "publicity", "problem", "dispute", "aid", "case",
                     "summary", "final", "rectify"), DAILY),
    **dict.fromkeys(("me", "problems", "disputes", "winter", "team", "stats", "digest",
                     "laggards", "pairs", "targets"), VIEW),
    **dict.fromkeys(("review", "appraise", "export", "report", "spotcheck", "cases", "merit",
                     "broadcast", "roster"), MANAGE),
    **dict.fromkeys(("start", "help", "language", "cancel"), MORE),
    "leave": DAILY,
    "pair": DAILY,
    "systems": DAILY,
    "inspect": DAILY,
    "condolence": DAILY,
    "training": DAILY,
    "console": VIEW,
}
# /help shares a line between a command and one used with it, to stay on one phone screen:
# command -> (the one folded into its line, the line that names both). The menu lists both.
SHARED_LINE: dict[str, tuple[str, str]] = {
    "checkin": ("leave", N_("help.checkin_and_leave")),
    "aid": ("pair", N_("help.aid_and_pair")),
    "pair": ("condolence", N_("help.pair_and_condolence")),  # for those outside the teams
}
# The same for some roles only: (command, role) -> (the one folded in, the line naming both).
SHARED_FOR_ROLE: dict[tuple[str, str], tuple[str, str]] = {
    **{("rectify", role): ("systems", N_("help.rectify_and_systems"))
       for role in ("cadre", "team_leader")},
}
# A command some roles use for something else: each reads the description written for it (the
# office's /disputes are the county's open disputes, not "mine"); the others read the one the
# command was registered with. (command, role) -> (group, description)
FOR_ROLE: dict[tuple[str, str], tuple[str, str]] = {
    ("disputes", "team_leader"): (VIEW, N_("help.disputes.village")),
    ("disputes", "township_leader"): (VIEW, N_("help.disputes.township")),
    **{("disputes", role): (VIEW, N_("help.disputes.county")) for role in COUNTY_ROLES},
    ("problems", "township_leader"): (VIEW, N_("help.problems.township")),
    **{("problems", role): (VIEW, N_("help.problems.county")) for role in COUNTY_ROLES},
    ("team", "team_leader"): (VIEW, N_("help.team.own")),
    ("pairs", "team_leader"): (VIEW, N_("help.pairs.village")),
    ("digest", "team_leader"): (VIEW, N_("help.digest.village")),
    ("digest", "township_leader"): (VIEW, N_("help.digest.township")),
    **{("digest", role): (VIEW, N_("help.digest.county")) for role in COUNTY_ROLES},
    ("rectify", "township_leader"): (VIEW, N_("help.rectify.progress")),
    ("rectify", "leading_group"): (VIEW, N_("help.rectify.progress")),
    ("rectify", "supervisor"): (VIEW, N_("help.rectify.progress")),
    ("rectify", "office"): (MANAGE, N_("help.rectify.mark")),
    ("winter", "team_leader"): (VIEW, N_("help.winter.leader")),
    ("winter", "township_leader"): (VIEW, N_("help.winter.scope")),
    **{("winter", role): (VIEW, N_("help.winter.scope")) for role in COUNTY_ROLES},
    ("final", "team_leader"): (DAILY, N_("help.final.team")),
    ("final", "township_leader"): (DAILY, N_("help.final.township")),
    ("final", "office"): (MANAGE, N_("help.final.review")),
    ("systems", "township_leader"): (VIEW, N_("help.systems.scope")),
    **{("systems", role): (VIEW, N_("help.systems.scope")) for role in COUNTY_ROLES},
    ("spotcheck", "supervisor"): (VIEW, N_("help.spotcheck.results")),
}


async def unregistered(turn: Turn) -> None:
    """Whatever an unregistered user sends, they get the way to register."""
    message = turn.update.effective_message
    if message is not None and message.contact is not None and turn.callback_data is None:
        await _on_contact(turn)
        return
    text = turn.text
    if text.startswith("/start "):
        await _bind_by_code(turn, text.split(maxsplit=1)[1].strip())
        return
    if turn.callback_data is not None:
        turn.notice(turn.tr("start.register_first"))
    _ask_for_phone(turn)


def _ask_for_phone(turn: Turn) -> None:
    turn.say(
        turn.tr("start.welcome_unregistered"), markup=contact_keyboard(turn.tr("start.share_phone"))
    )


async def _on_contact(turn: Turn) -> None:
    message = turn.update.effective_message
    assert message is not None and message.contact is not None
    contact = message.contact
    if contact.user_id != turn.user_id:
        turn.say(
            turn.tr("start.not_your_contact"), markup=contact_keyboard(turn.tr("start.share_phone"))
        )
        return
    phone = normalise_phone(contact.phone_number or "")
    person = await people.by_phone(turn.session, phone=phone) if phone else None
    if person is None or not person.active:
        turn.say(turn.tr("start.unknown_phone"), markup=REMOVE_KEYBOARD)
        return
    await _bind(turn, person)


async def _bind_by_code(turn: Turn, code: str) -> None:
    # While locked, a code is not even looked up: a guess learns nothing and is not counted,
    # so the time told is the time it opens again.
    locked = await _lockout(turn)
    if locked is not None:
        _say_locked(turn, *locked)
        return
    person = await people.by_invite_code(turn.session, code=code[:16]) if code else None
    if person is None or not person.active:
        await people.record_wrong_code(turn.session, telegram_user_id=turn.user_id, now=turn.now)
        turn.say(turn.tr("start.bad_code"), markup=contact_keyboard(turn.tr("start.share_phone")))
        locked = await _lockout(turn)
        if locked is not None:  # said once, when this wrong code closed the door
            log.warning("invite codes refused (%s) to account %s until %s", locked[0],
                        turn.user_id, locked[1].isoformat())
        return
    await _bind(turn, person)


async def _lockout(turn: Turn) -> tuple[str, dt.datetime] | None:
    settings = turn.app.settings
    return await people.code_lockout(
        turn.session, telegram_user_id=turn.user_id, now=turn.now,
        per_account=settings.invite_wrong_codes_per_hour,
        in_all=settings.invite_wrong_codes_per_hour_all)


def _say_locked(turn: Turn, kind: str, until: dt.datetime) -> None:
    """Codes refused for a while: until when, and the way that needs no code."""
    minutes = max(1, math.ceil((until - turn.now).total_seconds() / 60))
    local = (until.astimezone(turn.app.settings.tz) + dt.timedelta(seconds=59)).replace(second=0)
    msgid = N_("invites.locked_account") if kind == "account" else N_("invites.locked_all")
    turn.say(turn.tr(msgid, minutes=minutes, time=f"{local:%H:%M}"),
             markup=contact_keyboard(turn.tr("start.share_phone")))


async def _bind(turn: Turn, person: Person) -> None:
    if person.telegram_user_id not in (None, turn.user_id):
        turn.say(turn.tr("start.bound_elsewhere"), markup=REMOVE_KEYBOARD)
        return
    await people.bind(turn.session, person=person, telegram_user_id=turn.user_id, now=turn.now)
    turn.person = person
    if person.locale is None and turn.update.effective_user is not None:
        person.telegram_language = turn.update.effective_user.language_code
    turn.say(turn.tr("start.bound"), markup=REMOVE_KEYBOARD)
    greet(turn)
    set_menu(turn)


def greet(turn: Turn) -> None:
    """Who the user is in the campaign: name, role, village, township, unit."""
    person = turn.person
    assert person is not None
    lines = [turn.tr("start.greeting", name=person.name, role=turn.tr(f"role.{person.role}"))]
    if person.village is not None:
        lines.append(
            turn.tr(
                "start.team", village=person.village.name, township=person.village.township.name
            )
        )
    elif person.township is not None:
        lines.append(turn.tr("start.township", township=person.township.name))
    if person.unit is not None:
        lines.append(turn.tr("start.unit", unit=person.unit.name))
    lines.append(turn.tr("start.see_help"))
    turn.say("\n".join(lines))


def role_commands(role: str) -> list[tuple[str, Command, str]]:
    """A role's commands as (group, command, description msgid): by group, then menu order."""
    found = []
    for c in commands_for(role):
        group, description = FOR_ROLE.get((c.name, role), (GROUPS.get(c.name, VIEW),
                                                           c.description))
        found.append((group, c, description))
    return sorted(found, key=lambda f: GROUP_ORDER.index(f[0]))  # stable: menu order kept


def role_menu(role: str, locale: str) -> list[dict[str, str]]:
    """The command menu of a role, in one language, with the descriptions /help shows."""
    tr = translator(locale)
    commands = role_commands(role)
    names = {c.name for _, c, _ in commands}
    return [{"command": c.name, "description": tr(_line(c.name, d, names, role))}
            for _, c, d in commands]


def help_text(role: str, locale: str) -> str:
    """/help: the role's commands under what people do with them (one phone screen), the
    general ones on the last line."""
    tr = translator(locale)
    lines: list[str] = []
    commands = role_commands(role)
    names = {c.name for _, c, _ in commands}
    shared = {n: found for n in names if (found := _shared(n, role)) is not None}
    folded = {one for one, _line_msgid in shared.values() if one in names}
    titled = {group: title for group, (name, title) in IN_TITLE.items() if name in names}
    folded |= {IN_TITLE[group][0] for group in titled}
    for group in (DAILY, VIEW, MANAGE):
        listed = [f"/{c.name} — {tr(_line(c.name, d, names, role))}" for g, c, d in commands
                  if g == group and c.name not in folded]
        if listed:
            lines += [tr(titled.get(group, GROUP_TITLES[group])), *listed]
    lines.append(tr("help.more"))
    return "\n".join(lines)


def _shared(name: str, role: str) -> tuple[str, str] | None:
    """The command sharing this one's line for the role, and the line (None: no sharing)."""
    return SHARED_FOR_ROLE.get((name, role)) or SHARED_LINE.get(name)


def _line(name: str, description: str, names: set[str], role: str) -> str:
    """A command's /help description, naming the one that shares its line when the role has
    it."""
    shared = _shared(name, role)
    return shared[1] if shared is not None and shared[0] in names else description


def menu(turn: Turn) -> list[dict[str, str]]:
    """The command menu of this user's role, in their language."""
    assert turn.person is not None
    return role_menu(turn.person.role, turn.locale)


async def sync_menus(ctx: AppContext) -> int:
    """At start-up, queue a chat-scoped menu for every bound user whose menu changed."""
    now = ctx.clock.now()
    queued: list[Outgoing] = []
    async with ctx.db.write() as session:
        for person in await people.bound_people(session):
            if not person.active or person.telegram_user_id is None:
                continue
            locale = person.locale or normalise_locale(
                person.telegram_language, ctx.settings.default_locale
            )
            commands = role_menu(person.role, locale)
            digest = menu_hash(person.role, locale, commands)
            if person.menu_hash == digest:
                continue
            person.menu_hash = digest
            chat_id = person.telegram_user_id
            queued.append(Outgoing(
                chat_id=chat_id, method="setMyCommands", person_id=person.id, kind="menu",
                payload={"commands": commands, "scope": {"type": "chat", "chat_id": chat_id}},
            ))
        await outbox.enqueue(session, messages=queued, now=now)
    return len(queued)


def menu_hash(role: str, locale: str, commands: list[dict[str, str]]) -> str:
    """A fingerprint of a menu, so it is sent again only when it changes."""
    text = f"{MENU_VERSION}|{role}|{locale}|" + "|".join(
        f"{c['command']}={c['description']}" for c in commands
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def set_menu(turn: Turn) -> None:
    """Give this chat the command menu of the user's role (setMyCommands, chat scope)."""
    person = turn.person
    assert person is not None
    commands = menu(turn)
    digest = menu_hash(person.role, turn.locale, commands)
    if person.menu_hash == digest:
        return
    person.menu_hash = digest
    turn.request(
        "setMyCommands", {"commands": commands, "scope": {"type": "chat", "chat_id": turn.chat_id}}
    )


@command("start", roles=EVERYONE, description=N_("help.start"), order=1)
async def start(turn: Turn, args: str) -> None:
    """A registered user's /start: who they are."""
    greet(turn)
    set_menu(turn)


@command("help", roles=EVERYONE, description=N_("help.help"), order=2)
async def help_command(turn: Turn, args: str) -> None:
    """Exactly the commands this user's role may use, grouped, in the words of their role."""
    assert turn.person is not None
    turn.say(help_text(turn.person.role, turn.locale))


@command("language", roles=EVERYONE, description=N_("help.language"), order=3)
async def language(turn: Turn, args: str) -> None:
    """Offer Chinese or English."""
    turn.say(
        turn.tr("language.pick"),
        markup=inline_keyboard([[("中文", "lang:zh"), ("English", "lang:en")]]),
    )


@callback("lang", roles=EVERYONE)
async def on_language(turn: Turn, code: str) -> None:
    """Switch the user's language; the menu follows."""
    if code not in ("zh", "en") or turn.person is None:
        turn.notice(turn.tr("common.stale_button"))
        return
    await people.set_locale(turn.session, person=turn.person, locale=code, now=turn.now)
    turn.locale = code
    turn.say(turn.tr("language.set"))
    set_menu(turn)
