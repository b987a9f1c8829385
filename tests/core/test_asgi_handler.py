"""core.asgi_handler: a process's views share one thread; a synchronous response iterator is sent in bounded batches,
every byte in order."""

import asyncio
import threading
import time

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from core.asgi_handler import BATCH_BYTES, StreamingASGIHandler, _batches

view_threads = []


def record_thread(request):
    view_threads.append(threading.get_ident())
    time.sleep(0.02)  # long enough for the other requests to arrive meanwhile
    return HttpResponse("ok")


urlpatterns = [path("thread/", record_thread)]


async def _get(application, path):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent, messages = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected: Django listens for a disconnect meanwhile

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"]


def _threads_of_concurrent_requests(application, count=6):
    view_threads.clear()

    async def burst():
        return await asyncio.gather(*(_get(application, "/thread/") for _ in range(count)))

    assert asyncio.run(burst()) == [200] * count
    return set(view_threads)


@pytest.mark.parametrize("handler, threads", [(StreamingASGIHandler, 1), (ASGIHandler, 6)])
@override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"])
def test_concurrent_requests_share_one_thread_where_django_starts_one_each(handler, threads):
    # One thread holds one pooled database connection; Django's own handler gives each request its own.
    assert len(_threads_of_concurrent_requests(handler())) == threads


def test_a_sync_iterator_is_sent_in_bounded_batches():
    blocks = [bytes([n % 251]) * 4096 for n in range(300)]  # 1.2 MB in FileResponse's 4 KB blocks

    async def collect():
        return [batch async for batch in _batches(iter(blocks))]

    batches = asyncio.run(collect())
    assert b"".join(batches) == b"".join(blocks)
    assert len(batches) == 5 and all(len(batch) <= BATCH_BYTES for batch in batches)



@pytest.mark.parametrize("handler, is_async", [(StreamingASGIHandler, False), (ASGIHandler, True)])
def test_the_middleware_chain_is_synchronous_where_django_adapts_each_method(handler, is_async):
    # An async chain hops between the event loop and the view thread for every synchronous middleware method.
    assert asyncio.iscoroutinefunction(handler()._middleware_chain) is is_async
