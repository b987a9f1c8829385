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
