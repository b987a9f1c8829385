"""The marketplace page, the design page's panel, the JSON API, and who may see what."""

import pytest
from django.test import Client

from marketplace.models import Listing, ShopConnection
from tests.marketplace.conftest import API_KEY, API_SECRET, create_design

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(other_user):
    client = Client()
    client.force_login(other_user)
    return client


def test_connecting_a_shop_from_the_page(alice, user, fake_marketplace):
    response = alice.post("/marketplace/", {"base_url": fake_marketplace.url, "api_key": API_KEY,
                                            "api_secret": API_SECRET, "name": "My Etsy-like shop"})
    assert response.status_code == 302 and response["Location"] == "/marketplace/"
    shop = ShopConnection.objects.get(owner=user)
    assert shop.name == "My Etsy-like shop" and shop.base_url == fake_marketplace.url
    page = alice.get("/marketplace/").content.decode()
    assert "Connected to My Etsy-like shop." in page and fake_marketplace.url in page
    assert API_SECRET not in page


def test_refused_credentials_are_shown_on_the_form_and_not_saved(alice, fake_marketplace):
    response = alice.post("/marketplace/", {"base_url": fake_marketplace.url, "api_key": API_KEY,
                                            "api_secret": "not-the-secret"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The marketplace refused these credentials (401: Unknown API key or wrong secret.)" in page
    assert "not-the-secret" not in page  # a password field is never rendered back
    assert not ShopConnection.objects.exists()


def test_the_page_lists_listings_with_status_attempts_and_last_error(alice, user, shop, django_assert_max_num_queries):
    designs = [create_design(user, title=f"Design {n}") for n in range(30)]
    Listing.objects.bulk_create([Listing(design=design, connection=shop, status="failed", attempts=2,
                                         last_error=f"400: bad {n}") for n, design in enumerate(designs)])
    # session, user, connections, listing count, listing page (designs and shop joined in): whatever the length.
    with django_assert_max_num_queries(6):
        response = alice.get("/marketplace/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<span class="badge failed" data-field="status">Failed</span>') == 30
    assert "400: bad 29" in page and "Design 29" in page


def test_the_design_page_has_a_publish_button_that_publishes(alice, design, shop, fake_marketplace, tasks_inline,
                                                             django_capture_on_commit_callbacks):
    page = alice.get(f"/designs/{design.pk}/").content.decode()
    assert f'action="/marketplace/designs/{design.pk}/publish"' in page and ">Publish</button>" in page
    assert "js/marketplace.js" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(f"/marketplace/designs/{design.pk}/publish", {"connection": str(shop.pk)})
    assert response.status_code == 302 and response["Location"] == f"/designs/{design.pk}/"
    listing = Listing.objects.get(design=design)
    assert listing.status == "published"
    page = alice.get(f"/designs/{design.pk}/").content.decode()
    assert listing.external_id in page and "Published" in page


def test_without_a_shop_the_panel_points_to_the_marketplace_page(alice, design):
    page = alice.get(f"/designs/{design.pk}/").content.decode()
    assert "Connect a shop on the" in page and ">Publish</button>" not in page
    response = alice.post(f"/api/designs/{design.pk}/listings", {}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"].startswith("Connect a shop first")


def test_a_design_still_processing_cannot_be_published(alice, user, shop):
    design = create_design(user, status="processing")
    response = alice.post(f"/api/designs/{design.pk}/listings", {}, content_type="application/json")
    assert response.status_code == 409
    assert not Listing.objects.exists()


def test_another_users_listings_and_shops_are_404(bob, other_user, design, shop, listing):
    own_design = create_design(other_user, title="Bob's")
    assert bob.get(f"/api/listings/{listing.pk}").status_code == 404
    assert bob.post(f"/api/designs/{design.pk}/listings", {"connection": str(shop.pk)},
                    content_type="application/json").status_code == 404
    assert bob.post(f"/api/designs/{own_design.pk}/listings", {"connection": str(shop.pk)},
                    content_type="application/json").status_code == 404
    assert bob.post(f"/api/designs/{own_design.pk}/listings", {"connection": "not-a-uuid"},
                    content_type="application/json").status_code == 404
    assert bob.post(f"/marketplace/designs/{own_design.pk}/publish", {"connection": str(shop.pk)}).status_code == 404
    assert bob.post(f"/marketplace/shops/{shop.pk}/disconnect").status_code == 404
    assert ShopConnection.objects.filter(pk=shop.pk).exists()
    page = bob.get("/marketplace/").content.decode()
    assert shop.name not in page and str(listing.pk) not in page
    assert Listing.objects.count() == 1


def test_the_owner_can_disconnect_a_shop(alice, shop, listing):
    response = alice.post(f"/marketplace/shops/{shop.pk}/disconnect")
    assert response.status_code == 302
    assert not ShopConnection.objects.exists() and not Listing.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, listing):
    assert client.get("/marketplace/")["Location"].startswith("/accounts/login/")
    assert client.get(f"/api/listings/{listing.pk}").status_code == 401


def test_the_listing_api_answers_with_the_documented_fields(alice, listing):
    body = alice.get(f"/api/listings/{listing.pk}").json()
    assert set(body) == {"id", "design_id", "connection_id", "status", "external_id", "attempts", "last_error",
                         "next_attempt_at", "published_at", "status_url"}
    assert body["status"] == "queued" and body["attempts"] == 0 and body["external_id"] is None


def test_the_design_page_asks_for_listings_only_when_the_customer_has_a_shop(alice, user, design, fake_marketplace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def listing_queries():
        with CaptureQueriesContext(connection) as queries:
            page = alice.get(f"/designs/{design.pk}/").content.decode()
        return [q["sql"] for q in queries.captured_queries if "marketplace_listing" in q["sql"]], page

    asked, page = listing_queries()
    assert asked == [] and "Connect a shop" in page
    shop = ShopConnection.objects.create(owner=user, name="My shop", base_url=fake_marketplace.url,
                                         credentials_sealed="x")
    Listing.objects.create(design=design, connection=shop, status="failed", last_error="400: refused")
    asked, page = listing_queries()
    assert len(asked) == 1 and "400: refused" in page
