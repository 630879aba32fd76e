"""Tokens and phone numbers never reach the logs."""

from __future__ import annotations

import io
import logging

from bot.logs import RedactingFilter, redact


def test_redact_masks_tokens_phones_and_configured_secrets():
    text = ("POST https://api.telegram.org/bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345/sendMessage "
            "for +8613800138002, 138 0013 8003 and 13800138004; secret s3cr3t-hook")
    masked = redact(text, ("s3cr3t-hook",))
    for leaked in ("ABCdefGHI", "13800138002", "0013 8003", "13800138004", "s3cr3t-hook"):
        assert leaked not in masked
    assert "[token]" in masked and "[phone …02]" in masked and "[secret]" in masked
    assert redact("visit on 2026-11-28, 3 households, id 1234567") == (
        "visit on 2026-11-28, 3 households, id 1234567")


async def test_a_registration_and_a_failure_log_no_token_and_no_phone(harness, emulator):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(harness.settings.telegram_bot_token))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        await harness.import_roster()
        user = emulator.user(8201, first_name="Li", language_code="en")
        await harness.contact(user, "+8613800138002")
        emulator.fail_next("sendMessage", 400)
        await harness.send(user, "/help")
        logging.getLogger("grassroots.test").error(
            "failed for %s with %s", "13800138003", harness.settings.telegram_bot_token)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    written = stream.getvalue()
    assert "Telegram refused" in written and "failed for" in written  # it did log
    assert harness.settings.telegram_bot_token not in written
    assert harness.settings.telegram_bot_token.split(":")[1] not in written
    assert "13800138002" not in written and "13800138003" not in written
