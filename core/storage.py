"""Content-addressed writes to the configured storage, concurrent on S3 over reused connections."""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.core.files.storage import default_storage, storages
from storages.backends.s3 import S3Storage

logger = logging.getLogger(__name__)

S3_UPLOAD_THREADS = 4  # concurrent PUTs per web process; each thread keeps its own S3 connection (django-storages)

# Module-level, so the threads, and with them S3's per-thread connections, outlive a request.
_upload_pool = ThreadPoolExecutor(max_workers=S3_UPLOAD_THREADS, thread_name_prefix="storage-upload")


def store(key, content):
    """Write `content` (a file object) under `key`, replacing whatever is there; returns the key."""
    saved = default_storage.save(key, content)
    if saved != key:
        raise RuntimeError(f"storage renamed {key!r} to {saved!r}; content-addressed keys must be kept")
    return saved


def store_many(items):
    """Store [(key, file)] and return {key: None or the exception}: one failed file must not sink the batch.

    Concurrent on S3 over reused connections; sequential over one connection otherwise (SFTP's client is not
    thread-safe, and a local disk gains nothing from threads).
    """
    if isinstance(storages["default"], S3Storage):
        futures = {key: _upload_pool.submit(store, key, content) for key, content in items}
        outcomes = {key: future.exception() for key, future in futures.items()}
        for key, error in outcomes.items():
            if error is not None:
                logger.error("could not store %s: %s", key, error)
        return outcomes
    outcomes = {}
    for key, content in items:
        try:
            store(key, content)
            outcomes[key] = None
        except Exception as error:
            logger.exception("could not store %s", key)
            outcomes[key] = error
    return outcomes
