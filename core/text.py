"""Text every store and encoder can take: no NUL (PostgreSQL refuses it) and no lone surrogate (UTF-8 cannot
encode it; JSON's "\\ud800" escape makes one). The one check for user text, wherever it arrives (16.4)."""

import re

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
    Paths read like `items[0].size`. A loop, not recursion: JSON nests deeper than Python's stack."""
    pending = [(value, path)]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return path, problem
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                children += [(key, f"a key in {path or 'the body'}"), (item, f"{path}.{key}" if path else str(key))]
            pending += reversed(children)
        elif isinstance(value, list):
            pending += reversed([(item, f"{path}[{index}]") for index, item in enumerate(value)])
    return None


def storable_text(value):
    """`value` with what cannot be stored replaced: NUL dropped, lone surrogates as U+FFFD (for names taken from
    files, which are shown back rather than refused)."""
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))

