"""The place question: a village name several townships have, asked back with one button each.

Every command that takes a place meets the name through storage.scope.named_place, which raises
AmbiguousPlace for "新村" when 黄金埠镇 and 古埠镇 both have one. ask_which turns that into
the question; the command and its arguments are kept in the database (place_questions), and a
button carries only that row's id and the village. Pressing one re-checks that the question is
the presser's own, that their role may still use the command, and runs the command again with
the name written as '镇/村', so the command's own scope check applies as if it had been typed.
"""

from __future__ import annotations

from handlers.base import Turn, inline_keyboard
from handlers.forms import Choice, Data
from handlers.registry import COMMANDS, READERS, callback
from storage import people
from storage.scope import AmbiguousPlace, keep_question, kept_question, label

PREFIX = "pl"


def code_id(data: Data, key: str) -> int | None:
    """The id in a coded answer (`t4`, `v3`, `h12`), or None when there is none."""
    value = str(data.get(key) or "")
    return int(value[1:]) if value[1:].isdigit() else None


async def township_choices(turn: Turn, *, prefix: str = "", only: int | None = None
                           ) -> list[Choice]:
    """A form's button per township, coded `prefix` + its id (`only`: that township alone)."""
    return [Choice(f"{prefix}{t.id}", t.name, literal=True)
            for t in await people.townships(turn.session) if only in (None, t.id)]


async def village_choices(turn: Turn, township_id: int | None, *, prefix: str = ""
                          ) -> list[Choice]:
    """A form's button per village of a township, coded `prefix` + its id (none without one)."""
    if not township_id:
        return []
    return [Choice(f"{prefix}{v.id}", v.name, literal=True)
            for v in await people.villages_of(turn.session, township_id=township_id)]


def _command(text: str) -> tuple[str, str] | None:
    """('stats', '新村 上周') for '/stats@bot 新村 上周'; None for anything but a command."""
    if not text.startswith("/"):
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name, args.strip()) if name in COMMANDS else None


def rewritten(args: str, name: str, place: str) -> str | None:
    """The arguments with the words of `name` replaced by `place`; None if they are not there."""
    tokens, wanted = args.split(), name.split()
    for at in range(len(tokens) - len(wanted) + 1):
        if wanted and tokens[at:at + len(wanted)] == wanted:
            return " ".join([*tokens[:at], place, *tokens[at + len(wanted):]])
    return None


async def ask_which(turn: Turn, ambiguous: AmbiguousPlace) -> None:
    """Ask which village the sender meant: a button per candidate when the command can be run
    again, else the candidates in words, to be typed as '镇/村'."""
    assert turn.person is not None
    labels = [place for place, _ in ambiguous.candidates]
    parsed = _command(turn.text)
    if parsed is None or rewritten(parsed[1], ambiguous.name, labels[0]) is None:
        turn.say(turn.tr("places.which_typed", name=ambiguous.name, count=len(labels),
                         places="、".join(labels)))
        return
    question_id = await keep_question(
        turn.session, person_id=turn.person.id, command=parsed[0], args=parsed[1],
        name=ambiguous.name, now=turn.now)
    buttons = [[(place, f"{PREFIX}:{question_id}:{scope.village_id}")]
               for place, scope in ambiguous.candidates]
    turn.say(turn.tr("places.which", name=ambiguous.name, count=len(labels), example=labels[-1]),
             markup=inline_keyboard(buttons))


@callback(PREFIX, roles=READERS)
async def on_place(turn: Turn, rest: str) -> None:
    """A village picked, pl:<question>:<village>: the kept command runs again for it."""
    person = turn.person
    assert person is not None
    question_id, _, village_id = rest.partition(":")
    question = village = None
    if question_id.isdigit() and village_id.isdigit():
        question = await kept_question(turn.session, question_id=int(question_id),
                                       person_id=person.id, now=turn.now)
        village = await people.village_by_id(turn.session, village_id=int(village_id))
    if question is None or village is None or village.name not in (
            question.name, question.name + "村"):
        turn.notice(turn.tr("common.stale_button"))  # another's, expired or forged
        return
    command = COMMANDS.get(question.command)
    if command is None or person.role not in command.roles:
        turn.notice(turn.tr("common.not_for_your_role"))  # the role changed since
        return
    args = rewritten(question.args, question.name, label(village))
    if args is None:
        turn.notice(turn.tr("common.stale_button"))
        return
    if turn.pressed_message_id is not None:
        turn.request("editMessageReplyMarkup", {"message_id": turn.pressed_message_id})
    turn.notice(label(village))
    await command.run(turn, args)
