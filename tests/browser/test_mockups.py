"""The mockup panel in a real browser: pick a garment, watch the job's status, see the picture or the reason."""

import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from mockups import services
from mockups.models import Mockup
from tests.browser.conftest import DESKTOP, MOBILE, SCREENSHOTS
from tests.mockups.conftest import make_template, processed_design

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice_page(page, log_in, user):
    return log_in(page, "alice", "alice-password-1")


def test_picking_a_garment_shows_the_job_then_the_mockup_or_its_error(alice_page, user):
    page = alice_page
    design = processed_design(user)
    tee = make_template(name="Tee")
    broken = make_template(name="Zipped hoodie", area=(10, 10, 100, 100))
    page.goto(f"/designs/{design.pk}/")
    panel = page.locator("#mockups")

    panel.get_by_role("button", name="Tee").click()
    item = panel.locator(".mockup-list .mockup")
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text("Queued")  # no worker here: the test renders it below
    mockup = Mockup.objects.get(template=tee)
    services.mockup_render(mockup_id=mockup.pk)
    image = item.locator("img")
    expect(image).to_have_attribute("src", re.compile(r"^/api/mockups/images/[0-9a-f]{64}\.webp$"))
    page.wait_for_function("image => image.complete && image.naturalWidth === 300", arg=image.element_handle())
    expect(item.locator(".badge")).to_have_text("Ready")

    panel.get_by_role("button", name="Tee").click()  # the same garment again: the same mockup, not a new one
    expect(item).to_have_count(1)

    default_storage.delete(broken.photo_key)
    panel.get_by_role("button", name="Zipped hoodie").click()
    expect(panel.locator(".mockup-list .mockup")).to_have_count(2)
    services.mockup_render(mockup_id=Mockup.objects.get(template=broken).pk)
    failed = panel.locator(".mockup-list .mockup").nth(1)
    expect(failed.locator(".badge")).to_have_text("Failed")
    expect(failed.locator(".mockup-error")).to_have_text(re.compile("garment photo is missing"))

    page.reload()  # the page itself lists the design's mockups
    expect(panel.locator(".mockup-list .mockup img")).to_have_count(1)
    expect(panel.locator(".mockup-list .mockup .badge")).to_have_text(["Ready", "Failed"])
    if SCREENSHOTS:  # $THREADLINE_SCREENSHOTS: a folder for the page at desktop and mobile sizes
        for label, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page.set_viewport_size(viewport)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(Path(SCREENSHOTS) / f"mockups-panel-{label}.png"), full_page=True)
