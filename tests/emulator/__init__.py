"""A Telegram Bot API emulator for tests: a loopback HTTP server checked against the spec."""

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
