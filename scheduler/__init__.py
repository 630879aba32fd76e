"""Scheduled work: reminders, digests, escalations, the export sweep, the outbox sender."""

from __future__ import annotations

from typing import Any


def load(application: Any) -> None:
    """Register the scheduler's jobs on the application's JobQueue."""
    from scheduler.jobs import register

    register(application)
