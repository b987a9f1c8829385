"""Customer pages for designs, and the two file endpoints (thumbnails, originals)."""

import re
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import EmptyPage, Paginator
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from designs import library, selectors, services
from designs.models import THUMBNAIL_SIZES, Design, UploadBatch, thumbnail_key

GALLERY_PAGE_SIZE = 48
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class PastTheEnd(Exception):
    """A gallery page number beyond the last page (`last_page`)."""

    def __init__(self, last_page):
        super().__init__(last_page)
        self.last_page = last_page


@login_required
def gallery(request):
    """The customer's designs, 48 a page. The grid (tiles and page links) depends on nothing but the library, so it
    is cached under the library's version (designs/library.py): with Redis a page whose grid is cached costs no
    query beyond the session's. The page around it (the user's name, messages, CSRF token) is rendered each time.
    A page number past the end redirects to the last page, uncached: each one used to store another copy of it."""
    only_duplicates = request.GET.get("show") == "duplicates"
    page_number = request.GET.get("page") or "1"
    cacheable = bool(library.PAGE_NUMBER_RE.match(page_number))  # odd page numbers would only fill the cache

    def grid():
        paginator = Paginator(selectors.gallery_designs(request.user, only_duplicates=only_duplicates),
                              GALLERY_PAGE_SIZE)
        if not cacheable:
            page = paginator.get_page(page_number)
        else:
            try:
                page = paginator.page(page_number)
            except EmptyPage:  # past the end: raised through library.cached, so no copy of the last page is kept
                raise PastTheEnd(paginator.num_pages) from None
        return render_to_string("designs/_gallery_grid.html", {"page": page, "only_duplicates": only_duplicates})

    try:
        grid_html = library.cached(request.user.pk, f"gallery:{int(only_duplicates)}:{page_number}",
                                   grid) if cacheable else grid()
    except PastTheEnd as end:
        query = request.GET.copy()
        query["page"] = end.last_page
        return redirect(f"{request.path}?{query.urlencode()}")
    return render(request, "designs/gallery.html", {"grid": grid_html, "only_duplicates": only_duplicates})



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
    design = get_object_or_404(
        Design.objects.visible_to(request.user).select_related("duplicate_of", "not_duplicate_of"), pk=design_id)
    similar = library.cached(design.owner_id, f"similar-tiles:{design.pk}", lambda: selectors.look_alikes(design))
    used_by = selectors.orders_using(design) if design.owner_id == request.user.pk else 0
    return render(request, "designs/detail.html", {"design": design, "similar": similar, "used_by_orders": used_by})


@login_required
@require_POST
def not_duplicate(request, design_id):
    """The customer keeps a design flagged as a near duplicate as a design of its own."""
    try:
        services.design_mark_not_duplicate(design_id=design_id, owner=request.user)
    except services.DesignError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, "Kept as a design of its own. It is still listed with the designs it looks like.")
    return redirect("designs:detail", design_id=design_id)


@login_required
@require_POST
def rename(request, design_id):
    try:
        services.design_rename(design_id=design_id, owner=request.user, title=request.POST.get("title"))
    except services.DesignError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, "Design renamed.")
    return redirect("designs:detail", design_id)


@login_required
@require_POST
def delete(request, design_id):
    try:
        services.design_delete(design_id=design_id, owner=request.user)
    except services.DesignError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
        return redirect("designs:detail", design_id)
    messages.success(request, "Design deleted.")
    return redirect("designs:gallery")


@login_required
def original(request, design_id):
    """The uploaded file, for its owner and staff only, always as a download: never rendered from our origin."""
    design = get_object_or_404(Design.objects.visible_to(request.user), pk=design_id)
    try:
        handle = default_storage.open(design.original_key, "rb")
    except FileNotFoundError:
        raise Http404("The original file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=design.download_name,
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
