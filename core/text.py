"""Text every store and encoder can take: no NUL (PostgreSQL refuses it) and no lone surrogate (UTF-8 cannot
encode it; JSON's "\\ud800" escape makes one). The one check for user text, wherever it arrives (16.4)."""

import re

from django.core.exceptions import ValidationError

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value):
    """What makes the string `value` unstorable, in words, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if _SURROGATE.search(value):
        return "contains invalid Unicode (a lone surrogate)"
    return None


def first_bad_text(value, path=""):
    """The first (path, problem) among the strings (keys included) of a parsed JSON value, or None.
    Paths read like `items[0].size`."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = first_bad_text(key, f"a key in {path or 'the body'}") or first_bad_text(item, inner)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_text(item, f"{path}[{index}]")
            if found:
                return found
    return None


def storable_text(value):
    """`value` with what cannot be stored replaced: NUL dropped, lone surrogates as U+FFFD (for names taken from
    files, which are shown back rather than refused)."""
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def validate_storable_text(value):
    """A form field validator: the same refusal as the JSON API's."""
    problem = text_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValidationError(f"This value {problem}.", code="unstorable_text")
