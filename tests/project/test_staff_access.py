"""Staff outside the admin see what the admin would show them (issue 16, finding 6): the is_staff flag alone opens
no other customer's designs, originals, batches, orders, mockups, statistics or metrics."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from designs import services as design_services
from mockups.models import Mockup
from orders import services as order_services
from orders.models import Product
from tests.conftest import design_image, encode, upload_file
from tests.mockups.conftest import make_template
from tests.ops.test_health import UNREACHABLE_REDIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_world(user):
    """Alice's design (processed, with its file stored), batch, order and mockup."""
    result = design_services.design_batch_upload(
        owner=user, files=[upload_file("logo.png", encode(design_image(1, size=(400, 300)), "PNG"))])
    design = result.accepted[0].design
    assert design_services.design_process(design_id=design.pk) == "ready"
    product = Product.objects.create(name="Classic tee", price="19.90", sizes="S,M,L", colors="white")
    order = order_services.order_create(email="alice@example.com", name="Alice Secret", user=user, items=[
        {"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "white", "quantity": 1}])
    template = make_template()
    mockup = Mockup.objects.create(design=design, template=template, owner=user)
    return {"design": design, "batch": result.batch, "order": order, "template": template, "mockup": mockup}


def staff_client(django_user_model, *perms, name="clerk"):
    """A logged-in staff member (not a superuser) holding exactly `perms` ("app.codename")."""
    clerk = django_user_model.objects.create_user(name, f"{name}@example.com", f"{name}-password-1", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        clerk.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(clerk)
    return client


# (what, URL from the world, the permissions that open it)
ENDPOINTS = [
    ("design API", lambda w: f"/api/designs/{w['design'].pk}", ["designs.view_design"]),
    ("design page", lambda w: f"/designs/{w['design'].pk}/", ["designs.view_design"]),
    ("original download", lambda w: f"/designs/{w['design'].pk}/original", ["designs.view_design"]),
    ("batch API", lambda w: f"/api/uploads/{w['batch'].pk}", ["designs.view_uploadbatch", "designs.view_design"]),
    ("order API", lambda w: f"/api/orders/{w['order'].pk}", ["orders.view_order"]),
    ("order page", lambda w: f"/orders/{w['order'].pk}/", ["orders.view_order"]),
    ("mockup API", lambda w: f"/api/mockups/{w['mockup'].pk}", ["mockups.view_mockup"]),
]


@pytest.mark.parametrize(("what", "url", "perms"), ENDPOINTS, ids=[entry[0] for entry in ENDPOINTS])
def test_staff_see_another_customers_object_only_with_its_view_permission(
    customer_world, django_user_model, what, url, perms
):
    url = url(customer_world)
    bare = staff_client(django_user_model, name="bare")
    assert bare.get(url).status_code == 404, f"{what}: the staff flag alone must not open it"
    if len(perms) > 1:  # each permission is needed, not any one of them
        for index in range(len(perms)):
            partial = staff_client(django_user_model, *(perms[:index] + perms[index + 1:]), name=f"partial{index}")
            assert partial.get(url).status_code == 404, f"{what} without {perms[index]}"
    allowed = staff_client(django_user_model, *perms, name="viewer")
    response = allowed.get(url)
    assert response.status_code == 200, f"{what} with {perms}: {response.status_code}"
    if what == "order API":
        assert response.json()["email"] == "alice@example.com"


def test_a_staff_member_without_permissions_still_sees_their_own_objects(django_user_model):
    bare = django_user_model.objects.create_user("bare", "bare@example.com", "bare-password-1", is_staff=True)
    result = design_services.design_batch_upload(
        owner=bare, files=[upload_file("mine.png", encode(design_image(2, size=(200, 150)), "PNG"))])
    client = Client()
    client.force_login(bare)
    design_id = result.accepted[0].design.pk
    assert client.get(f"/api/designs/{design_id}").status_code == 200
    assert client.get(f"/designs/{design_id}/").status_code == 200
    assert client.get(f"/api/uploads/{result.batch.pk}").status_code == 200


def test_a_superuser_still_sees_everything(customer_world, staff_user, client):
    client.force_login(staff_user)
    for _, url, _ in ENDPOINTS:
        assert client.get(url(customer_world)).status_code == 200, url(customer_world)
    assert client.get("/api/stats").status_code == 200


def test_stats_need_the_permissions_the_dashboard_shows_data_of(customer_world, django_user_model):
    bare = staff_client(django_user_model, name="bare")
    refused = bare.get("/api/stats")
    assert refused.status_code == 403 and refused.json()["details"]["permissions"] == ["orders.view_order",
                                                                                       "designs.view_design"]
    assert staff_client(django_user_model, "orders.view_order", name="orders").get("/api/stats").status_code == 403
    allowed = staff_client(django_user_model, "orders.view_order", "designs.view_design", name="both")
    response = allowed.get("/api/stats")
    assert response.status_code == 200 and response.json()["orders"]["total"] == 1


def test_the_admin_dashboard_shows_only_to_staff_with_those_permissions(customer_world, django_user_model):
    orders_only = staff_client(django_user_model, "orders.view_order", name="orders")
    page = orders_only.get("/admin/")
    assert page.status_code == 200 and b"Today at Threadline" not in page.content
    both = staff_client(django_user_model, "orders.view_order", "designs.view_design", name="both")
    assert b"Today at Threadline" in both.get("/admin/").content


def test_mockups_on_another_customers_design_need_view_design_and_add_mockup(customer_world, django_user_model):
    design, template = customer_world["design"], customer_world["template"]
    url, body = f"/api/designs/{design.pk}/mockups", {"template": str(template.pk)}
    Mockup.objects.all().delete()  # the world's mockup would make any request an idempotent repeat
    bare = staff_client(django_user_model, name="bare")
    assert bare.post(url, body, content_type="application/json").status_code == 404
    viewer = staff_client(django_user_model, "designs.view_design", name="viewer")
    refused = viewer.post(url, body, content_type="application/json")
    assert refused.status_code == 403 and "mockups" in refused.json()["error"]
    assert not Mockup.objects.exists()
    maker = staff_client(django_user_model, "designs.view_design", "mockups.add_mockup", name="maker")
    assert maker.post(url, body, content_type="application/json").status_code == 202
    assert Mockup.objects.get().owner_id == design.owner_id


def test_the_design_page_lists_another_customers_mockups_only_with_view_mockup(customer_world, django_user_model):
    url = f"/designs/{customer_world['design'].pk}/"
    marker = f'data-mockup="{customer_world["mockup"].pk}"'.encode()
    viewer = staff_client(django_user_model, "designs.view_design", name="viewer")
    assert marker not in viewer.get(url).content
    both = staff_client(django_user_model, "designs.view_design", "mockups.view_mockup", name="both")
    assert marker in both.get(url).content


def test_metrics_need_the_metrics_permission_not_just_the_staff_flag(django_user_model):
    assert staff_client(django_user_model, name="bare").get("/metrics").status_code == 403
    response = staff_client(django_user_model, "ops.view_metrics", name="ops").get("/metrics")
    assert response.status_code == 200 and b"threadline_http_request_duration_seconds" in response.content


@UNREACHABLE_REDIS
def test_health_details_need_the_metrics_permission(django_user_model):
    bare = staff_client(django_user_model, name="bare").get("/healthz")
    assert bare.status_code == 503 and "details" not in bare.json()
    ops = staff_client(django_user_model, "ops.view_metrics", name="ops").get("/healthz")
    assert ops.status_code == 503 and "127.0.0.1:1" in ops.json()["details"]["cache"]
