"""The audit trail in the reader's words: what was changed, how, and its values, never codes.

An audit entry (storage/audit.py) names its object by kind and id, its action and field by code
and keeps the values as text (a status code, "True", a village id, "away:meeting"). The export's
audit sheet shows them as a reader says them: 纠纷 #12 (a number the chat quotes) or 人员：张伟,
上交, 状态, 调解中 → 已上交. Secrets (an invite code, a Telegram account) are not shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from common.i18n import catalog

# The export sheet whose headers name an entity's fields (summary "achievements" is the
# summaries sheet's "export.summaries.achievements").
SHEET_OF = {
    "summary": "summaries", "stage_summary": "stage_summaries", "appraisal": "appraisals",
    "person": "people", "dispute": "disputes", "problem": "problems", "model_case": "cases",
    "village_mark": "rectification", "checkin": "checkins", "leave": "leave",
    "inspection": "inspections", "training": "training",
}
# Entities named by their number (the chat quotes it) or by a name found by id.
NUMBERED = ("dispute", "problem", "model_case", "broadcast", "leave")
NAMED = {"person": "person", "village_mark": "village"}
# Where an action's words are, by entity, before export.audit_action.<action>.
ACTIONS = {"dispute": "export.action.", "problem": "problem.action.",
           "model_case": "case.status."}
# Coded values: (entity, field) -> message id prefix.
VALUES = {
    ("dispute", "status"): "dispute.status.", ("dispute", "handover_level"): "export.level.",
    ("problem", "status"): "export.problem_status.",
    ("model_case", "status"): "case.status.", ("summary", "status"): "export.summary_status.",
    ("stage_summary", "status"): "stage.status.", ("appraisal", "grade"): "appraise.grade.",
    ("appraisal", "status"): "export.summary_status.",
    ("person", "role"): "role.", ("person", "rank"): "export.rank.",
    ("village_mark", "types"): "rectify.type.", ("spot_check", "status"): "spotcheck.status.",
    ("leave", "status"): "leave.status.",
}
PLACE_FIELDS = {"unit_id": "unit", "township_id": "township", "village_id": "village"}
PERSON_FIELDS = ("assigned_to",)  # a person's id, read as their name
SECRET_FIELDS = ("invite_code", "telegram_user_id")
# Where the columns of an audit row are (storage/export.py's AUDIT).
ENTITY, ENTITY_ID, ACTION, FIELD, OLD, NEW = 3, 4, 5, 6, 7, 8


class AuditWords:
    """Turns audit rows into words in one language; `names` maps "person", "unit", "township"
    and "village" to names by id."""

    def __init__(self, locale: str, names: Mapping[str, Mapping[int, str]]) -> None:
        self.messages = catalog(locale)
        self.names = names

    def _get(self, *keys: str) -> str | None:
        for key in keys:
            found = self.messages.get(key)
            if found is not None:
                return found
        return None

    async def rows(self, rows: AsyncIterator[tuple[Any, ...]]
                   ) -> AsyncIterator[tuple[Any, ...]]:
        """The rows with their object, action, field and values in words."""
        try:
            async for row in rows:
                yield self.row(row)
        finally:
            close = getattr(rows, "aclose", None)
            if close is not None:
                await close()

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        entity, entity_id, action, field = row[ENTITY], row[ENTITY_ID], row[ACTION], row[FIELD]
        out = list(row)
        out[ENTITY] = self.entity(entity, entity_id)
        out[ACTION] = self._get(*([ACTIONS[entity] + action] if entity in ACTIONS else []),
                                f"export.audit_action.{action}") or action
        out[FIELD] = None if field is None else self.field(entity, field)
        value = self._value(entity, field)
        out[OLD], out[NEW] = value(row[OLD]), value(row[NEW])
        return tuple(out)

    def entity(self, entity: str, entity_id: int | None) -> str:
        text = self._get(f"export.audit_entity.{entity}")
        if text is None:
            return entity
        name = ""
        if entity in NAMED and entity_id is not None:
            name = self.names.get(NAMED[entity], {}).get(entity_id, "")
        number = entity_id if entity in NUMBERED and entity_id is not None else ""
        return text.format(number=number, name=name).strip(" #：:")

    def field(self, entity: str, field: str) -> str:
        column = PLACE_FIELDS.get(field, field)
        sheet = SHEET_OF.get(entity)
        return self._get(*([f"export.{sheet}.{column}"] if sheet else []),
                         f"export.audit_field.{field}") or field

    def _value(self, entity: str, field: str | None) -> Callable[[str | None], str | None]:
        """How this field's values read."""
        def plain(value: str | None) -> str | None:
            return value

        if field is None:
            return plain if entity != "spot_check" else self._drawn
        if field in SECRET_FIELDS:
            return lambda value: None if value is None else self.messages["export.audit.hidden"]
        if field in PLACE_FIELDS or field in PERSON_FIELDS:
            names = self.names.get(PLACE_FIELDS.get(field, "person"), {})
            return lambda value: None if value is None else names.get(int(value), value)
        if field == "active":
            return lambda value: None if value is None else self.messages[
                "export.yes" if value == "True" else "export.no"]
        if (entity, field) == ("checkin", "status"):
            return self._checkin
        prefix = VALUES.get((entity, field))
        if prefix is None:
            return plain
        if entity == "spot_check":  # "confirmed: what the leader noted"
            return lambda value: None if value is None else self._noted(prefix, value)
        return lambda value: None if value is None else self._codes(prefix, value)

    def _codes(self, prefix: str, value: str) -> str:
        """A code, or codes joined by commas, by name."""
        return self.messages["export.list"].join(self.messages.get(prefix + code, code)
                                                 for code in value.split(","))

    def _noted(self, prefix: str, value: str) -> str:
        code, _, note = value.partition(": ")
        word = self.messages.get(prefix + code, code)
        return self.messages["export.audit.noted"].format(status=word, note=note) if note else word

    def _checkin(self, value: str | None) -> str | None:
        """"village" or "away:<reason>", as the check-in sheet says them."""
        if value is None:
            return None
        if value == "village":
            return self.messages["export.audit.in_village"]
        reason = value.partition(":")[2]
        return self.messages["export.audit.away"].format(
            reason=self.messages.get(f"checkin.reason.{reason}", reason))

    def _drawn(self, value: str | None) -> str | None:
        """A spot check's drawn record, "visit:12": its kind (the record's id is internal)."""
        if value is None:
            return None
        kind = value.partition(":")[0]
        return self.messages.get(f"export.audit.drawn.{kind}", kind)
