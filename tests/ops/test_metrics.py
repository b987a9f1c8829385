import pytest

pytestmark = pytest.mark.django_db


def test_metrics_are_for_staff_or_the_allow_list(client, user, settings):
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 403
    client.force_login(user)
    assert client.get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics").status_code == 200


def test_metrics_expose_latency_by_view_and_the_state_of_work(client, staff_user):
    client.force_login(staff_user)
    client.get("/")
    client.get("/designs/")
    body = client.get("/metrics").content.decode()
    assert 'threadline_http_request_duration_seconds_bucket{view="home",le="+Inf"}' in body
    assert 'threadline_http_request_duration_seconds_count{view="designs:gallery"}' in body
    assert 'threadline_designs{status="ready"} 0' in body
    assert 'threadline_mails{status="queued"} 0' in body
    assert "threadline_queue_depth " in body


def test_request_counts_reach_redis_in_batches_not_one_round_trip_each(monkeypatch):
    import time
    import uuid

    from ops import metrics

    if metrics._redis() is None:
        pytest.skip("needs Redis: set REDIS_URL")
    redis, key, view = metrics._redis(), metrics._redis_key(), f"test-{uuid.uuid4().hex}"
    monkeypatch.setattr(metrics, "_last_flush", time.monotonic())  # as if this process had just flushed
    for _ in range(3):
        metrics.record_request(view, 200, 0.01)
    assert redis.hget(key, f"{view}|count") is None  # counted in the process for now

    monkeypatch.setattr(metrics, "_last_flush", 0.0)  # a second later
    metrics.record_request(view, 500, 0.2)
    assert int(redis.hget(key, f"{view}|count")) == 4
    assert int(redis.hget(key, f"{view}|errors")) == 1
    assert float(redis.hget(key, f"{view}|sum")) == pytest.approx(0.23)
