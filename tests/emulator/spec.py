"""The machine-readable Bot API specification, loaded once, and a validator built on it.

Limits (lengths, numeric ranges, "exactly one of" rules) are read from the spec's own
descriptions where they are stated there, so a newer spec file brings its own limits.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .html import to_plain, utf16_len
from .records import Upload

_REPO = Path(__file__).resolve().parents[2]
# The project's shared copy beside the checkout is the reference; a copy of the same file
# (MIT, with its licence) ships in botapi/ so that a checkout alone can run the tests and demo.
_CANDIDATES = (
    _REPO.parent / "shared" / "telegram-bot-api" / "api.min.json",
    Path(__file__).resolve().parent / "botapi" / "api.min.json",
)
SPEC_PATH = Path(
    os.environ.get("TELEGRAM_BOT_API_SPEC")
    or next((str(path) for path in _CANDIDATES if path.exists()), str(_CANDIDATES[-1]))
)
SCALARS = frozenset({"Integer", "String", "Boolean", "Float", "True", "InputFile"})
PARSE_MODES = frozenset({"html", "markdownv2", "markdown"})
MAX_INLINE_BUTTONS = 100  # Telegram's limit; not stated in the spec

_LENGTH = re.compile(r"\b(\d+)-(\d+) (characters|bytes)")
_RANGE = re.compile(r"(?:between |[;,] )(\d+)-(\d+)\b")
_AFTER_PARSING = re.compile(r"after entit(?:y|ies) parsing")
_REQUIRED_IF = re.compile(
    r"[Rr]equired if (\w+)(?: and (\w+))? (?:is|are) not specified|[Rr]equired if (\w+) isn't "
    r"specified"
)
_ONE_OF = re.compile(r"(Exactly|At most) one of the fields other than (.+?) must be used")
_DISCRIMINATOR = re.compile(r'(?:must be|always) "?([a-z_]+)"?')
_LOWERCASE_COMMAND = "lowercase English letters, digits and underscores"
_TWO_LETTER_LANGUAGE = "two-letter ISO 639-1 language code"


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str

    @property
    def is_json(self) -> bool:
        """Whether the value is a JSON-serialized object or array when form-encoded."""
        return any(t not in SCALARS for t in self.types)


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method."""

    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    """A Bot API type; `fields` is None for placeholders such as CallbackGame or InputFile."""

    name: str
    fields: dict[str, FieldSpec] | None
    subtypes: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ApiSpec:
    """The whole specification, indexed by name."""

    version: str
    methods: dict[str, MethodSpec]
    types: dict[str, TypeSpec]
    lower_names: dict[str, str]

    def method(self, name: str) -> MethodSpec | None:
        """The method called `name`; like Telegram, the lookup ignores case."""
        canonical = self.lower_names.get(name.lower())
        return self.methods[canonical] if canonical else None


def _fields(raw: list[dict[str, Any]]) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"]),
                             f.get("description", ""))
        for f in raw
    }


@functools.cache
def load_spec(path: str = str(SPEC_PATH)) -> ApiSpec:
    """Load and index the spec; cached, so each process reads the file once."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    methods = {
        name: MethodSpec(name, _fields(m.get("fields", [])), tuple(m.get("returns", ())))
        for name, m in raw["methods"].items()
    }
    types = {
        name: TypeSpec(
            name,
            _fields(t["fields"]) if "fields" in t else None,
            tuple(t.get("subtypes", ())),
            " ".join(t.get("description", [])),
        )
        for name, t in raw["types"].items()
    }
    lower = {name.lower(): name for name in methods}
    return ApiSpec(raw.get("version", "?"), methods, types, lower)


@dataclass(frozen=True)
class Problem:
    """One validation failure: where (a parameter path) and what, in Telegram's words."""

    path: str
    message: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce_scalar(kind: str, value: Any, form: bool) -> tuple[bool, Any]:
    """Check a scalar; form-encoded values arrive as strings and are converted."""
    if kind == "String":
        # Telegram turns JSON numbers into strings for String parameters at the top level.
        return (isinstance(value, str) or (form and (_is_int(value) or isinstance(value, float))),
                value)
    if kind == "Integer":
        if _is_int(value):
            return True, value
        if form and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return True, int(value)
        return False, value
    if kind == "Float":
        if _is_int(value) or isinstance(value, float):
            return True, value
        if form and isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, value
        return False, value
    if kind in ("Boolean", "True"):
        if isinstance(value, bool):
            return kind == "Boolean" or value, value
        if form and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return True, value.lower() in ("true", "1")
        return False, value
    return isinstance(value, Upload), value  # InputFile


def describe(value: Any) -> str:
    """A short rendering of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Validator:
    """Checks method calls against an ApiSpec."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec
        self._variants: dict[str, dict[str, str]] = {}

    def check_call(self, method: MethodSpec, params: dict[str, Any]) -> tuple[dict, list[Problem]]:
        """Validate a call's parameters; return them decoded and typed, and the problems."""
        problems: list[Problem] = []
        normalised: dict[str, Any] = {}
        for key, value in params.items():
            spec = method.fields.get(key)
            if spec is None:
                problems.append(Problem(key, f"unknown parameter {key!r} for {method.name}"))
                normalised[key] = value
                continue
            value, decode_problem = _decode_json(spec, value)
            if decode_problem:
                problems.append(Problem(key, decode_problem))
                normalised[key] = value
                continue
            normalised[key], found = self.check_value(spec.types, value, key, form=True)
            problems += found
        problems += self._missing(method.fields, normalised, "")
        for key in normalised:
            if key in method.fields:
                problems += self._field_rules(method.fields[key], normalised, key)
        return normalised, problems

    def _missing(self, fields: dict[str, FieldSpec], value: dict, prefix: str) -> list[Problem]:
        """Required fields, including "Required if X is not specified" ones."""
        problems = []
        for spec in fields.values():
            if spec.name in value:
                continue
            if spec.required:
                problems.append(Problem(prefix + spec.name, f"{spec.name} is required"))
                continue
            match = _REQUIRED_IF.search(spec.description)
            if match and not any(alt in value for alt in match.groups() if alt):
                problems.append(Problem(prefix + spec.name, f"{spec.name} is required when "
                                        f"{' and '.join(a for a in match.groups() if a)} "
                                        f"is not specified"))
        return problems

    def check_value(self, types: tuple[str, ...], value: Any, path: str,
                    form: bool = False) -> tuple[Any, list[Problem]]:
        """Check `value` against a union of spec types; the first type that fits wins."""
        if not types:
            return value, []  # the spec names no type: nothing to check
        attempts: list[tuple[str, list[Problem]]] = []
        for kind in types:
            normalised, problems = self._check_one(kind, value, path, form)
            if not problems:
                return normalised, []
            attempts.append((kind, problems))
        return value, self._best_attempt(attempts, value)

    def _best_attempt(self, attempts: list[tuple[str, list[Problem]]],
                      value: Any) -> list[Problem]:
        """Of several failed candidate types, report the one the value most resembles."""
        if isinstance(value, dict):
            def overlap(item: tuple[str, list[Problem]]) -> tuple[int, int]:
                spec = self.spec.types.get(item[0])
                known = set(spec.fields or ()) if spec else set()
                return len(known & set(value)), -len(item[1])
            return max(attempts, key=overlap)[1]
        if len(attempts) > 1:
            path = attempts[0][1][0].path
            names = " or ".join(kind for kind, _ in attempts)
            return [Problem(path, f"expected {names}, got {describe(value)}")]
        return attempts[0][1]

    def _check_one(self, kind: str, value: Any, path: str,
                   form: bool) -> tuple[Any, list[Problem]]:
        if kind.startswith("Array of "):
            if not isinstance(value, list):
                return value, [Problem(path, f"expected an array ({kind}), got {describe(value)}")]
            problems: list[Problem] = []
            for index, item in enumerate(value):
                problems += self.check_value((kind[9:],), item, f"{path}[{index}]")[1]
            return value, problems
        if kind in SCALARS:
            ok, normalised = _coerce_scalar(kind, value, form)
            if ok:
                return normalised, []
            return value, [Problem(path, f"expected {kind}, got {describe(value)}")]
        return value, self.check_object(kind, value, path)

    def check_object(self, name: str, value: Any, path: str) -> list[Problem]:
        """Check a JSON object against the spec type `name` (unknown types pass)."""
        spec = self.spec.types.get(name)
        if spec is None:
            return []  # a type this spec file does not describe: do not guess
        if isinstance(value, str) and "String can be used instead of this object" in \
                spec.description:
            return [] if value else [Problem(path, "button text must be non-empty")]
        if not isinstance(value, dict):
            return [Problem(path, f"expected a JSON object ({name}), got {describe(value)}")]
        if spec.subtypes:
            return self._check_variant(spec, value, path)
        if spec.fields is None:
            return []  # placeholder types hold no information
        problems = [Problem(f"{path}.{key}", f"unknown field {key!r} in {name}")
                    for key in value if key not in spec.fields]
        problems += self._missing(spec.fields, value, f"{path}.")
        for key, item in value.items():
            if key in spec.fields:
                problems += self.check_value(spec.fields[key].types, item, f"{path}.{key}")[1]
                problems += self._field_rules(spec.fields[key], value, f"{path}.{key}")
        return problems + self._type_rules(spec, value, path)

    def _check_variant(self, spec: TypeSpec, value: dict, path: str) -> list[Problem]:
        """Pick the subtype (e.g. BotCommandScopeChat) by the object's "type" field."""
        variants = self._discriminators(spec.name)
        tag = value.get("type")
        if tag in variants:
            return self.check_object(variants[tag], value, path)
        if len(variants) < len(spec.subtypes):
            return []  # some variants have no "type" to tell them apart: do not guess
        return [Problem(f"{path}.type", f"unknown {spec.name} type {describe(tag)}; expected one "
                        f"of {sorted(variants)}")]

    def _discriminators(self, name: str) -> dict[str, str]:
        """Map "type" values to subtype names, read from "must be X" / 'always "X"'."""
        if name in self._variants:
            return self._variants[name]
        found = self._variants[name] = {}
        for sub in self.spec.types[name].subtypes:
            fields = self.spec.types.get(sub) and self.spec.types[sub].fields
            type_field = (fields or {}).get("type")
            match = type_field and _DISCRIMINATOR.search(type_field.description)
            if match:
                found[match.group(1)] = sub
        return found

    def _field_rules(self, spec: FieldSpec, container: dict, path: str) -> list[Problem]:
        """Limits stated in a field's description: lengths, numeric ranges, formats."""
        value = container[spec.name]
        if spec.name == "parse_mode" or spec.name.endswith("_parse_mode"):
            if isinstance(value, str) and value.lower() not in PARSE_MODES:
                return [Problem(path, f"unsupported parse_mode {value!r}")]
        if _is_int(value) and "Integer" in spec.types:
            return _range_rule(spec, value, path)
        if not isinstance(value, str) or "String" not in spec.types:
            return []
        if _LOWERCASE_COMMAND in spec.description and not re.fullmatch(r"[a-z0-9_]*", value):
            return [Problem(path, f"{spec.name} can contain only lowercase English letters, "
                                  f"digits and underscores: {describe(value)}")]
        if _TWO_LETTER_LANGUAGE in spec.description and not re.fullmatch(r"(?:[a-z]{2})?", value):
            # Users' language_code may be "zh-hans"; these methods take "zh" only.
            return [Problem(path, f"{spec.name} must be a two-letter ISO 639-1 code or empty, "
                                  f"got {describe(value)}")]
        return _length_rule(spec, container, path)

    def _type_rules(self, spec: TypeSpec, value: dict, path: str) -> list[Problem]:
        """Rules on a whole object: "exactly one of", button text, keyboard size."""
        problems = _one_of_rule(spec, value, path)
        if spec.name in ("InlineKeyboardButton", "KeyboardButton") and value.get("text") == "":
            problems.append(Problem(f"{path}.text", "button text must be non-empty"))
        if spec.name == "InlineKeyboardMarkup":
            rows = value.get("inline_keyboard")
            count = sum(len(r) for r in rows if isinstance(r, list)) if isinstance(rows, list) \
                else 0
            if count > MAX_INLINE_BUTTONS:
                problems.append(Problem(f"{path}.inline_keyboard", f"too many inline keyboard "
                                        f"buttons: {count} > {MAX_INLINE_BUTTONS}"))
        return problems


def _decode_json(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """Form-encoded objects and arrays arrive as JSON strings; decode them."""
    if not (spec.is_json and isinstance(value, str)):
        return value, None
    only_json = all(t not in SCALARS for t in spec.types)
    if not only_json and value.lstrip()[:1] not in ("{", "["):
        return value, None  # e.g. "InputFile or String": a file_id or URL
    try:
        return json.loads(value), None
    except ValueError:
        return value, f"can't parse {spec.name} JSON object"


def _range_rule(spec: FieldSpec, value: int, path: str) -> list[Problem]:
    match = _RANGE.search(spec.description)
    if match and not int(match.group(1)) <= value <= int(match.group(2)):
        return [Problem(path, f"{spec.name} must be in {match.group(1)}-{match.group(2)}, "
                              f"got {value}")]
    return []


def _parse_mode_for(spec: FieldSpec, container: dict) -> str | None:
    """The parse mode that applies to a text field: `<name>_parse_mode`, else `parse_mode`."""
    for key in (f"{spec.name}_parse_mode", "parse_mode"):
        if isinstance(container.get(key), str):
            return container[key]
    return None


def _length_rule(spec: FieldSpec, container: dict, path: str) -> list[Problem]:
    """"1-4096 characters after entities parsing", "1-64 bytes" and the like."""
    match = _LENGTH.search(spec.description)
    if not match:
        return []
    low, high, unit = int(match.group(1)), int(match.group(2)), match.group(3)
    text: str = container[spec.name]
    if unit == "bytes":
        size = len(text.encode("utf-8"))
    elif _AFTER_PARSING.search(spec.description):
        try:
            text = to_plain(text, _parse_mode_for(spec, container))
        except ValueError as exc:
            return [Problem(path, f"can't parse entities: {exc}")]
        if low >= 1 and not text.strip():
            return [Problem(path, f"{spec.name} is empty after entities parsing")]
        size = utf16_len(text)  # Telegram counts UTF-16 code units here
    else:
        size = len(text)
    if not low <= size <= high:
        return [Problem(path, f"{spec.name} must be {low}-{high} {unit}, got {size}")]
    return []


def _one_of_rule(spec: TypeSpec, value: dict, path: str) -> list[Problem]:
    """ "Exactly one of the fields other than text, ... must be used" (buttons)."""
    match = _ONE_OF.search(spec.description)
    if not match or spec.fields is None:
        return []
    excluded = {n.strip() for n in re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group(2))}
    used = [k for k in value if k in spec.fields and k not in excluded]
    if match.group(1) == "Exactly" and len(used) != 1:
        return [Problem(path, f"{spec.name} must use exactly one of its action fields, "
                              f"got {used or 'none'}")]
    if match.group(1) == "At most" and len(used) > 1:
        return [Problem(path, f"{spec.name} may use at most one of its action fields, "
                              f"got {used}")]
    return []
