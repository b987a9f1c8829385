"""Customer pages for designs, and the two file endpoints (thumbnails, originals)."""

import functools
import re
import uuid

from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_GET

from designs import library, selectors
from designs.models import THUMBNAIL_SIZES, Design, UploadBatch, thumbnail_key

GALLERY_PAGE_SIZE = 48
GALLERY_PAGE_CACHE_S = 60  # a page is replaced when its version is not current; this bounds a missed version move
# While a design on the page is being processed: without Redis, a write still uncommitted when the version was read,
# stamped earlier than one committed before it, would not move the version.
GALLERY_PAGE_IN_FLIGHT_CACHE_S = 3
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@login_required
def gallery(request):
    """The customer's designs, 48 a page, answered from a cache of whole pages, each kept with the library's version
    it shows and used while that version is current. With Redis a cached page costs no query and one round trip for
    the version and the page together (designs/library.py). The page's CSRF token (log-out form) is the only
    part that differs between requests: it is cached as _csrf_slot() and filled in for each response.
    """
    only_duplicates = request.GET.get("show") == "duplicates"
    designs = functools.cache(  # built only if needed
        lambda: selectors.gallery_designs(request.user, only_duplicates=only_duplicates))
    page_number = request.GET.get("page") or "1"
    # A flash message is shown once, so that page is not kept; odd page numbers would only fill the cache.
    cacheable = library.PAGE_NUMBER_RE.match(page_number) and not get_messages(request)
    user = request.user  # the page shows the user's name and, to staff, a link to the admin
    key = f"designs:gallery:{user.pk}:{user.get_username()}:{int(user.is_staff)}:{int(only_duplicates)}:{page_number}"
    count, (version, stored) = None, library.shared_version(user.pk, key if cacheable else None)
    if version is None:  # no Redis: the version is read from the database, with the count the paginator needs
        count, changed = designs().library_state()
        version = f"{count}:{changed.isoformat() if changed else ''}"
        stored = cache.get(key) if cacheable else None
    html = stored[1] if stored is not None and stored[0] == version else None
    if html is None:
        paginator = Paginator(designs(), GALLERY_PAGE_SIZE)
        paginator.count = designs().count() if count is None else count
        page = paginator.get_page(page_number)
        html = render_to_string("designs/gallery.html", {"page": page, "only_duplicates": only_duplicates,
                                                         "csrf_token": _csrf_slot()}, request=request)
        if cacheable:
            settled = all(design.status in Design.FINAL_STATUSES for design in page)
            cache.set(key, (version, html), GALLERY_PAGE_CACHE_S if settled else GALLERY_PAGE_IN_FLIGHT_CACHE_S)
    return HttpResponse(html.replace(_csrf_slot(), get_token(request)))


@functools.cache
def _csrf_slot():
    """Stands for the CSRF token in cached pages: derived from SECRET_KEY, so no user content can contain it."""
    return "csrf-" + salted_hmac("designs.gallery.csrf-slot", "slot").hexdigest()[:32]


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
    similar = library.cached(design.owner_id, f"similar-tiles:{design.pk}", lambda: selectors.look_alikes(design))
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
