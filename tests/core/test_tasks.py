"""core.tasks.enqueue: after the commit, over the process's one broker."""

import pytest

from core.tasks import broker, enqueue
from tests.support.tasks import count_users_plus

pytestmark = pytest.mark.django_db


@pytest.mark.redis
def test_tasks_are_enqueued_over_one_redis_connection(django_capture_on_commit_callbacks):
    """django-q2 makes a new Redis connection pool for every task it is not handed a broker for: a new connection
    (and its handshake) per task, inside the request that enqueues it."""
    queue = broker()
    queue.purge_queue()
    server = queue.connection
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enqueue(count_users_plus, 0)  # the first may open the pool's connection
        accepted = server.info("stats")["total_connections_received"]
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(5):
                enqueue(count_users_plus, n)
        assert queue.queue_size() == 6
        assert server.info("stats")["total_connections_received"] == accepted
    finally:
        queue.purge_queue()  # this run's queue: no worker is to run these


def test_the_broker_is_made_once_per_process():
    assert broker() is broker()
