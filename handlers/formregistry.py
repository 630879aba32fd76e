"""The forms' registry: every form the engine can run, and the roles that may fill it in.

A form is made known with `add_form` (one started by a button or another command) or with
handlers.dialogs.register_form, which also makes `/<form.name>` start it. A form without roles
cannot be registered: the engine refuses any step of a draft whose form this person's role no
longer allows.
"""

from __future__ import annotations

from handlers.forms import Form

FORMS: dict[str, Form] = {}
# Who may use each form; a form without an entry is open to nobody.
FORM_ROLES: dict[str, frozenset[str]] = {}


def add_form(form: Form, *, roles: frozenset[str]) -> Form:
    """Make a form known to the engine (one started by a button or another command), with the
    roles that may fill it in."""
    if not roles:
        raise ValueError(f"form {form.name!r}: no role may use it")
    FORMS[form.name] = form
    FORM_ROLES[form.name] = frozenset(roles)
    return form
