"""Customer pages for designs, and the two file endpoints (thumbnails, originals)."""

import re
import uuid

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from designs.api import similar_designs
from designs.models import THUMBNAIL_SIZES, Design, UploadBatch, thumbnail_key

GALLERY_PAGE_SIZE = 48
GALLERY_TILES_CACHE_S = 60  # a version of a page is replaced by the next, not invalidated; this bounds a missed one
GALLERY_TILES_IN_FLIGHT_CACHE_S = 3  # while a design on the page is being processed
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@login_required
def gallery(request):
    designs = Design.objects.for_gallery(request.user)
    only_duplicates = request.GET.get("show") == "duplicates"
    if only_duplicates:
        designs = designs.filter(status=Design.Status.DUPLICATE)
    count, changed = designs.library_state()
    paginator = Paginator(designs, GALLERY_PAGE_SIZE)
    paginator.count = count  # known already: no second COUNT
    page = paginator.get_page(request.GET.get("page"))
    # The tiles are most of the page's work (48 designs through the template engine). Cached under the library's
    # version, a changed design changes the key, so no write has to remember to invalidate anything. A page with a
    # design in processing is kept only briefly: a write still uncommitted when the version was read, stamped
    # earlier than one committed before it, would not move the version.
    version = f"{count}:{changed.isoformat() if changed else ''}"
    key = f"designs:tiles:{request.user.pk}:{int(only_duplicates)}:{page.number}:{version}"
    tiles = cache.get(key)
    if tiles is None:
        tiles = render_to_string("designs/_tiles.html", {"page": page})
        settled = all(design.status in Design.FINAL_STATUSES for design in page)
        cache.set(key, tiles, GALLERY_TILES_CACHE_S if settled else GALLERY_TILES_IN_FLIGHT_CACHE_S)
    return render(request, "designs/gallery.html", {"page": page, "tiles": tiles, "only_duplicates": only_duplicates})


@login_required
def upload(request):
    batch = None
    batch_id = request.GET.get("batch")
    if batch_id:
        try:
            batch = UploadBatch.objects.filter(owner=request.user, pk=uuid.UUID(batch_id)).first()
        except ValueError:
            batch = None
    return render(request, "designs/upload.html", {"batch": batch})


@login_required
def detail(request, design_id):
    design = get_object_or_404(Design.objects.visible_to(request.user).select_related("duplicate_of"), pk=design_id)
    matches = dict(similar_designs(design))
    similar = sorted(
        Design.objects.filter(pk__in=matches).only("id", "title", "sha256", "has_thumbnail", "thumb_width",
                                                   "thumb_height", "status"),
        key=lambda other: (matches[other.pk], str(other.pk)),
    )
    for other in similar:
        other.similarity_distance = matches[other.pk]
    return render(request, "designs/detail.html", {"design": design, "similar": similar})


@login_required
def original(request, design_id):
    """The uploaded file, for its owner and staff only, always as a download: never rendered from our origin."""
    design = get_object_or_404(Design.objects.visible_to(request.user), pk=design_id)
    try:
        handle = default_storage.open(design.original_key, "rb")
    except FileNotFoundError:
        raise Http404("The original file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=design.original_name,
                            content_type=CONTENT_TYPES.get(design.format, "application/octet-stream"))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def thumbnail(request, sha256, size):
    """A thumbnail at its content-addressed URL: the bytes behind it never change, so caches may keep it forever."""
    if not SHA256_RE.match(sha256) or size not in THUMBNAIL_SIZES:
        raise Http404("No such thumbnail.")
    etag = f'"{sha256}-{size}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        try:
            handle = default_storage.open(thumbnail_key(sha256, size), "rb")
        except FileNotFoundError:
            raise Http404("No such thumbnail.") from None
        response = FileResponse(handle, content_type="image/webp")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
