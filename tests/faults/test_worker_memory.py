"""One worker process processing designs one after another does not grow: its resident memory after the last one is
within 10% of what it was after the first hundred."""

import hashlib
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection

from core.storage import store
from designs.models import Design, original_key
from tests.conftest import design_image, encode
from tests.faults.conftest import run_django

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# 1000 designs took 35 s on this machine (2 cores, shared with other test runs): within the minute allowed for CI.
DESIGNS = 1000
DISTINCT_FILES = 200  # each owner gets every file once: no exact duplicates, every row really processed
WARM_UP = 100  # the measurement starts here: imports, caches and the database connection are in place by then
GROWTH_LIMIT = 0.10


def test_a_worker_processing_designs_in_a_row_does_not_grow(worker_env):
    files = []
    for seed in range(DISTINCT_FILES):
        data = encode(design_image(seed, size=(400, 300)), "PNG")
        sha = hashlib.sha256(data).hexdigest()
        store(original_key(sha, "PNG"), ContentFile(data))
        files.append(sha)
    owners = [get_user_model().objects.create_user(f"owner{n}") for n in range(DESIGNS // DISTINCT_FILES)]
    Design.objects.bulk_create([
        Design(owner=owner, title=f"Design {n}", original_name=f"design-{n}.png", sha256=sha, format="PNG",
               width=400, height=300)
        for owner in owners for n, sha in enumerate(files)
    ])
    connection.close()  # SQLite: the worker needs the database to itself

    report = json.loads(run_django(worker_env, f"""
        import json, time
        from designs.models import Design
        from designs.services import design_process

        def resident_kb():
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

        queued = Design.objects.filter(status="queued").order_by("owner_id", "title", "id")
        ids = list(queued.values_list("pk", flat=True))
        rss, started = {{}}, time.monotonic()
        for n, design_id in enumerate(ids, 1):
            design_process(design_id=design_id)
            if n in ({WARM_UP}, len(ids)):
                rss[n] = resident_kb()
        print(json.dumps({{"count": len(ids), "rss_kb": rss, "seconds": time.monotonic() - started}}))
    """, timeout=600))

    assert report["count"] == DESIGNS
    assert Design.objects.filter(status__in=["queued", "processing", "failed"]).count() == 0
    at_warm_up, at_end = report["rss_kb"][str(WARM_UP)], report["rss_kb"][str(DESIGNS)]
    growth = (at_end - at_warm_up) / at_warm_up
    measured = (f"VmRSS {at_warm_up} kB after {WARM_UP} designs, {at_end} kB after {DESIGNS} ({growth:+.1%}), "
                f"{report['seconds']:.0f} s")
    print(measured)  # shown with -rP
    assert growth <= GROWTH_LIMIT, measured
