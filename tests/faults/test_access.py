"""Access sweep over every URL that takes an object id, CSRF on every unsafe request, and the rate limit on uploads
(the log-in lockout: tests/accounts/test_lockout.py).

The sweep walks the URL configuration itself, so a new route with an id fails here until it says who may use it.
"""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core import ratelimit
from designs import services as design_services
from marketplace.models import Listing, ShopConnection
from mockups.models import GarmentTemplate, Mockup
from orders import services as order_services
from orders.models import Product
from tests.conftest import design_image, encode, upload_file

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db]


@dataclass(frozen=True)
class Access:
    staff: bool  # may staff use it on another user's object?
    why: str = ""


# Every route with an object id in it, and whether staff (a superuser here) may use it on someone else's object.
# A staff member without permissions never may: tests/project/test_staff_access.py checks each permission.
ID_ROUTES = {
    "designs:detail": Access(staff=True),
    "designs:original": Access(staff=True),
    "designs:not_duplicate": Access(staff=False, why="whether a design is a copy is its owner's word"),
    "designs:rename": Access(staff=False, why="a design is renamed and deleted by its owner alone"),
    "designs:delete": Access(staff=False, why="a design is renamed and deleted by its owner alone"),
    "orders:detail": Access(staff=True),
    "orders:proof_decide": Access(staff=False, why="the customer approves a proof; staff work from the admin"),
    "orders:address": Access(staff=False, why="the customer adds the address; staff edit it in the admin"),
    "designs_api:upload_status": Access(staff=True),
    "designs_api:upload_add_files": Access(staff=False, why="files go into their owner's batches only"),
    "designs_api:design_detail": Access(staff=True),
    "orders_api:order_detail": Access(staff=True),
    "mockups_api:mockup_create": Access(staff=True, why="staff with add_mockup may preview any design on a garment"),
    "mockups_api:mockup_status": Access(staff=True),
    "marketplace_api:listing_create": Access(staff=False, why="a shop is its owner's alone"),
    "marketplace_api:listing_detail": Access(staff=False, why="a shop is its owner's alone"),
    "marketplace:disconnect": Access(staff=False, why="a shop is its owner's alone"),
    "marketplace:publish": Access(staff=False, why="a shop is its owner's alone"),
}
# Content-addressed files: public by design (immutable, cached by anyone), named by a digest, not an id.
CONTENT_ADDRESSED = {"designs:thumbnail", "mockups_api:mockup_preview", "mockups_api:mockup_image",
                     "mockups_api:template_preview", "mockups_api:template_photo"}
PUBLIC = {"home", "healthz", "metrics", "signup", "login", "logout", "orders_api:product_list", "password_reset",
          "password_reset_done", "password_reset_complete", "openapi"}
# Named by a one-use token, not an id: the token is the credential (Django's password reset).
TOKEN_ROUTES = {"password_reset_confirm"}
# Unsafe requests the sweep makes: destructive ones go last, after every other check on the route.
DESTRUCTIVE = {"marketplace:disconnect"}


def routes():
    """(name, [parameter names]) of every named route outside the admin."""

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part) or None
                if pattern.namespace != "admin":
                    yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, list(pattern.pattern.converters)

    return sorted(set((name, tuple(params)) for name, params in walk(get_resolver().url_patterns)))


@pytest.fixture
def world(user, other_user, staff_user):
    """User A's objects, of every kind a route names, and a shop for everyone (so that "no shop" is no excuse)."""
    result = design_services.design_batch_upload(
        owner=user, files=[upload_file("logo.png", encode(design_image(1, size=(400, 300)), "PNG"))])
    design = result.accepted[0].design
    assert design_services.design_process(design_id=design.pk) == "ready"
    product = Product.objects.create(name="Classic tee", price="19.90", sizes="S,M,L", colors="white")
    order = order_services.order_create(email="alice@example.com", name="Alice", user=user, items=[
        {"product": str(product.pk), "design": str(design.pk), "size": "M", "color": "white", "quantity": 1}])
    template = GarmentTemplate.objects.create(
        name="Tee", photo_sha256="0" * 64, photo_format="PNG", photo_width=800, photo_height=800,
        area_x=200, area_y=200, area_width=400, area_height=400)
    mockup = Mockup.objects.create(design=design, template=template, owner=user)
    shops = {who: ShopConnection.objects.create(owner=who, name=f"{who.username}'s shop",
                                                base_url=f"https://{who.username}.shop.example",
                                                credentials_sealed="sealed")
             for who in (user, other_user, staff_user)}
    listing = Listing.objects.create(design=design, connection=shops[user])
    return {
        "ids": {"design_id": design.pk, "batch_id": result.batch.pk, "order_id": order.pk, "mockup_id": mockup.pk,
                "listing_id": listing.pk, "connection_id": shops[user].pk},
        "bodies": {"mockups_api:mockup_create": {"template": str(template.pk)}},
    }


def logged_in(user, **kwargs):
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def call(client, method, name, url, world):
    body = world["bodies"].get(name, {})
    if method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, body, content_type="application/json")
    return client.post(url, body)


def test_every_id_route_is_404_to_others_401_or_login_to_visitors_and_open_to_staff_where_it_should(
    world, user, other_user, staff_user, django_user_model
):
    id_routes = [(name, params) for name, params in routes()
                 if params and name not in CONTENT_ADDRESSED | TOKEN_ROUTES]
    unknown = sorted({name for name, _ in id_routes} - set(ID_ROUTES))
    assert not unknown, f"say who may use these routes in ID_ROUTES: {unknown}"
    owner, other, staff, visitor = logged_in(user), logged_in(other_user), logged_in(staff_user), logged_in(None)
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "clerk-password-1", is_staff=True)
    ShopConnection.objects.create(owner=clerk, name="clerk's shop", base_url="https://clerk.shop.example",
                                  credentials_sealed="sealed")
    bare_staff = logged_in(clerk)
    problems = []
    for name, params in sorted(id_routes, key=lambda route: route[0] in DESTRUCTIVE):
        url = reverse(name, kwargs={param: world["ids"][param] for param in params})
        method = "POST" if owner.get(url).status_code == 405 else "GET"

        answer = call(other, method, name, url, world)
        if answer.status_code != 404:
            problems.append(f"{method} {name} as another user: {answer.status_code}, expected 404")
        answer = call(visitor, method, name, url, world)
        if url.startswith("/api/"):
            if answer.status_code != 401:
                problems.append(f"{method} {name} anonymous: {answer.status_code}, expected 401")
        elif answer.status_code != 302 or not answer["Location"].startswith("/accounts/login/?next="):
            problems.append(f"{method} {name} anonymous: {answer.status_code}, expected a redirect to log in")
        answer = call(bare_staff, method, name, url, world)
        if answer.status_code != 404:
            problems.append(f"{method} {name} as staff without permissions: {answer.status_code}, expected 404")
        answer = call(staff, method, name, url, world)
        if ID_ROUTES[name].staff and not 200 <= answer.status_code < 300:
            problems.append(f"{method} {name} as staff: {answer.status_code}, expected success")
        if not ID_ROUTES[name].staff and answer.status_code != 404:
            problems.append(f"{method} {name} as staff: {answer.status_code}, expected 404")
        # Last, the owner: the URL really names something (else every 404 above proves nothing).
        answer = call(owner, method, name, url, world)
        if answer.status_code in (401, 403, 404, 405) or answer.status_code >= 500:
            problems.append(f"{method} {name} as its owner: {answer.status_code}")
    # And every other private route turns visitors away the same way.
    for name, params in routes():
        if params or name in PUBLIC:
            continue
        url = reverse(name)
        method = "POST" if owner.get(url).status_code == 405 else "GET"
        answer = call(visitor, method, name, url, world)
        expected = 401 if url.startswith("/api/") else 302
        if answer.status_code != expected:
            problems.append(f"{method} {name} anonymous: {answer.status_code}, expected {expected}")
    assert problems == [], "\n".join(problems)


def test_every_route_refuses_an_unsafe_request_without_a_csrf_token(world, user):
    client = logged_in(user, enforce_csrf_checks=True)
    refused, accepted_with_token = [], []
    client.get("/designs/upload/")  # a page with a form: sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    for name, params in routes():
        url = reverse(name, kwargs={param: world["ids"].get(param, "0" * 64 if param != "size" else 256)
                                    for param in params} if params else None)
        for method in ("post", "put", "patch", "delete"):
            answer = getattr(client, method)(url, {} if method == "post" else "", content_type="application/json")
            if answer.status_code != 403:
                refused.append(f"{method.upper()} {name}: {answer.status_code} without a token")
        if url.startswith("/api/") and name not in DESTRUCTIVE:
            answer = client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
            if answer.status_code == 403 and b"CSRF" in answer.content:
                accepted_with_token.append(name)
    assert refused == [], "\n".join(refused)
    assert accepted_with_token == [], f"refused even with the token: {accepted_with_token}"


@pytest.fixture
def frozen_clock(monkeypatch):
    """The rate limit's clock, standing still (so no window boundary falls inside the test) until moved."""
    moment = {"now": 1_800_000_000.0}
    monkeypatch.setattr(ratelimit, "clock", lambda: moment["now"])
    return moment


def test_uploads_are_limited_to_sixty_requests_a_minute_per_user(alice, user, other_user, frozen_clock, settings):
    limit, window = settings.UPLOAD_REQUESTS_LIMIT = (60, 60)  # a small limit; the test settings relax it
    ratelimit.UPLOAD_REQUESTS.reset(ratelimit.upload_identity(user))
    data = encode(design_image(3, size=(100, 90)), "PNG")  # the same file: one design, then exact duplicates
    first = alice.post("/api/uploads", {"files": [upload_file("a.png", data)]})
    batch_url = f"/api/uploads/{first.json()['id']}/files"
    for n in range(1, limit):
        url = batch_url if n % 2 else "/api/uploads"
        assert alice.post(url, {"files": [upload_file("a.png", data)]}).status_code == 202
    for url in ("/api/uploads", batch_url):
        refused = alice.post(url, {"files": [upload_file("a.png", data)]})
        assert refused.status_code == 429
        body = refused.json()
        wait = int(refused["Retry-After"])
        assert 0 < wait <= 2 * window and body["details"]["retry_after"] == wait
        assert "Too many uploads" in body["error"]
    other = logged_in(other_user)
    ratelimit.UPLOAD_REQUESTS.reset(ratelimit.upload_identity(other_user))
    assert other.post("/api/uploads", {"files": [upload_file("a.png", data)]}).status_code == 202
    frozen_clock["now"] += wait  # the last refusal's Retry-After
    assert alice.post("/api/uploads", {"files": [upload_file("a.png", data)]}).status_code == 202
