"""What PostgreSQL cannot store, taken out of every string before it reaches the database.

PostgreSQL's text refuses the NUL character, and its JSONB refuses the escape ``\\u0000`` and
lone UTF-16 surrogates; one such character in an answer failed the whole turn, and every
resend failed the same way. SQLite would take them, but both backends keep the same text.
A NUL is invisible, so it is removed; a lone surrogate is half of a broken character, so it
becomes U+FFFD (the replacement character), as a decoder shows a broken byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without NUL characters, its lone surrogates replaced by U+FFFD."""
    if _UNSTORABLE.search(text) is None:
        return text
    if _SURROGATE.search(text) is not None:
        # Through UTF-16 and back: a pair split into two code points joins into the character
        # it encodes; only a surrogate without its partner is replaced.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", "")


def storable_value(value: Any) -> Any:
    """A parameter or JSON document with every string in it made storable; the same object
    when nothing needed it."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, (list, tuple)):
        items = [storable_value(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        pairs = [(storable_value(key), storable_value(item)) for key, item in value.items()]
        if all(new[0] is key and new[1] is item
               for new, (key, item) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def storable_json(value: Any) -> str:
    """The JSON serializer of every engine: JSON and JSONB columns get storable text too."""
    return json.dumps(storable_value(value))


def storable_parameters(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    """A before_cursor_execute hook: every statement's parameters made storable, whichever
    path wrote them (ORM, Core, raw SQL)."""
    return statement, storable_value(parameters)
