"""The audit trail: who changed what, when, from which value to which."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def record_audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    at: dt.datetime,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> AuditEntry:
    """Add one audit entry in the current transaction."""
    entry = AuditEntry(
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        field=field,
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        at=at,
    )
    session.add(entry)
    return entry
