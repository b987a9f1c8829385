"""Renaming and deleting designs: the service's rules, the API and the design page's forms."""

import json
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from designs import services
from designs.models import THUMBNAIL_SIZES, Design, thumbnail_key
from orders.models import Product
from orders.services import order_create
from tests.conftest import design_image, encode, upload_file
from tests.orders.conftest import create_design

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_design():
    return create_design


def processed(owner, *files, capture):
    """Upload (name, bytes) files for `owner` and process them; the designs, in order."""
    with capture(execute=False):
        result = services.design_batch_upload(owner=owner, files=[upload_file(name, data) for name, data in files])
    for item in result.accepted:
        if item.design.status == "queued":
            services.design_process(design_id=item.design.pk)
    return [Design.objects.get(pk=item.design.pk) for item in result.accepted]


def file_keys(design):
    return [design.original_key, *(thumbnail_key(design.sha256, size) for size in THUMBNAIL_SIZES)]


def stored(design):
    return [default_storage.exists(key) for key in file_keys(design)]


def ordered(user, design):
    product = Product.objects.create(name="Tee", price=Decimal("10.00"), sizes="M", colors="black")
    return order_create(email=user.email, name="Alice", user=user,
                        items=[{"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "black",
                                "quantity": 1}])


def patch(client, design, body):
    return client.patch(f"/api/designs/{design.pk}", json.dumps(body), content_type="application/json")


def test_rename_through_the_api_answers_the_design_with_its_new_title(alice, user, django_capture_on_commit_callbacks):
    (design,) = processed(user, ("a.png", encode(design_image(1))), capture=django_capture_on_commit_callbacks)
    response = patch(alice, design, {"title": "  Summer logo  "})
    assert response.status_code == 200
    assert response.json()["title"] == "Summer logo"
    assert Design.objects.get(pk=design.pk).title == "Summer logo"
    assert alice.get(f"/api/designs/{design.pk}").json()["title"] == "Summer logo"


@pytest.mark.parametrize("body", [{"title": ""}, {"title": "   "}, {"title": 12}, {}, {"title": "x" * 201}])
def test_rename_refuses_a_blank_or_overlong_title_with_a_message(alice, user, make_design, body):
    design = make_design(user, title="Kept")
    response = patch(alice, design, body)
    assert response.status_code == 400 and "title" in response.json()["error"].lower()
    assert Design.objects.get(pk=design.pk).title == "Kept"


def test_rename_and_delete_of_another_customers_design_are_404(client, other_user, user, make_design, staff_user):
    design = make_design(user, title="Alice's")
    for someone in (other_user, staff_user):  # staff may look, but a design is renamed and deleted by its owner
        client.force_login(someone)
        assert patch(client, design, {"title": "Mine now"}).status_code == 404
        assert client.delete(f"/api/designs/{design.pk}").status_code == 404
        assert client.post(f"/designs/{design.pk}/rename", {"title": "Mine now"}).status_code == 404
        assert client.post(f"/designs/{design.pk}/rename", {"title": ""}).status_code == 404  # not a form error
        assert patch(client, design, {}).status_code == 404
        assert client.post(f"/designs/{design.pk}/delete").status_code == 404
    assert Design.objects.get(pk=design.pk).title == "Alice's"


def test_delete_removes_the_row_and_its_files(alice, user, django_capture_on_commit_callbacks):
    (design,) = processed(user, ("a.png", encode(design_image(2))), capture=django_capture_on_commit_callbacks)
    assert stored(design) == [True, True, True]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.delete(f"/api/designs/{design.pk}")
    assert response.status_code == 204
    assert not Design.objects.filter(pk=design.pk).exists()
    assert stored(design) == [False, False, False]
    assert alice.get(f"/api/designs/{design.pk}").status_code == 404


def test_files_stay_while_another_row_has_the_same_content(user, other_user, django_capture_on_commit_callbacks):
    data = encode(design_image(3))
    first, copy = processed(user, ("a.png", data), ("copy.png", data), capture=django_capture_on_commit_callbacks)
    (theirs,) = processed(other_user, ("b.png", data), capture=django_capture_on_commit_callbacks)
    assert copy.status == "duplicate" and theirs.sha256 == first.sha256

    with django_capture_on_commit_callbacks(execute=True):
        services.design_delete(design_id=first.pk, owner=user)
    assert stored(first) == [True, True, True]  # the copy and the other customer's design still use them
    with django_capture_on_commit_callbacks(execute=True):
        services.design_delete(design_id=copy.pk, owner=user)
    assert stored(first) == [True, True, True]
    with django_capture_on_commit_callbacks(execute=True):
        services.design_delete(design_id=theirs.pk, owner=other_user)
    assert stored(first) == [False, False, False]


def test_a_design_used_by_an_order_is_kept_and_says_so(alice, user, django_capture_on_commit_callbacks):
    (design,) = processed(user, ("a.png", encode(design_image(4))), capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        ordered(user, design)
    response = alice.delete(f"/api/designs/{design.pk}")
    assert response.status_code == 409
    assert response.json()["error"] == "This design is kept: 1 order uses it."
    assert Design.objects.filter(pk=design.pk).exists() and stored(design) == [True, True, True]

    page = alice.get(f"/designs/{design.pk}/").content.decode()
    assert "This design is kept: 1 order uses it, so it cannot be deleted." in page
    assert f'action="/designs/{design.pk}/delete"' not in page
    page = alice.post(f"/designs/{design.pk}/delete", follow=True)  # a form left open from before the order
    assert '<li class="error">This design is kept: 1 order uses it.</li>' in page.content.decode()
    assert Design.objects.filter(pk=design.pk).exists()


def test_the_design_page_renames_and_deletes(alice, user, make_design, django_capture_on_commit_callbacks):
    design = make_design(user, title="Old name")
    page = alice.get(f"/designs/{design.pk}/").content.decode()
    assert f'action="/designs/{design.pk}/rename"' in page and f'action="/designs/{design.pk}/delete"' in page

    response = alice.post(f"/designs/{design.pk}/rename", {"title": "New name"}, follow=True)
    assert "<h1>New name</h1>" in response.content.decode() and "Design renamed." in response.content.decode()
    response = alice.post(f"/designs/{design.pk}/rename", {"title": " "}, follow=True)
    assert "Enter a title for the design." in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(f"/designs/{design.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/designs/"
    assert not Design.objects.filter(pk=design.pk).exists()


def test_only_the_owner_sees_the_rename_and_delete_forms(client, staff_user, user, make_design):
    design = make_design(user, title="Alice's")
    client.force_login(staff_user)
    page = client.get(f"/designs/{design.pk}/").content.decode()
    assert "Alice&#x27;s" in page and "/rename" not in page
