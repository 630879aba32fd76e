"""Add or update messages in a catalog pair: python tools/po_add.py DOMAIN FILE.json

FILE.json maps msgid -> {"en": "...", "zh": "..."}. Existing entries are updated, others kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "common" / "locales"


def update(domain: str, messages: dict[str, dict[str, str]]) -> None:
    """Merge `messages` into common/locales/<locale>/LC_MESSAGES/<domain>.po for zh and en."""
    for locale in ("zh", "en"):
        path = LOCALES / locale / "LC_MESSAGES" / f"{domain}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="grassroots", domain=domain)
        for msgid, texts in messages.items():
            if msgid in catalog:
                catalog[msgid].string = texts[locale]  # add() would keep the old text
            else:
                catalog.add(msgid, texts[locale])
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=False, sort_output=True)


if __name__ == "__main__":
    update(sys.argv[1], json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
