"""The rate limits' sliding window: no double burst around a window boundary, and a Retry-After that is exact; the
client address they may count by."""

import uuid

import pytest

from core.ratelimit import RateLimit

WINDOW_START = 1_800_000_000.0  # a multiple of every window below


@pytest.fixture
def limit(settings):
    settings.TEST_LIMIT = (10, 60)
    return RateLimit(f"test-{uuid.uuid4().hex}", setting="TEST_LIMIT")  # counts of its own, even in a shared Redis


def test_the_limit_at_the_end_of_a_window_holds_at_the_start_of_the_next(limit):
    for _ in range(10):  # all in the last second of a window: a fixed window would allow 10 more right after
        assert limit.hit("someone", now=WINDOW_START + 59) == 0
    assert limit.hit("someone", now=WINDOW_START + 61) > 0
    assert limit.hit("another", now=WINDOW_START + 61) == 0


def test_retry_after_is_the_moment_one_more_event_fits(limit):
    for _ in range(10):
        assert limit.hit("someone", now=WINDOW_START + 30) == 0
    wait = limit.wait_s("someone", now=WINDOW_START + 30)
    # 30 s to the end of the window, then 6 s more for its 10 events, taken as spread over it, to weigh 9
    assert wait == 36
    assert limit.wait_s("someone", now=WINDOW_START + 30 + wait - 1) > 0
    assert limit.wait_s("someone", now=WINDOW_START + 30 + wait) == 0
    assert limit.hit("someone", now=WINDOW_START + 30 + wait) == 0


def test_a_steady_pace_under_the_limit_is_never_refused(limit):
    # 9 a minute, evenly: the estimate takes the previous window's events as spread over it, so it stays under 10.
    assert all(limit.hit("someone", now=WINDOW_START + 60 / 9 * n + 0.5) == 0 for n in range(27))


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "198.51.100.7", "10.0.0.2"),  # no trusted proxy: the header is the client's word, ignored
    (1, "", "10.0.0.2"),
    (1, "198.51.100.7", "198.51.100.7"),
    (1, "203.0.113.5, 198.51.100.7", "198.51.100.7"),  # what lies left of the proxy's entry is the client's word
    (2, "203.0.113.5, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
    (2, "198.51.100.7", "198.51.100.7"),  # the outer proxy was skipped: the inner one's entry
    (1, "not-an-address", "10.0.0.2"),
    (1, "::ffff:198.51.100.7", "198.51.100.7"),
])
def test_the_client_address_trusts_x_forwarded_for_only_as_far_as_configured(settings, rf, proxies, forwarded,
                                                                            expected):
    from core.ratelimit import client_address

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}))
    assert client_address(request) == expected
