"""Logging that never writes a secret, a phone number or a value given to the database.

One configuration (`logging_config`) serves every process: the CLI applies it, `serve` hands it
to uvicorn for its parent and workers, and each worker applies it again when it builds the app.
Every logger, uvicorn's included, writes through one handler that carries the redacting filter.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from common.settings import Settings

# Mainland mobile numbers, with or without +86 / 86, and any E.164 number.
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|\+\d{8,15}(?!\d)")
TOKEN = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{20,}")
# Where a database error repeats the values it was given: SQLAlchemy's parameter list,
# PostgreSQL's DETAIL (the key, the failing row), asyncpg's and PostgreSQL's rejected input.
VALUES = (
    (re.compile(r"\[parameters: [^\n]*"), "[parameters hidden]"),
    (re.compile(r"\bKey \(([^)\n]*)\)=\([^\n]*\)"), r"Key (\1)=([hidden])"),
    (re.compile(r"\bFailing row contains \([^\n]*\)"), "Failing row contains ([hidden])"),
    (re.compile(r"(invalid input for query argument \$\d+): [^\n]*"), r"\1: [hidden]"),
    (re.compile(r"(invalid input (?:syntax|value) for [^:\n]*): [^\n]*"), r"\1: [hidden]"),
)
FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """The text with secrets, bot tokens, phone numbers and database values masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    text = TOKEN.sub("[token]", text)
    for pattern, replacement in VALUES:
        text = pattern.sub(replacement, text)
    return PHONE.sub(lambda m: "[phone …" + m.group(0)[-2:] + "]", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, arguments and traceback text before it is written."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        # A secret in a request line (the access log) arrives percent-encoded.
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
        self.secrets = tuple(sorted(forms, key=len, reverse=True))

    @classmethod
    def configured(cls, secrets: Iterable[str] = ()) -> RedactingFilter:
        """The filter as logging.config builds it from `logging_config`."""
        return cls(*secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """What a deployment keeps secret: the bot token, webhook secret, API token, DB password."""
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:  # not a URL at all: the CLI refuses it, with nothing to hide in it
        password = None
    return (settings.telegram_bot_token, settings.webhook_secret, settings.api_token,
            str(password or ""))


class SkippedTickFilter(logging.Filter):
    """Drops APScheduler's warning that a repeating job's tick was skipped because its last
    run is still going. The outbox sender ticks every second and, through a broadcast or the
    evening's digests, runs for minutes: it is busy sending, not failing, and the line came
    once a second from every process for as long."""

    SKIPPED = 'Execution of job "%s" skipped: maximum number of running instances'

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.SKIPPED)


def logging_config(*secrets: str, level: str = "INFO") -> dict[str, Any]:
    """The one logging configuration of every process (a logging.config dictionary)."""
    # uvicorn's loggers lose the handlers of its own configuration and propagate to the root's
    # one handler, so an access line or a traceback cannot bypass the filter.
    through_root = {"handlers": [], "propagate": True, "level": level}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "common.logs.RedactingFilter.configured",
                               "secrets": [s for s in secrets if s]},
                    "skipped_tick": {"()": "common.logs.SkippedTickFilter"}},
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "plain", "filters": ["redact"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": through_root, "uvicorn.error": through_root,
            "uvicorn.access": through_root,
            "httpx": {"level": "WARNING"},  # its request lines carry the token
            "apscheduler": {"level": "WARNING"},  # a line per job per second
            "apscheduler.scheduler": {"level": "WARNING", "filters": ["skipped_tick"]},
            "alembic.runtime.plugins": {"level": "WARNING"},  # seven lines per schema check
        },
    }


def setup_logging(*secrets: str, level: str = "INFO") -> None:
    """Apply the one configuration in this process; warnings are logged through it too."""
    logging.config.dictConfig(logging_config(*secrets, level=level))
    logging.captureWarnings(True)
