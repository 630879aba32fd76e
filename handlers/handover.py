"""Hand-overs in chat: an escalated dispute (上交乡镇 / 上交县里), or a new one that is very
urgent or a priority petition, reaches the level above at once with 受理 / 退回.

`announce` is called by handlers.disputes in the turn that escalates or reports: it tells the
township leaders of the dispute's township (or the office, for the county level and for
petitions to the province or Beijing) and returns the cadre's confirmation, naming who was told.
A township with nobody on the bot hands the dispute to the office instead, and says so. The
buttons (ho:<id>:<stamp>:t|r) re-check in the pressing turn's transaction that the presser is
now the level the dispute waits for; a press on a spent hand-over answers on the button.
scheduler.escalation climbs a hand-over nobody took within ESCALATION_TAKE_HOURS.
"""

from __future__ import annotations

from common.i18n import N_, Translator
from handlers.base import Turn
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Data, Form, Question
from handlers.registry import callback
from reports import handover as words
from storage import handover as store
from storage.models import Dispute, Person, Village

ROLES = ("township_leader", "office")
# Messages chosen by a code; listed here so the catalog check sees every one.
_LABELS = (
    N_("handover.escalated.sent"), N_("handover.escalated.instead"),
    N_("handover.escalated.nobody"), N_("handover.new.sent"), N_("handover.new.instead"),
    N_("handover.new.nobody"), N_("handover.step.take"), N_("handover.step.return"),
    N_("handover.head.new"), N_("handover.head.new_instead"), N_("handover.head.escalated"),
    N_("handover.head.escalated_instead"),
)


def _reachable(person: Person) -> bool:
    return person.active and person.telegram_user_id is not None and person.blocked_at is None


async def _village(turn: Turn, dispute: Dispute) -> str:
    village = await turn.session.get(Village, dispute.village_id) if dispute.village_id else None
    return village.name if village is not None else ""


async def announce(turn: Turn, dispute: Dispute, *, level: str, reason: str | None,
                   new: bool) -> str:
    """Hand the dispute to `level` and tell whoever is there now; the cadre's confirmation.

    `new`: a dispute just reported (urgent or a priority petition) rather than escalated."""
    cadre = turn.person
    assert cadre is not None
    asked = level
    told = await store.receivers(turn.session, level=level, township_id=dispute.township_id)
    if not told and level == "township":
        office = await store.receivers(turn.session, level="county", township_id=None)
        if office:  # nobody at the township can be told: the office is, and the cadre hears so
            level, told = "county", office
    await store.hand_over(turn.session, dispute, level=level, by_person_id=cadre.id,
                          now=turn.now)
    if dispute.status == "escalated":
        dispute.level = level  # the level shown is the one that has it
    village = await _village(turn, dispute)
    # The office told instead of an empty township reads why it, and not the township, has it.
    msgid = f"handover.head.{'new' if new else 'escalated'}{'_instead' if level != asked else ''}"
    for person in told:
        tr = turn.tr_for(person)
        head = tr(msgid, id=dispute.id, cadre=cadre.name, village=village,
                  why=words.why_new(tr, dispute), level=tr(f"dispute.level.{asked}"))
        turn.tell(person, words.notice(tr, dispute, head=head, village=village, cadre=cadre.name,
                                       reason=reason),
                  markup=words.buttons(tr, dispute), kind="escalation",
                  key=f"handover:{dispute.id}:{words.stamp(dispute)}:{person.id}")
    return confirmation(turn.tr, dispute, asked=asked, level=level, told=told, new=new)


def confirmation(tr: Translator, dispute: Dispute, *, asked: str, level: str,
                 told: list[Person], new: bool) -> str:
    """What the cadre reads: who at which level has it now, or that nobody could be told."""
    kind = "new" if new else "escalated"
    values = {"id": dispute.id, "level": tr(f"dispute.level.{asked}"),
              "why": words.why_new(tr, dispute)}
    if not told:
        return tr(f"handover.{kind}.nobody", **values)
    names = tr("common.list_sep").join(p.name for p in told)
    if level != asked:
        return tr(f"handover.{kind}.instead", names=names, **values)
    return tr(f"handover.{kind}.sent", names=names, **values)


# --- the buttons: 受理 takes it, 退回 asks a reason --------------------------------------------


def _concerned(person: Person, dispute: Dispute) -> bool:
    """Whether the person is one a hand-over of this dispute goes to (its township's leader, or
    the office), whatever its state now: only they hear what became of it."""
    if not person.active or person.id == dispute.person_id:
        return False
    if person.role == "office":
        return True
    return (person.role == "township_leader" and person.township_id is not None
            and person.township_id == dispute.township_id)


async def _state(turn: Turn, dispute: Dispute) -> str:
    """Why a hand-over button no longer acts, truthfully."""
    if dispute.taken_by is not None:
        taker = await turn.session.get(Person, dispute.taken_by)
        return turn.tr("handover.already_taken", id=dispute.id,
                       name=taker.name if taker is not None else "")
    if store.waiting(dispute):  # it waits at another level now (it climbed)
        return turn.tr("handover.moved_on", id=dispute.id,
                       level=turn.tr(f"dispute.level.{dispute.handover_level}"))
    return turn.tr("handover.not_waiting", id=dispute.id)


async def _found(turn: Turn, id_text: str, stamp_text: str) -> Dispute | None:
    """The dispute, locked, if the presser may act on this hand-over now (else said why)."""
    person = turn.person
    dispute = None
    if person is not None and id_text.isdigit():
        dispute = await store.locked(turn.session, dispute_id=int(id_text))
    if dispute is None or person is None or not _concerned(person, dispute):
        turn.notice(turn.tr("handover.not_yours"))  # a forged or foreign press: keep the keyboard
        return None
    if not store.waiting(dispute) or stamp_text != str(words.stamp(dispute)):
        turn.stale(await _state(turn, dispute))
        return None
    if not store.may_take(person, dispute):
        turn.stale(turn.tr("handover.moved_on", id=dispute.id,
                           level=turn.tr(f"dispute.level.{dispute.handover_level}")))
        return None
    return dispute


@callback(words.PREFIX, roles=ROLES, refusal=N_("handover.not_yours"))
async def on_button(turn: Turn, rest: str) -> None:
    """ho:<id>:<stamp>:t takes the dispute; ho:<id>:<stamp>:r asks why it goes back."""
    parts = rest.split(":")
    if len(parts) != 3:
        turn.stale(turn.tr("common.stale_button"))
        return
    id_text, stamp_text, action = parts
    dispute = await _found(turn, id_text, stamp_text)
    if dispute is None:
        return
    if action == "t":
        await _take(turn, dispute)
    elif action == "r":
        await start_form(turn, RETURN,
                         f"{dispute.id}:{stamp_text}:{turn.pressed_message_id or 0}")
    else:
        turn.stale(turn.tr("common.stale_button"))


async def _cadre(turn: Turn, dispute: Dispute) -> Person | None:
    cadre = await turn.session.get(Person, dispute.person_id)
    return cadre if cadre is not None and _reachable(cadre) else None


async def _take(turn: Turn, dispute: Dispute) -> None:
    assert turn.person is not None
    await store.take(turn.session, dispute, by=turn.person, now=turn.now)
    turn.drop_keyboard()
    cadre = await _cadre(turn, dispute)
    if cadre is not None:
        tr = turn.tr_for(cadre)
        turn.tell(cadre, tr("handover.taken_cadre", id=dispute.id, name=turn.person.name,
                            level=tr(f"dispute.level.{dispute.handover_level}")),
                  key=f"handover:{dispute.id}:{words.stamp(dispute)}:taken")
    turn.say(turn.tr("handover.taken", id=dispute.id, told=_told(turn, dispute, cadre)))


def _told(turn: Turn, dispute: Dispute, cadre: Person | None) -> str:
    if cadre is not None:
        return turn.tr("handover.cadre_told", name=cadre.name)
    return turn.tr("handover.cadre_not_told")


# --- sending back: a one-question form, so the reason's draft is durable like any other -------


def _args(text: str) -> tuple[str, str, int] | None:
    parts = text.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


async def _prepare_return(turn: Turn, args: str) -> Data | None:
    parsed = _args(args)
    if parsed is None:
        turn.say(turn.tr("handover.not_yours"))
        return None
    dispute = await _found(turn, parsed[0], parsed[1])
    if dispute is None:  # _found has said why, on the button
        return None
    return {"ctx_dispute": dispute.id, "ctx_stamp": parsed[1], "ctx_message": parsed[2]}


async def _describe_return(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("handover.returning", id=data["ctx_dispute"])]


async def _save_return(turn: Turn, data: Data) -> None:
    person = turn.person
    assert person is not None
    dispute = await store.locked(turn.session, dispute_id=int(data["ctx_dispute"]))
    if (dispute is None or not store.waiting(dispute) or not store.may_take(person, dispute)
            or str(words.stamp(dispute)) != str(data["ctx_stamp"])):
        turn.say(await _state(turn, dispute) if dispute is not None and _concerned(
            person, dispute) else turn.tr("handover.not_yours"))
        return
    level = dispute.handover_level
    stamp = words.stamp(dispute)
    await store.send_back(turn.session, dispute, by=person, reason=data["reason"], now=turn.now)
    if data.get("ctx_message"):  # the notice's 受理 / 退回 are spent
        turn.request("editMessageReplyMarkup", {"message_id": int(data["ctx_message"])})
    cadre = await _cadre(turn, dispute)
    if cadre is not None:
        tr = turn.tr_for(cadre)
        turn.tell(cadre, tr("handover.returned_cadre", id=dispute.id, name=person.name,
                            level=tr(f"dispute.level.{level}"), reason=data["reason"]),
                  key=f"handover:{dispute.id}:{stamp}:returned")
    turn.say(turn.tr("handover.returned", id=dispute.id, told=_told(turn, dispute, cadre)))


RETURN = Form(
    name="handover_return", title=N_("handover.return_title"),
    questions=(Question("reason", N_("handover.q.reason"), N_("handover.label.reason"),
                        max_len=store.MAX_REASON),),
    save=_save_return, prepare=_prepare_return, describe=_describe_return,
)
add_form(RETURN, roles=frozenset(ROLES))  # started from a 退回 button
