"""An order's print files zip and packing slip read from S3 and SFTP (real servers on loopback)."""

import io
import zipfile

import pytest
from pypdf import PdfReader

from tests.support.production import order_in_production

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_print_files_zip_reads_each_original_from_the_configured_storage(backend, client, staff_user, user):
    order, designs = order_in_production(user)
    assert {design.original_key for design in designs.values()} <= backend.keys()  # stored there, not on disk
    client.force_login(staff_user)
    response = client.get(f"/admin/orders/order/{order.pk}/print-files.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    number = order.display_number
    assert {info.filename: archive.read(info) for info in archive.infolist()} == {
        f"{number}-1-M-black.png": backend.read(designs["logo.png"].original_key),
        f"{number}-2-XL-heather-grey.jpg": backend.read(designs["wave.jpg"].original_key),
        f"{number}-3-S-white.png": backend.read(designs["logo.png"].original_key),
    }


def test_packing_slip_thumbnails_come_from_the_configured_storage(backend, client, staff_user, user):
    order, designs = order_in_production(user)
    client.force_login(staff_user)
    reader = PdfReader(io.BytesIO(client.get(f"/admin/orders/order/{order.pk}/packing-slip.pdf").content))
    assert order.display_number in reader.pages[0].extract_text()
    assert len(reader.pages[0].images) == len(designs)
