"""The fuzz run's counts, printed at the end of the run (the closing note of issue 16 quotes them)."""

import collections

import pytest

SUMMARY = pytest.StashKey[collections.Counter]()


@pytest.fixture
def fuzz_summary(request):
    return request.config.stash.setdefault(SUMMARY, collections.Counter())


def pytest_terminal_summary(terminalreporter, config):
    counts = config.stash.get(SUMMARY, None)
    if counts:
        line = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
        terminalreporter.write_line(f"schemathesis: {line}")
