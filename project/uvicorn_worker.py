"""The gunicorn worker class of gunicorn.conf.py: uvicorn's, reading request bodies on its event loop."""

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    # Forwarded headers are Django's to read (SECURE_PROXY_SSL_HEADER, TRUSTED_PROXY_COUNT), not the server's;
    # Django has no lifespan protocol.
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "proxy_headers": False, "lifespan": "off"}
