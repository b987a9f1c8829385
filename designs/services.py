"""Every write to designs and batches goes through here."""

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from core.api import ApiError
from core.storage import store, store_many
from core.tasks import enqueue, enqueue_each, reenqueue_stale
from core.text import storable_text
from designs import library, similarity
from designs.models import THUMBNAIL_SIZES, Design, UploadBatch, original_key, thumbnail_key
from imaging import inspection, processing

logger = logging.getLogger(__name__)

MAX_PROCESSING_ATTEMPTS = 3  # a file that kills its worker this often is given up on, not retried forever
HASH_CHUNK_BYTES = 1024 * 1024
# Std-dev of the 32x32 grey (0-255) below which a design is near-blank: such designs collide on phash alone.
LOW_DETAIL = 8.0
FINGERPRINTED_STATUSES = (Design.Status.READY, Design.Status.DUPLICATE)  # what uploads are compared with
# What processing finds out about a file's content, which every design with the same content shares.
PROCESSING_RESULTS = ("phash", "dhash", "detail", "colours", "fingerprint", "phash_0", "phash_1", "phash_2",
                      "phash_3", "has_thumbnail", "thumb_width", "thumb_height")
SECOND_STAGE_CANDIDATES = 16  # nearest candidates compared closely, ~0.3 ms CPU each: the decision stays < 10 ms


class DesignError(ApiError):
    """An expected failure in the designs domain, with text a customer can act on."""


MESSAGES = {
    "batch_full": "A batch holds at most {limit} files; this file was not accepted.",
    "storage": "The file could not be stored just now. Please upload it again.",
    "gave_up": "Processing failed {attempts} times in a row; the file may be damaged.",
    "not_a_duplicate": "Only a design marked as a near duplicate can be kept as a design of its own.",
}


@dataclass
class AcceptedFile:
    name: str
    design: Design


@dataclass
class UploadResult:
    batch: UploadBatch
    accepted: list = field(default_factory=list)  # [AcceptedFile]
    rejected: list = field(default_factory=list)  # [{"name", "error"}]


def display_name(raw_name):
    """A file name safe to show and store: no path, no control characters or lone surrogates, at most 200
    characters."""
    name = unicodedata.normalize("NFC", storable_text(str(raw_name or ""))).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "untitled"
    return name[:200]


def title_from_name(name):
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return re.sub(r"[_\-]+", " ", stem).strip()[:200] or "Untitled design"


def sha256_of(uploaded):
    """The content address; the upload handler computes it while receiving large files (designs/uploads.py)."""
    if getattr(uploaded, "sha256", None):
        return uploaded.sha256
    digest = hashlib.sha256()
    uploaded.seek(0)
    for chunk in uploaded.chunks(HASH_CHUNK_BYTES):
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def design_batch_create(*, owner):
    return UploadBatch.objects.create(owner=owner)


def design_batch_upload(*, owner, files, batch=None, now=None):
    """Validate, hash and store uploaded files, create their rows in one go and enqueue processing after commit.

    Cheap checks only (header sniffing, no decode). An exact duplicate of a design the owner already has becomes a
    `duplicate` row at once and is never processed. Refused files are listed with the reason and get no row. A batch
    holds at most UPLOAD_MAX_FILES files, checked again under the batch's row lock so concurrent requests for one
    batch cannot overfill it.
    """
    now = now or timezone.now()
    batch = batch or design_batch_create(owner=owner)
    result = UploadResult(batch=batch)
    limit = settings.UPLOAD_MAX_FILES
    full = MESSAGES["batch_full"].format(limit=limit)

    candidates = []  # (name, info, sha256, uploaded)
    for uploaded in files:
        name = display_name(uploaded.name)
        if batch.total + len(candidates) >= limit:
            result.rejected.append({"name": name, "error": full})
            continue
        try:
            if uploaded.size > settings.UPLOAD_MAX_BYTES:  # the upload handler kept only the first part
                raise inspection.too_large(uploaded.size, settings.UPLOAD_MAX_BYTES)
            info = inspection.inspect_upload(
                uploaded, max_bytes=settings.UPLOAD_MAX_BYTES, max_pixels=settings.UPLOAD_MAX_PIXELS
            )
        except inspection.ImageRejected as refusal:
            result.rejected.append({"name": name, "error": str(refusal)})
            continue
        candidates.append((name, info, sha256_of(uploaded), uploaded))

    shas = {sha for _, _, sha, _ in candidates}
    stored = _known_contents(owner, shas)
    to_store = {original_key(sha, info.format): uploaded for _, info, sha, uploaded in candidates if sha not in stored}
    failures = store_many(list(to_store.items()))

    from designs.tasks import process_design

    with transaction.atomic():
        locked = UploadBatch.objects.select_for_update().get(pk=batch.pk)
        # Looked up again under the lock: concurrent requests for this batch (the page sends three at once) must
        # see each other's files, or two copies of one file would both be processed.
        known = _known_contents(owner, shas)
        rows, fresh = [], {}
        for name, info, sha, _ in candidates:
            if failures.get(original_key(sha, info.format)) is not None:
                result.rejected.append({"name": name, "error": MESSAGES["storage"]})
            elif locked.total + len(rows) >= limit:
                result.rejected.append({"name": name, "error": full})
            else:
                design = _new_design(owner, batch, name, info, sha, now, original=known.get(sha) or fresh.get(sha))
                if design.status == Design.Status.QUEUED:
                    fresh[sha] = design
                rows.append(design)
                result.accepted.append(AcceptedFile(name=name, design=design))
        Design.objects.bulk_create(rows)
        library.changed(owner.pk)
        exact_duplicates = len(rows) - len(fresh)
        UploadBatch.objects.filter(pk=batch.pk).update(
            total=F("total") + len(rows),
            processed=F("processed") + exact_duplicates,
            duplicates=F("duplicates") + exact_duplicates,
            rejected=locked.rejected + result.rejected,  # read under the row lock, so no refusal is lost
        )
        for design in sorted(fresh.values(), key=_processing_cost, reverse=True):
            enqueue(process_design, str(design.pk), group="designs")
    batch.refresh_from_db()
    return result


def _processing_cost(design):
    """Relative decode cost, to enqueue the longest jobs first: workers then finish a batch together instead of
    one working alone through a big PNG at the end. JPEGs decode at 1/4 or 1/8 scale (draft mode)."""
    return design.width * design.height // (16 if design.format == "JPEG" else 1)


def _known_contents(owner, shas):
    """{sha256: the owner's earliest design with that content} for the given content addresses."""
    known = {}
    for design in (Design.objects.filter(owner=owner, sha256__in=shas).exclude(status=Design.Status.FAILED)
                   .order_by("created_at")):
        known.setdefault(design.sha256, design)
    return known


def _new_design(owner, batch, name, info, sha, now, *, original):
    """The row for an accepted file: queued for processing, or an exact duplicate of `original`, done at once."""
    design = Design(
        owner=owner, batch=batch, title=title_from_name(name), original_name=name, sha256=sha, format=info.format,
        size_bytes=info.size_bytes, width=info.width, height=info.height, created_at=now, updated_at=now,
    )
    if original is not None:
        _copy_processing_results(design, original)
        design.status = Design.Status.DUPLICATE
        design.duplicate_of = original  # the object, so the upload's answer can name it without a query
        design.distance = 0
        design.duplicate_reason = "same file"
        design.processed_at = now
    return design


def _copy_processing_results(design, original):
    for name in PROCESSING_RESULTS:
        setattr(design, name, getattr(original, name))


def design_process(*, design_id, now=None):
    """Process one design: decode once, hash, thumbnail, find near duplicates, record the result.

    Idempotent and safe against a second worker: the row is claimed with an attempt number, and only the claim
    that is still current may write the result and bump the batch counters. Returns the status written, or None.
    """
    now = now or timezone.now()
    design = _claim(design_id, now=now)
    if design is None:
        return None  # already finished (or gone): nothing to do
    if design.attempts > MAX_PROCESSING_ATTEMPTS:
        return _finish(design, now=now, status=Design.Status.FAILED,
                       error=MESSAGES["gave_up"].format(attempts=MAX_PROCESSING_ATTEMPTS))
    try:
        with default_storage.open(design.original_key, "rb") as original:
            processed = processing.process_image(original, thumbnail_sizes=THUMBNAIL_SIZES)
    except inspection.ImageRejected as refusal:
        return _finish(design, now=now, status=Design.Status.FAILED, error=str(refusal))

    for thumbnail in processed.thumbnails:
        store(thumbnail_key(design.sha256, thumbnail.size), ContentFile(thumbnail.data))
    smallest = min(processed.thumbnails, key=lambda thumbnail: thumbnail.size)
    phash = similarity.to_signed64(processed.phash)
    fields = {
        "width": processed.width, "height": processed.height,
        "phash": phash, "dhash": similarity.to_signed64(processed.dhash), "detail": processed.detail,
        "colours": processed.colours, "fingerprint": processed.fingerprint,
        **{f"phash_{k}": chunk for k, chunk in enumerate(similarity.hash_chunks(processed.phash))},
        "has_thumbnail": True, "thumb_width": smallest.width, "thumb_height": smallest.height, "error": "",
    }
    match = find_near_duplicate(design, processed)
    if match:
        return _finish(design, now=now, status=Design.Status.DUPLICATE, duplicate_of_id=match[0],
                       distance=match[1], duplicate_reason=match[2], **fields)
    return _finish(design, now=now, status=Design.Status.READY, **fields)


def _claim(design_id, *, now):
    """Mark the design processing under a new attempt number; None if it is finished or gone."""
    claimable = Design.objects.filter(pk=design_id, status__in=[Design.Status.QUEUED, Design.Status.PROCESSING])
    if not claimable.update(status=Design.Status.PROCESSING, attempts=F("attempts") + 1, updated_at=now):
        return None
    # Only what processing reads: the whole row is ~30 columns, and the result is written by an update.
    design = Design.objects.only("id", "owner_id", "batch_id", "attempts", "sha256", "format").get(pk=design_id)
    library.changed(design.owner_id)
    return design


def find_near_duplicate(design, processed):
    """The owner's design that `processed` is a copy of, as (id, distance, reason), or None.

    Two stages: the indexed phash search finds candidates (its own phash and its crop probes, one query), then
    the closest SECOND_STAGE_CANDIDATES are compared on their fingerprints (similarity.duplicate_matches), which
    tolerate crops and small marks but not another colourway, another eye's view or another mark. Designs
    processed before fingerprints existed are judged by the rule they were judged by then.
    """
    queries = similarity.candidate_queries(processed.phash, processed.probe_hashes)
    distances = {}
    for pk, value in Design.objects.phash_candidates_any(owner_id=design.owner_id, queries=queries):
        if pk != design.pk and similarity.matches_any(queries, value):
            distances[pk] = similarity.hamming(processed.phash, value)
    nearest = sorted(distances, key=lambda pk: (distances[pk], pk))[:SECOND_STAGE_CANDIDATES]
    if not nearest:
        return None
    rows = {row[0]: row[1:] for row in Design.objects.filter(pk__in=nearest).values_list(
        "pk", "status", "duplicate_of_id", "dhash", "colours", "fingerprint")}
    confirmed = similarity.duplicate_matches(
        processed.fingerprint, [(pk, distances[pk], rows[pk][4]) for pk in nearest if rows[pk][4]])
    confirmed += [(pk, distances[pk], "similar hashes") for pk in nearest
                  if not rows[pk][4] and _legacy_duplicate(processed, distances[pk], *rows[pk][2:4])]
    confirmed.sort(key=lambda match: (match[1], match[0]))
    # Point at an original rather than at another copy of it; a copy's own original if no original is close.
    originals = [match for match in confirmed if rows[match[0]][0] == Design.Status.READY]
    if originals:
        return originals[0]
    if confirmed:
        pk, distance, reason = confirmed[0]
        return rows[pk][1] or pk, distance, reason
    return None


def _legacy_duplicate(processed, distance, dhash, colours):
    """The rule before fingerprints, for designs processed before them: near-blank designs need the dhash too."""
    return (distance <= settings.DUPLICATE_MAX_DISTANCE
            and (processed.detail >= LOW_DETAIL
                 or similarity.hamming(dhash or 0, processed.dhash) <= settings.DUPLICATE_MAX_DISTANCE)
            and similarity.colour_distance(colours, processed.colours) <= similarity.COLOUR_MAX_DISTANCE)


def near_duplicates(*, owner_id, phash, max_distance, exclude_id=None):
    """The owner's designs within `max_distance` bits of `phash`, closest first: [(id, distance)].

    Multi-index hashing: one index range probe per chunk, joined with UNION ALL, then verified exactly.
    """
    candidates = Design.objects.phash_candidates(owner_id=owner_id, phash=phash, max_distance=max_distance)
    if exclude_id is not None:
        candidates = [(pk, value) for pk, value in candidates if pk != exclude_id]
    return similarity.verify_candidates(phash, candidates, max_distance)


def _finish(design, *, now, status, **fields):
    """Write the final state if this worker's claim is still current, and count it in the batch once; the status
    written, or None."""
    # The write's own time, not the claim's: without Redis the gallery's version is the latest updated_at.
    written = timezone.now()
    with transaction.atomic():
        updated = Design.objects.filter(pk=design.pk, status=Design.Status.PROCESSING, attempts=design.attempts).update(
            status=status, updated_at=max(now, written), processed_at=now, **fields
        )
        if not updated:
            return None  # another worker took the design over; its result counts, not ours
        library.changed(design.owner_id)
        if design.batch_id:
            counter = {Design.Status.READY: "ready", Design.Status.DUPLICATE: "duplicates",
                       Design.Status.FAILED: "failed"}[status]
            UploadBatch.objects.filter(pk=design.batch_id).update(
                processed=F("processed") + 1, **{counter: F(counter) + 1}
            )
        if fields.get("has_thumbnail"):
            # Exact duplicates uploaded while this design was queued share its content, so they share its results.
            Design.objects.filter(
                owner_id=design.owner_id, sha256=design.sha256, status=Design.Status.DUPLICATE, has_thumbnail=False
            ).update(updated_at=max(now, written),
                     **{name: fields[name] for name in PROCESSING_RESULTS})
    return status


def design_mark_not_duplicate(*, design_id, owner, now=None):
    """The customer says this design is not a copy of the one it was flagged as: it becomes a ready design of its
    own, and the choice is remembered (``not_duplicate_of``). Idempotent; raises DesignError for any other design."""
    now = now or timezone.now()
    with transaction.atomic():
        design = Design.objects.select_for_update().filter(owner=owner, pk=design_id).first()
        if design is None or design.status != Design.Status.DUPLICATE or design.phash is None:
            if design is not None and design.not_duplicate_of_id and design.status == Design.Status.READY:
                return design  # said already
            raise DesignError(MESSAGES["not_a_duplicate"], status=409 if design else 404)
        design.not_duplicate_of_id = design.duplicate_of_id
        design.status = Design.Status.READY
        design.duplicate_of_id, design.distance, design.duplicate_reason = None, None, ""
        design.updated_at = now
        design.save(update_fields=["not_duplicate_of", "status", "duplicate_of", "distance", "duplicate_reason",
                                   "updated_at"])
        if design.batch_id:
            UploadBatch.objects.filter(pk=design.batch_id).update(duplicates=F("duplicates") - 1, ready=F("ready") + 1)
        library.changed(design.owner_id)
    return design


def design_sweep_stale(*, now=None):
    """Re-enqueue designs a dead worker (or a lost broker message) left queued or processing; returns how many."""
    now = now or timezone.now()
    from designs.tasks import process_design

    before = now - timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S)
    return reenqueue_stale(Design.objects.stale(before=before), process_design, now=now, group="designs")


def design_fingerprint(*, design_id):
    """Give a design processed before fingerprints existed its fingerprint, made from its original as processing
    makes it; True if written. Idempotent: a design that has one, is unfinished or is gone is left alone."""
    design = Design.objects.filter(pk=design_id, fingerprint__isnull=True, status__in=FINGERPRINTED_STATUSES).only(
        "id", "sha256", "format").first()
    if design is None:
        return False
    try:
        with default_storage.open(design.original_key, "rb") as original:
            processed = processing.process_image(original, thumbnail_sizes=THUMBNAIL_SIZES)
    except (inspection.ImageRejected, OSError) as exc:  # a lost or damaged original: the old rule keeps judging it
        logger.warning("no fingerprint for design %s: %s", design_id, exc)
        return False
    return bool(Design.objects.filter(pk=design_id, fingerprint__isnull=True).update(
        fingerprint=processed.fingerprint))


def design_fingerprint_backfill(*, limit=None):
    """Enqueue design_fingerprint for each finished design without a fingerprint, oldest first; returns how many."""
    from designs.tasks import fingerprint_design

    ids = Design.objects.filter(fingerprint__isnull=True, status__in=FINGERPRINTED_STATUSES).order_by(
        "created_at").values_list("pk", flat=True)
    return enqueue_each(fingerprint_design, ids[:limit].iterator() if limit else ids.iterator(), group="fingerprints")


TITLE_MAX_LENGTH = 200


def design_rename(*, design_id, owner, title, now=None):
    """Give the owner's design a new title; another customer's design is a 404 (whatever the title), a blank or
    overlong title a 400."""
    if not Design.objects.filter(pk=design_id, owner=owner).exists():
        raise DesignError("No such design.", status=404)
    if not isinstance(title, str):
        title = ""
    title = re.sub(r"[\x00-\x1f\x7f]", "", unicodedata.normalize("NFC", title)).strip()
    if not title:
        raise DesignError("Enter a title for the design.", details={"title": "required"})
    if len(title) > TITLE_MAX_LENGTH:
        raise DesignError(f"A title is at most {TITLE_MAX_LENGTH} characters.", details={"title": "too long"})
    now = now or timezone.now()
    with transaction.atomic():
        if not Design.objects.filter(pk=design_id, owner=owner).update(title=title, updated_at=now):
            raise DesignError("No such design.", status=404)  # deleted meanwhile
        library.changed(owner.pk)
    return Design.objects.get(pk=design_id)


def design_delete(*, design_id, owner):
    """Delete the owner's design unless an order uses it (409). Its files (original, thumbnails, mockup images) are
    deleted after commit when no other row, of any customer, names the same content."""
    from mockups.models import Mockup

    with transaction.atomic():
        design = Design.objects.select_for_update().filter(pk=design_id, owner=owner).first()
        if design is None:
            raise DesignError("No such design.", status=404)
        orders = design.order_items.values("order_id").distinct().count()
        if orders:
            raise DesignError(f"This design is kept: {orders} order{'s use' if orders > 1 else ' uses'} it.",
                              status=409, details={"orders": orders})
        mockups = Mockup.objects.filter(design=design).exclude(image_key="")
        mockup_keys = set(mockups.values_list("image_key", flat=True))
        try:
            design.delete()
        except ProtectedError:  # an order placed since the count above
            raise DesignError("This design is kept: an order uses it.", status=409) from None
        library.changed(owner.pk)
        sha256, image_format = design.sha256, design.format
        transaction.on_commit(lambda: _release_files(sha256, image_format, mockup_keys), robust=True)


def _release_files(sha256, image_format, mockup_keys):
    """Delete a deleted design's files that no remaining row needs; a failed delete only leaves a stray file."""
    from mockups.models import Mockup

    keys = set(mockup_keys) - set(Mockup.objects.filter(image_key__in=mockup_keys).values_list("image_key", flat=True))
    if not Design.objects.filter(sha256=sha256).exists():
        keys |= {original_key(sha256, image_format), *(thumbnail_key(sha256, size) for size in THUMBNAIL_SIZES)}
    for key in sorted(keys):
        try:
            default_storage.delete(key)
        except Exception:
            logger.exception("could not delete %s", key)
