"""The JobQueue wakes the work up; the database decides what is due."""

from __future__ import annotations

from typing import Any

from scheduler.sender import sender_job

SENDER_INTERVAL_SECONDS = 1.0


def register(application: Any) -> None:
    """Add the repeating jobs."""
    queue = application.job_queue
    if queue is None:
        return
    queue.run_repeating(sender_job, interval=SENDER_INTERVAL_SECONDS, first=0.5, name="outbox")
