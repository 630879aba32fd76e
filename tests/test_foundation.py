"""The ground: catalogs complete, SQLite pragmas, migrations match the models, settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from sqlalchemy import text

from common.i18n import LOCALES, catalog
from common.settings import Settings, normalise_database_url
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _used_message_ids() -> set[str]:
    ids: set[str] = set()
    keywords = {"tr": None, "N_": None, "translate": (2,)}
    for package in ("bot", "common", "reports", "handlers", "scheduler", "storage"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=keywords
        ):
            if isinstance(message, str) and "." in message and " " not in message:
                ids.add(message)
    return ids


def test_every_message_the_code_uses_is_translated_in_both_languages():
    used = _used_message_ids()
    assert len(used) > 20
    for locale in LOCALES:
        missing = sorted(used - set(catalog(locale)))
        assert not missing, f"{locale} catalog lacks {missing}"


def test_both_catalogs_hold_the_same_messages_with_the_same_placeholders():
    zh, en = catalog("zh"), catalog("en")
    assert set(zh) == set(en)
    for msgid in zh:
        assert set(PLACEHOLDER.findall(zh[msgid])) == set(PLACEHOLDER.findall(en[msgid])), msgid


async def test_sqlite_connections_get_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        async with db.write() as session:
            journal = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
            timeout = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (journal, keys, timeout) == ("wal", 1, 30000)
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_get_the_async_driver(given, expected):
    assert normalise_database_url(given) == expected


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("CONDOLENCE_MIN_AMOUNT", "300")
    settings = Settings(_env_file=None)
    assert settings.telegram_bot_token == "1:abc"
    assert str(settings.tz) == "Asia/Urumqi"
    assert settings.condolence_min_amount == 300
    assert settings.bot_api_base_url == "https://api.telegram.org"
