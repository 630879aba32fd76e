"""/checkin: today in the village in one tap, or away with a reason; a location if shared.
On a day an inspection found the cadre away only away is offered (and taken)."""

from __future__ import annotations

from common.i18n import N_
from handlers.base import REMOVE_KEYBOARD, Turn, inline_keyboard
from handlers.forms import outside_campaign
from handlers.registry import CADRE, callback, command
from storage import checkins
from storage.audit import record_audit
from storage.models import Checkin

# Leave is not a reason one picks: it is asked for with /leave and decided by the one above
# (a check-in saved as "leave" before stays readable as 请假).
REASONS = ("meeting", "sick", "other")


def _status(turn: Turn, row: Checkin) -> str:
    if row.in_village:
        return turn.tr("checkin.status.village")
    return turn.tr("checkin.status.away", reason=turn.tr(f"checkin.reason.{row.reason}"))


def _choices(turn: Turn, *, struck: bool = False) -> dict[str, object]:
    """In the village or away; only away on a day an inspection found the cadre away."""
    village = [] if struck else [[(turn.tr("checkin.button.village"), "ci:v")]]
    return inline_keyboard([*village, [(turn.tr("checkin.button.away"), "ci:a")]])


@command("checkin", roles=CADRE, description=N_("help.checkin"), order=10)
async def checkin(turn: Turn, args: str) -> None:
    """Offer today's check-in, or a correction of the one already made; none outside the
    campaign."""
    assert turn.person is not None
    if _refused(turn):
        return
    row = await checkins.for_day(turn.session, person_id=turn.person.id, day=turn.today)
    struck = bool(await checkins.found_away(turn.session, day=turn.today,
                                            person_ids=[turn.person.id]))
    if row is None and struck:
        turn.say(turn.tr("checkin.struck", day=turn.today), markup=_choices(turn, struck=True))
    elif row is None:
        turn.say(turn.tr("checkin.prompt", day=turn.today), markup=_choices(turn))
    else:
        turn.say(turn.tr("checkin.already", status=_status(turn, row)),
                 markup=_choices(turn, struck=struck))


@callback("ci", roles=CADRE)
async def on_button(turn: Turn, rest: str) -> None:
    """In the village (saved at once), away (then the reason), or the reason itself."""
    if turn.person is None or turn.person.role not in CADRE:
        turn.notice(turn.tr("common.stale_button"))
        return
    if rest == "v":
        await _save(turn, in_village=True, reason=None)
    elif rest == "a":
        rows = [[(turn.tr(f"checkin.reason.{code}"), f"ci:r:{code}")] for code in REASONS]
        turn.say(turn.tr("checkin.which_reason"), markup=inline_keyboard(rows))
    elif rest.startswith("r:") and rest[2:] in REASONS:
        await _save(turn, in_village=False, reason=rest[2:])
    else:
        turn.notice(turn.tr("common.stale_button"))


def _refused(turn: Turn) -> bool:
    """Say so when today is outside the campaign: no check-in is dated before its start or
    after its end (the same check as every dated record, handlers.forms.outside_campaign)."""
    refusal = outside_campaign(turn, turn.today, prefix="checkin")
    if refusal is not None:
        turn.say(turn.tr(refusal.msgid, **refusal.values))
    return refusal is not None


async def _save(turn: Turn, *, in_village: bool, reason: str | None) -> None:
    person = turn.person
    assert person is not None
    if _refused(turn):  # a button of an earlier day, pressed once the campaign is over
        return
    try:
        row, before = await checkins.check_in(
            turn.session,
            person=person,
            day=turn.today,
            in_village=in_village,
            reason=reason,
            now=turn.now,
        )
    except checkins.StruckDay:  # the day stays as the inspection found it; away is still open
        turn.say(turn.tr("checkin.struck", day=turn.today), markup=_choices(turn, struck=True))
        return
    if before is not None and (before.in_village, before.reason) == (in_village, row.reason):
        turn.notice(turn.tr("checkin.unchanged"))
        return
    if before is not None:
        await record_audit(
            turn.session,
            actor_id=person.id,
            entity="checkin",
            entity_id=row.id,
            action="correct",
            field="status",
            old=checkins.status_code(before),
            new=checkins.status_code(row),
            at=turn.now,
        )
    message_id = turn.pressed_message_id
    if message_id is not None:
        turn.request("editMessageReplyMarkup", {"message_id": message_id})
    key = "checkin.corrected" if before is not None else "checkin.saved"
    turn.say(
        turn.tr(key, day=row.day, status=_status(turn, row)),
        markup=_location_keyboard(turn) if in_village else REMOVE_KEYBOARD,
    )


def _location_keyboard(turn: Turn) -> dict[str, object]:
    return {
        "keyboard": [[{"text": turn.tr("form.button.share_location"), "request_location": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


async def on_location(turn: Turn) -> bool:
    """A location outside any dialog belongs to today's check-in, if there is one."""
    message = turn.update.effective_message
    if turn.person is None or message is None or message.location is None:
        return False
    row = await checkins.for_day(turn.session, person_id=turn.person.id, day=turn.today)
    if row is None:
        turn.say(turn.tr("checkin.location_without_checkin"), markup=REMOVE_KEYBOARD)
        return True
    await checkins.set_location(
        turn.session,
        checkin=row,
        latitude=message.location.latitude,
        longitude=message.location.longitude,
        now=turn.now,
    )
    turn.say(turn.tr("checkin.location_saved"), markup=REMOVE_KEYBOARD)
    return True


async def on_live_location(turn: Turn) -> None:
    """A live location moved: today's check-in follows it silently; without one, nothing."""
    message = turn.update.effective_message
    if turn.person is None or message is None or message.location is None:
        return
    row = await checkins.for_day(turn.session, person_id=turn.person.id, day=turn.today)
    if row is not None:
        await checkins.set_location(
            turn.session, checkin=row, latitude=message.location.latitude,
            longitude=message.location.longitude, now=turn.now)
