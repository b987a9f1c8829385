"""Django's ASGI handler, serving a process's requests in one thread and streaming file responses.

Django gives each request its own thread (a ThreadSensitiveContext per request). Threads of one process only queue
for the GIL, and each held a pooled database connection while it waited: a burst of log-ins (PBKDF2) took every
connection and the rest answered 503. Without that context every view runs in asgiref's one sync thread, as in a
sync gunicorn worker, while the event loop still reads bodies and sends responses.

Django also loads the middleware for async and adapts each synchronous method by a hop between the event loop and
that thread ("a performance penalty of around a millisecond" each, Django's async docs); with our middleware that
is about a dozen hops a request. Here the chain is loaded synchronously, as for WSGI, and entered in one hop.

Django consumes such an iterator into a list before sending it (with a warning), so each download of a 60 MB
original sat in memory while the client read it. Here the iterator is read in the request thread a batch at a time,
and the event loop sends each batch before the next is read; between batches the thread serves other requests.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

BATCH_BYTES = 256 * 1024  # per hop to the request thread: FileResponse reads 4 KB blocks


def _next_batch(iterator):
    batch = bytearray()
    for part in iterator:
        batch += part
        if len(batch) >= BATCH_BYTES:
            break
    return bytes(batch)


async def _batches(iterator):
    next_batch = sync_to_async(_next_batch, thread_sensitive=True)  # the thread the view ran in, as under WSGI
    while batch := await next_batch(iterator):
        yield batch


class StreamingASGIHandler(ASGIHandler):
    def __init__(self):
        super(ASGIHandler, self).__init__()
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def send_response(self, response, send):
        if response.streaming and not response.is_async:
            response.streaming_content = _batches(iter(response.streaming_content))
        await super().send_response(response, send)
