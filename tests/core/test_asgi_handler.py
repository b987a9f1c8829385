"""core.asgi_handler: a synchronous response iterator is sent in bounded batches, every byte in order."""

import asyncio

from core.asgi_handler import BATCH_BYTES, _batches


def test_a_sync_iterator_is_sent_in_bounded_batches():
    blocks = [bytes([n % 251]) * 4096 for n in range(300)]  # 1.2 MB in FileResponse's 4 KB blocks

    async def collect():
        return [batch async for batch in _batches(iter(blocks))]

    batches = asyncio.run(collect())
    assert b"".join(batches) == b"".join(blocks)
    assert len(batches) == 5 and all(len(batch) <= BATCH_BYTES for batch in batches)
