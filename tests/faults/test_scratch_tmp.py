import time
import pytest
from django.db import connection
from designs import services
from designs.models import Design
from tests.conftest import design_image, encode, upload_file, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

def test_baseline(cluster, user):
    t0 = time.monotonic()
    files = [upload_file(f"a-{n:03d}.png", encode(design_image(n, size=(400, 300)), "PNG")) for n in range(100)]
    t1 = time.monotonic()
    c = cluster(workers=2)
    batch = services.design_batch_upload(owner=user, files=files).batch
    t2 = time.monotonic()
    def done():
        connection.close()
        return not Design.objects.filter(batch=batch, status__in=["queued", "processing"]).exists()
    wait_for(done, timeout=120, interval=0.5)
    t3 = time.monotonic()
    print("encode", t1-t0, "upload", t2-t1, "process", t3-t2)
