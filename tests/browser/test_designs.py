"""Uploading a batch with real workers processing it, the gallery, and a design's page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import artwork_png

pytestmark = pytest.mark.browser

PROCESSING_TIMEOUT_MS = 45_000  # worker start-up (a few s) plus processing, on a loaded machine


def file_row(page, name):
    return page.locator("#file-list .file-row").filter(has=page.get_by_text(name, exact=True))


def expect_thumbnail_loaded(page, row):
    image = row.locator("img.mini")
    expect(image).to_have_count(1)
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())


@pytest.mark.slow
def test_upload_batch_is_processed_live_by_real_workers(page, log_in, user, task_workers, tmp_path, screenshot):
    files = {
        "lighthouse.png": artwork_png(11),
        "fox.png": artwork_png(22),
        "wave.png": artwork_png(33),
        "lighthouse-copy.png": artwork_png(11),
        "invoice.png": b"<!doctype html><html><body><p>Invoice 1042</p></body></html>",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    resized = tmp_path / "fox-small.png"
    resized.write_bytes(artwork_png(22, size=(400, 300)))

    log_in(page, "alice", "alice-password-1")
    page.goto("/designs/upload/")
    # The first file goes up alone (its answer names the batch), so its exact copy later in the list is found.
    page.set_input_files("#file-input", [tmp_path / name for name in files])

    rows = page.locator("#file-list .file-row")
    expect(rows).to_have_count(5)
    batch_text = page.locator("#batch-text")
    expect(batch_text).to_have_text(re.compile(r"Uploading 5 files|processed"))
    expect(page).to_have_url(re.compile(r"/designs/upload/\?batch=[0-9a-f-]{36}$"))

    first_round = r"^4 of 4 processed · 3 ready · 1 duplicates? · 0 failed · 1 refused · done$"
    expect(batch_text).to_have_text(re.compile(first_round), timeout=PROCESSING_TIMEOUT_MS)
    for name in ("lighthouse.png", "fox.png", "wave.png"):
        expect(file_row(page, name).locator(".badge")).to_have_text("Ready")
        expect_thumbnail_loaded(page, file_row(page, name))
    original = file_row(page, "lighthouse.png").get_by_role("link", name="Open design").get_attribute("href")
    assert re.fullmatch(r"/designs/[0-9a-f-]{36}/", original)
    copy = file_row(page, "lighthouse-copy.png")
    expect(copy.locator(".badge")).to_have_text("Duplicate")
    expect(copy.get_by_role("link", name="Same picture as “lighthouse”, already in your library")).to_have_attribute(
        "href", original)
    expect_thumbnail_loaded(page, copy)
    refused = file_row(page, "invoice.png")
    expect(refused.locator(".badge")).to_have_text("Refused")
    expect(refused.locator(".message")).to_have_text("This file is an HTML page; upload a PNG, JPEG or WebP image.")

    # A resized copy is a near duplicate: found by the worker, and only once its original has been processed.
    fox = file_row(page, "fox.png").get_by_role("link", name="Open design").get_attribute("href")
    page.set_input_files("#file-input", [resized])
    expect(rows).to_have_count(6)
    small = file_row(page, "fox-small.png")
    expect(small.locator(".badge")).to_have_text("Duplicate", timeout=PROCESSING_TIMEOUT_MS)
    expect(small.locator(".message a.duplicate-link")).to_have_attribute("href", fox)
    expect(small.locator(".message a.duplicate-link")).to_have_text(
        "Same picture as “fox”, already in your library (400 x 300, your original is 800 x 600)")
    expect(batch_text).to_have_text("5 of 5 processed · 3 ready · 2 duplicates · 0 failed · 1 refused · done")
    screenshot(page, "upload")

    page.reload()
    expect(rows).to_have_count(6)
    expected = {"lighthouse.png": "Ready", "fox.png": "Ready", "wave.png": "Ready", "lighthouse-copy.png": "Duplicate",
                "fox-small.png": "Duplicate", "invoice.png": "Refused"}
    for name, status in expected.items():
        expect(file_row(page, name).locator(".badge")).to_have_text(status)
    expect(file_row(page, "fox-small.png").locator(".message a.duplicate-link")).to_have_attribute("href", fox)
    expect(file_row(page, "invoice.png").locator(".message")).to_contain_text("HTML page")
    expect_thumbnail_loaded(page, file_row(page, "wave.png"))
    expect(batch_text).to_contain_text("· done")


def test_gallery_filters_duplicates_and_a_design_shows_similar_ones(page, log_in, user, add_designs, screenshot):
    add_designs(user, [("lighthouse.png", artwork_png(11)), ("fox.png", artwork_png(22)),
                       ("wave.png", artwork_png(33))])
    add_designs(user, [("fox-small.png", artwork_png(22, size=(400, 300)))])
    log_in(page, "alice", "alice-password-1")

    page.goto("/designs/")
    tiles = page.locator(".grid .tile")
    expect(tiles).to_have_count(4)
    thumbnails = tiles.locator("img.thumb")
    expect(thumbnails).to_have_count(4)
    for image in thumbnails.all():
        expect(image).to_have_attribute("loading", "lazy")
        # Real dimensions reserve the space before the image arrives: 800x600 and 400x300 both show as 256x192.
        expect(image).to_have_attribute("width", "256")
        expect(image).to_have_attribute("height", "192")
    page.wait_for_function("() => [...document.querySelectorAll('.grid img.thumb')].every("
                           "image => image.complete && image.naturalWidth > 0)")
    screenshot(page, "gallery")

    page.get_by_role("link", name="Duplicates", exact=True).click()
    expect(page).to_have_url(re.compile(r"/designs/\?show=duplicates$"))
    expect(tiles).to_have_count(1)
    expect(tiles.locator(".tile-title")).to_have_text("fox small")
    expect(tiles.locator(".badge")).to_have_text("Duplicate · looks the same")

    tiles.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("fox small")
    page.get_by_role("link", name="fox", exact=True).click()  # "Duplicate of fox"
    expect(page.get_by_role("heading", level=1)).to_have_text("fox")
    expect(page.get_by_role("heading", name="Similar designs")).to_be_visible()
    similar = page.locator(".grid .tile")
    expect(similar).to_have_count(1)
    expect(similar).to_contain_text("fox small")
    expect(similar).to_contain_text("Looks the same")
    screenshot(page, "design")

    page.goto("/designs/")
    page.locator(".grid .tile").filter(has_text="wave").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("wave")
    expect(page.get_by_text("Nothing in your library looks like this design.")).to_be_visible()


def test_not_a_duplicate_keeps_a_flagged_copy_as_its_own_design(page, log_in, user, add_designs, screenshot):
    from pathlib import Path

    import numpy as np
    import pywt.data
    from PIL import Image

    from tests.conftest import encode

    stairs = Image.fromarray(np.load(Path(pywt.data.__file__).parent / "ascent.npz")["data"]).convert("RGB")
    cropped = stairs.crop((15, 15, 497, 497))  # 3% off each side: a copy the phash alone missed
    add_designs(user, [("stairs.png", encode(stairs))])
    copy = add_designs(user, [("stairs-cropped.png", encode(cropped))])["stairs-cropped.png"]
    assert copy.status == "duplicate"
    log_in(page, "alice", "alice-password-1")

    page.goto(f"/designs/{copy.pk}/")
    card = page.locator("#duplicate-of")
    expect(card).to_contain_text("A cropped copy of “stairs”, already in your library.")
    expect(card.get_by_role("link", name="stairs")).to_have_count(1)  # its thumbnail, named by its title
    page.wait_for_function("() => document.querySelector('#duplicate-of img.mini').naturalWidth > 0")
    expect(page.locator(".facts .badge")).to_have_text("Duplicate")
    screenshot(page, "duplicate-of")

    page.get_by_role("button", name="Not a duplicate: keep it as its own design").click()
    expect(page.locator(".messages")).to_contain_text("Kept as a design of its own")
    expect(page.locator(".facts .badge")).to_have_text("Ready")
    expect(page.locator(".facts")).to_contain_text("stairs: you kept this as a design of its own")
    expect(page.locator("#duplicate-of")).to_have_count(0)
    similar = page.locator(".grid .tile")
    expect(similar).to_have_count(1)
    expect(similar).to_contain_text("stairs")

    page.reload()  # remembered, not just shown once
    expect(page.locator(".facts .badge")).to_have_text("Ready")
    expect(page.get_by_role("button", name="Not a duplicate: keep it as its own design")).to_have_count(0)
