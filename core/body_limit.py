"""An ASGI wrapper that refuses a request body over a size limit before the app reads it (issue 16, finding 8).

A declared `Content-Length` over the limit is answered 413 at once, its body never read; a chunked body is cut off
with a 413 as soon as it passes the limit, and the app sees the client gone. Under /api/ the answer is the JSON
error shape; elsewhere a plain page.
"""

import json

API_PREFIX = "/api/"


class RequestBodyLimit:
    def __init__(self, app, *, max_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:  # the server parsed it
            return await self.refuse(scope, send)
        refused = False
        received = 0

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    await self.refuse(scope, send)
                    return {"type": "http.disconnect"}  # the app gives up as for a client that went away
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def refuse(self, scope, send):
        megabytes = self.max_bytes // (1024 * 1024)
        if scope["path"].startswith(API_PREFIX):
            body = json.dumps({"error": f"The request body is over {megabytes} MB."}).encode()
            content_type = b"application/json"
        else:
            body = f"Request too large: the limit is {megabytes} MB.\n".encode()
            content_type = b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", content_type), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})  # the unread body must not be taken for the next request
        await send({"type": "http.response.body", "body": body})
