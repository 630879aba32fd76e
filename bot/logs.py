"""Logging that never writes the bot token or a phone number."""

from __future__ import annotations

import logging
import re

# Mainland mobile numbers, with or without +86 / 86, and any E.164 number.
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|\+\d{8,15}(?!\d)")
TOKEN = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{20,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """The text with secrets, bot tokens and phone numbers masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    text = TOKEN.sub("[token]", text)
    return PHONE.sub(lambda m: "[phone …" + m.group(0)[-2:] + "]", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, arguments and traceback text before it is written."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def setup_logging(*secrets: str, level: int = logging.INFO) -> None:
    """Log to stderr through the redacting filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(*secrets))
    handler.set_name("grassroots")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "grassroots"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job per second
