"""An ASGI wrapper that closes each connection after its response, as gunicorn's sync workers did.

A process serves one request at a time, and a kept-alive connection ties the client's next request to the process
that answered the last one, to wait there while another process idles. A new connection goes to whichever process's
event loop accepts it first, and an idle one wins. Behind deploy/nginx.conf (HTTP/1.0 to the upstream) this changes
nothing; it makes `make run` and a direct client behave the same way.
"""


class OneRequestPerConnection:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_closing(message):
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
