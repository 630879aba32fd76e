"""Translations: every user-facing string lives in the gettext catalogs under common/locales.

Message ids are symbolic (``checkin.prompt``); each locale's catalog holds the text, as
HTML for Telegram's parse_mode=HTML. Values formatted into a message are escaped, so a
user's ``<b>`` comes back as text, never as markup. Each feature keeps its own .po file
per locale; the files of a locale are merged.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES = ("zh", "en")
LOCALE_DIR = Path(__file__).parent / "locales"


class Markup(str):
    """Text that is already HTML and must not be escaped again."""

    __slots__ = ()


def N_(msgid: str) -> str:
    """Mark a message id for extraction without translating it here."""
    return msgid


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """Every message of one locale, from all its .po files."""
    messages: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def normalise_locale(code: str | None, default: str = "zh") -> str:
    """Chinese for zh*, English for anything else; the default when unknown."""
    if not code:
        return default
    return "zh" if code.lower().startswith("zh") else "en"


def locale_of(chosen: str | None, telegram_language: str | None, default: str = "zh") -> str:
    """A person's language: the one they picked with /language, else their Telegram one."""
    return chosen or normalise_locale(telegram_language, default)


def _escape(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def translate(locale: str, msgid: str, **values: Any) -> str:
    """The message in this locale, with values escaped and formatted in."""
    text = catalog(locale).get(msgid) or catalog("en").get(msgid)
    if text is None:
        raise KeyError(f"no translation for {msgid!r}")
    if not values:
        return text
    return text.format(**{key: _escape(value) for key, value in values.items()})


Translator = Callable[..., str]


def translator(locale: str) -> Translator:
    """A function that translates message ids into one locale."""

    def tr(msgid: str, **values: Any) -> str:
        return translate(locale, msgid, **values)

    return tr
