"""The production tools in the admin: print files zip, packing slip PDF, production queue."""

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from pypdf import PdfReader

from orders import production
from orders.models import Order, Product
from tests.support.production import LINES, order_in_production

pytestmark = pytest.mark.django_db


def zip_url(order):
    return f"/admin/orders/order/{order.pk}/print-files.zip"


def pdf_url(order):
    return f"/admin/orders/order/{order.pk}/packing-slip.pdf"


QUEUE_URL = "/admin/orders/order/production-queue/"


def unzip(response):
    assert response.status_code == 200, response.content[:300]
    assert response.streaming and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {info.filename: archive.read(info) for info in archive.infolist()}


def expected_files(order, designs):
    from django.core.files.storage import default_storage

    number = order.display_number
    original = {name: default_storage.open(design.original_key).read() for name, design in designs.items()}
    return {
        f"{number}-1-M-black.png": original["logo.png"],
        f"{number}-2-XL-heather-grey.jpg": original["wave.jpg"],
        f"{number}-3-S-white.png": original["logo.png"],
    }


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_print_files_zip_holds_each_lines_original_under_its_production_name(staff, user):
    order, designs = order_in_production(user)
    assert unzip(staff.get(zip_url(order))) == expected_files(order, designs)


def test_print_files_are_read_from_storage_while_the_zip_is_sent(staff, user, monkeypatch):
    order, _ = order_in_production(user)
    opened = []
    from django.core.files.storage import default_storage

    real_open = default_storage.open
    monkeypatch.setattr(default_storage, "open", lambda key, mode="rb": opened.append(key) or real_open(key, mode))
    response = staff.get(zip_url(order))
    assert opened == []  # the answer starts before any file is read: nothing is built in memory first
    files_open_per_chunk = [len(opened) for _ in response.streaming_content]
    assert {1, 2, 3} <= set(files_open_per_chunk)  # one file after the other while the zip goes out
    assert len(opened) == 3


def test_production_tools_need_the_view_permission(client, user, order_staff, django_user_model):
    order, _ = order_in_production(user)
    client.force_login(user)  # the customer who placed it
    for url in (zip_url(order), pdf_url(order), QUEUE_URL):
        assert client.get(url).status_code == 403
    plain_staff = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(plain_staff)
    for url in (zip_url(order), pdf_url(order), QUEUE_URL):
        assert client.get(url).status_code == 403
    client.force_login(order_staff)
    assert client.get(zip_url(order)).status_code == 200
    assert client.get(pdf_url(order)).status_code == 200
    assert client.get(QUEUE_URL).status_code == 200
    client.logout()
    assert client.get(zip_url(order)).status_code == 302  # to the admin's log-in page


@pytest.fixture
def order_staff(django_user_model):
    member = django_user_model.objects.create_user("packer", "packer@example.com", "pw", is_staff=True)
    member.user_permissions.add(Permission.objects.get(codename="view_order"))
    return member


def test_an_unknown_order_is_a_404(staff):
    assert staff.get("/admin/orders/order/00000000-0000-0000-0000-000000000000/print-files.zip").status_code == 404
    assert staff.get("/admin/orders/order/00000000-0000-0000-0000-000000000000/packing-slip.pdf").status_code == 404


def pdf_text(response):
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    reader = PdfReader(io.BytesIO(response.content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_packing_slip_has_the_number_address_every_line_and_a_qr_code(staff, user):
    order, designs = order_in_production(user)
    reader, text = pdf_text(staff.get(pdf_url(order)))
    assert order.display_number in text
    # DejaVu covers the name's letters; the address is the one the order ships to
    for line in ("Zoë Łukasiewicz-Ünal", "Rue du Marché 12", "Bâtiment B", "1204 Genève", "Switzerland",
                 "+41 22 555 01 23", user.email):
        assert line in text.splitlines(), text
    words = " ".join(text.split())  # a table cell per text line
    for index, (file, _, size, colour, quantity) in enumerate(LINES, start=1):
        assert f"{index} Classic tee {designs[file].title} {size} {colour} {quantity}" in words, text
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == len(designs) == 2  # a thumbnail per design, stored once (the QR code is vector graphics)


def test_packing_slip_prints_cyrillic_and_greek_names(staff, user):
    order, _ = order_in_production(user, name="Анна Σοφία")
    _, text = pdf_text(staff.get(pdf_url(order)))
    assert "Анна Σοφία" in text


def test_packing_slip_of_an_order_without_an_address_names_the_customer(staff, user):
    order, _ = order_in_production(user, address=None)  # the API may leave it out
    _, text = pdf_text(staff.get(pdf_url(order)))
    assert "Zoë Łukasiewicz-Ünal" in text.splitlines() and user.email in text.splitlines()


def test_production_queue_counts_garments_by_product_colour_and_size(staff, user, other_user):
    product = Product.objects.create(name="Classic tee", price=Decimal("12.00"), sizes="S,M,L,XL",
                                     colors="black,white,heather grey")
    order_in_production(user, product=product)
    order_in_production(other_user, product=product, lines=[("logo.png", "PNG", "M", "black", 4)])
    waiting, _ = order_in_production(user, product=product, lines=[("logo.png", "PNG", "L", "black", 9)])
    Order.objects.filter(pk=waiting.pk).update(status=Order.Status.RECEIVED)  # not in production: not counted

    rows = production.production_queue()
    assert [(row.product, row.color, row.size, row.garments, row.orders) for row in rows] == [
        ("Classic tee", "black", "M", 7, 2),
        ("Classic tee", "heather grey", "XL", 2, 1),
        ("Classic tee", "white", "S", 5, 1),
    ]
    page = staff.get(QUEUE_URL).content.decode()
    assert "heather grey" in page and ">14<" in page  # the total


def test_production_queue_filters_by_the_day_orders_were_placed(staff, user):
    old, _ = order_in_production(user, lines=[("logo.png", "PNG", "M", "black", 4)])
    order_in_production(user, lines=[("logo.png", "PNG", "S", "black", 1)])
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()

    rows = production.production_queue(created_from=today - timedelta(days=1))
    assert [(row.size, row.garments) for row in rows] == [("S", 1)]
    rows = production.production_queue(created_to=today - timedelta(days=9))
    assert [(row.size, row.garments) for row in rows] == [("M", 4)]
    page = staff.get(QUEUE_URL, {"created_from": "2026-13-40"})
    assert page.status_code == 200 and "Enter a valid date." in page.content.decode()
    page = staff.get(QUEUE_URL, {"created_from": today.isoformat(), "created_to": (today - timedelta(1)).isoformat()})
    assert "The first date must not be after the second." in page.content.decode()


def test_production_queue_runs_a_fixed_number_of_queries(staff, user, django_assert_max_num_queries):
    product = Product.objects.create(name="Classic tee", price=Decimal("12.00"), sizes="S,M,L,XL",
                                     colors="black,white,heather grey")
    order_in_production(user, product=product)
    with django_assert_max_num_queries(8) as few:
        staff.get(QUEUE_URL)
    for size in ("S", "M", "L", "XL"):
        other = Product.objects.create(name=f"Hoodie {size}", price=Decimal("30.00"), sizes=size, colors="navy")
        order_in_production(user, product=other, lines=[("logo.png", "PNG", size, "navy", 2)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = staff.get(QUEUE_URL)
    assert page.content.decode().count("navy") == 4


def test_the_order_page_and_the_dashboard_link_to_the_tools(staff, user):
    order, _ = order_in_production(user)
    page = staff.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f'href="{zip_url(order)}"' in page and f'href="{pdf_url(order)}"' in page
    assert f'href="{QUEUE_URL}"' in staff.get("/admin/").content.decode()
