"""A Telegram Bot API emulator for tests: a loopback HTTP server checked against the spec.

    emu = BotApiEmulator(token="123456:TEST-TOKEN", bot_username="grassroots_test_bot")
    await emu.start()
    app = ApplicationBuilder().token(emu.token).base_url(emu.api_url) \
        .base_file_url(emu.file_url).build()
    ...  # initialize, start, updater.start_polling(poll_interval=0, timeout=1)
    li = emu.user(1001, first_name="Li", language_code="zh-hans")
    li.send("/start")
    (reply,) = await emu.wait_sent(1001)
    li.press(reply.callback_data("OK"))
    assert emu.violations == []

Every request is validated against the Bot API spec (tests/emulator/spec.py); failures are
listed in emu.violations and answered like Telegram would (400 "Bad Request: ...").
"""

from .html import parse_html, parse_markdown_v2, utf16_len
from .records import Request, Sent, Upload
from .server import BotApiEmulator
from .spec import load_spec
from .users import EmuUser

__all__ = [
    "BotApiEmulator",
    "EmuUser",
    "Request",
    "Sent",
    "Upload",
    "load_spec",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]
