"""File endpoints for mockup images and template photos, at content-addressed URLs."""

import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseNotModified

from core.api import api_view
from mockups.models import (
    MOCKUP_PREVIEW_SIDE,
    TEMPLATE_PREVIEW_SIDE,
    mockup_key,
    mockup_preview_key,
    template_preview_key,
)

HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def immutable_file(request, key, *, etag, content_type):
    """The file under a content-addressed `key`: the bytes behind it never change, so caches may keep it forever."""
    etag = f'"{etag}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        try:
            handle = default_storage.open(key, "rb")
        except FileNotFoundError:
            raise Http404("No such image.") from None
        response = FileResponse(handle, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@api_view("GET", login_required=False)  # under /api/: its 404 and 405 are JSON too
def mockup_image(request, digest):
    if not HEX64_RE.match(digest):
        raise Http404("No such image.")
    return immutable_file(request, mockup_key(digest), etag=digest, content_type="image/webp")


@api_view("GET", login_required=False)
def mockup_preview(request, digest, size):
    if not HEX64_RE.match(digest) or size != MOCKUP_PREVIEW_SIDE:
        raise Http404("No such image.")
    return immutable_file(request, mockup_preview_key(digest), etag=f"{digest}-{size}", content_type="image/webp")


@api_view("GET", login_required=False)
def template_photo(request, sha256, extension):
    if not HEX64_RE.match(sha256) or extension not in CONTENT_TYPES:
        raise Http404("No such photo.")
    return immutable_file(request, f"templates/{sha256}.{extension}", etag=sha256,
                          content_type=CONTENT_TYPES[extension])


@api_view("GET", login_required=False)
def template_preview(request, sha256, size):
    if not HEX64_RE.match(sha256) or size != TEMPLATE_PREVIEW_SIDE:
        raise Http404("No such photo.")
    return immutable_file(request, template_preview_key(sha256), etag=f"{sha256}-{size}", content_type="image/webp")
