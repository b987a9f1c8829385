"""JSON API for uploads and designs (contract: shared/DESIGN.md)."""

from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from core import ratelimit
from core.api import ApiError, api_view, json_body
from designs import library, selectors, services
from designs.models import Design, UploadBatch, thumbnail_url
from designs.similarity import to_unsigned64

PAGE_SIZE = 50


def _check_upload_rate(request):
    """Count this upload request for its user: a 429 with Retry-After past UPLOAD_REQUESTS_LIMIT."""
    wait = ratelimit.UPLOAD_REQUESTS.hit(ratelimit.upload_identity(request.user))
    if wait:
        limit, window = ratelimit.UPLOAD_REQUESTS.limit, ratelimit.UPLOAD_REQUESTS.window_s
        raise ApiError(f"Too many uploads: at most {limit} upload requests per {window} seconds. "
                       f"Try again in {wait} seconds.", status=429, details={"retry_after": wait},
                       headers={"Retry-After": str(wait)})


def _uploaded_files(request):
    _check_upload_rate(request)  # before anything is hashed or stored
    try:
        files = request.FILES.getlist("files")
    except TooManyFilesSent:
        raise ApiError("Too many files in one request: send at most 100 per batch.", status=400) from None
    except RequestDataTooBig:
        raise ApiError("The request is too large.", status=413) from None
    if not files:
        raise ApiError("Choose at least one file (multipart field 'files').")
    return files


def _upload_answer(request, result):
    batch = result.batch
    return JsonResponse(
        {
            "id": str(batch.pk),
            "status_url": reverse("designs_api:upload_status", kwargs={"batch_id": batch.pk}),
            "accepted": [
                {
                    "name": item.name,
                    "design_id": str(item.design.pk),
                    "status": item.design.status,
                    "duplicate_of": str(item.design.duplicate_of_id) if item.design.duplicate_of_id else None,
                }
                for item in result.accepted
            ],
            "rejected": result.rejected,
        },
        status=202,
    )


@api_view("POST")
def upload_create(request):
    files = _uploaded_files(request)
    return _upload_answer(request, services.design_batch_upload(owner=request.user, files=files))


@api_view("POST")
def upload_add_files(request, batch_id):
    batch = get_object_or_404(UploadBatch.objects.filter(owner=request.user), pk=batch_id)
    files = _uploaded_files(request)
    return _upload_answer(request, services.design_batch_upload(owner=request.user, files=files, batch=batch))


def batch_status(batch):
    items = Design.objects.filter(batch=batch).only(
        "id", "original_name", "status", "duplicate_of_id", "distance", "sha256", "has_thumbnail", "error",
        "batch_id", "created_at",
    ).order_by("created_at", "original_name", "id")
    return {
        "id": str(batch.pk),
        "status": "done" if batch.is_done else "processing",
        "total": batch.total,
        "processed": batch.processed,
        "ready": batch.ready,
        "duplicates": batch.duplicates,
        "failed": batch.failed,
        "rejected": batch.rejected,
        "items": [
            {
                "name": design.original_name,
                "design_id": str(design.pk),
                "status": design.status,
                "duplicate_of": str(design.duplicate_of_id) if design.duplicate_of_id else None,
                "distance": design.distance,
                "thumbnail_url": thumbnail_url(design.sha256) if design.has_thumbnail else None,
                "error": design.error or None,
            }
            for design in items
        ],
    }


@api_view("GET")
def upload_status(request, batch_id):
    batch = get_object_or_404(UploadBatch.objects.visible_to(request.user), pk=batch_id)
    return JsonResponse(batch_status(batch))


def design_summary(design):
    return {
        "id": str(design.pk),
        "title": design.title,
        "status": design.status,
        "width": design.width,
        "height": design.height,
        "thumbnail_url": thumbnail_url(design.sha256) if design.has_thumbnail else None,
        "created_at": design.created_at.isoformat(),
    }


@api_view("GET")
def design_list(request):
    number = request.GET.get("page", "1")
    if not library.PAGE_NUMBER_RE.match(number):  # odd page numbers would only fill the cache
        return JsonResponse(_design_list_page(request.user, number))
    return JsonResponse(library.cached(request.user.pk, f"list:{number}",
                                       lambda: _design_list_page(request.user, number)))


def _design_list_page(owner, number):
    paginator = Paginator(Design.objects.for_gallery(owner), PAGE_SIZE)
    try:
        page = paginator.page(number)
    except (EmptyPage, PageNotAnInteger):
        raise ApiError("No such page.", status=404) from None
    base = reverse("designs_api:design_list")
    return {
        "results": [design_summary(design) for design in page],
        "next": f"{base}?page={page.next_page_number()}" if page.has_next() else None,
        "previous": f"{base}?page={page.previous_page_number()}" if page.has_previous() else None,
    }


@api_view("GET", "PATCH", "DELETE")
def design_detail(request, design_id):
    if request.method == "PATCH":
        design = services.design_rename(design_id=design_id, owner=request.user, title=json_body(request).get("title"))
        return JsonResponse(design_summary(design))
    if request.method == "DELETE":
        services.design_delete(design_id=design_id, owner=request.user)
        return HttpResponse(status=204)
    design = get_object_or_404(Design.objects.visible_to(request.user), pk=design_id)
    return JsonResponse(
        {
            **design_summary(design),
            "sha256": design.sha256,
            "phash": f"{to_unsigned64(design.phash):016x}" if design.phash is not None else None,
            "duplicate_of": str(design.duplicate_of_id) if design.duplicate_of_id else None,
            "distance": design.distance,
            "error": design.error or None,
            "similar": [{"id": str(pk), "distance": distance} for pk, distance in selectors.similar_designs(design)],
        }
    )
