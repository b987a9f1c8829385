"""Designs (uploaded artwork), the batches they arrive in, and the queries pages and tasks make of them."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import connections, models
from django.urls import reverse
from django.utils import timezone

from core.access import staff_may
from designs import similarity
from imaging import fingerprint

THUMBNAIL_SIZES = (256, 640)  # px, longest side: gallery card and design page
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}  # by the format sniffed from the content


class UploadBatchQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Batches this user may see: their own, or everyone's for staff who may view batches and their designs."""
        if staff_may(user, "designs.view_uploadbatch", "designs.view_design"):
            return self
        return self.filter(owner=user)


class UploadBatch(models.Model):
    """One upload session: its counters say how far processing has come."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_batches")
    created_at = models.DateTimeField(default=timezone.now)
    total = models.PositiveIntegerField(default=0)  # accepted files, exact duplicates included
    processed = models.PositiveIntegerField(default=0)  # designs that reached a final status
    ready = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True)  # [{"name", "error"}] refused at upload, never stored

    objects = UploadBatchQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "upload batches"
        indexes = [models.Index(fields=["owner", "-created_at"], name="batch_owner_created")]

    def __str__(self):
        return f"Batch {self.id} ({self.total} files)"

    @property
    def is_done(self):
        return self.processed >= self.total


class DesignQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Designs this user may see: their own, or everyone's for staff with the view permission (as in the admin)."""
        return self if staff_may(user, "designs.view_design") else self.filter(owner=user)

    def for_gallery(self, owner):
        """The owner's library, newest first, with only what a gallery card shows."""
        return (
            self.filter(owner=owner)
            .only("id", "title", "status", "width", "height", "sha256", "has_thumbnail", "thumb_width",
                  "thumb_height", "created_at", "duplicate_of_id", "distance", "owner_id")
            .order_by("-created_at", "-id")
        )

    def duplicate_group(self, design):
        """The designs flagged as copies of `design`, and those their owner kept apart from it, closest first."""
        return (self.filter(models.Q(duplicate_of=design) | models.Q(not_duplicate_of=design))
                .only("id", "title", "distance", "duplicate_reason", "not_duplicate_of_id")
                .order_by(models.F("distance").asc(nulls_last=True), "id"))

    def phash_candidates(self, *, owner_id, phash, max_distance):
        """(id, phash) of the owner's designs that share a chunk with `phash` within the pigeonhole radius.

        One UNION ALL of index-only range probes, one per chunk (the measured fastest form); verify exactly after.
        Written as SQL: compiling the same four ORM probes cost more than running them (~1.3 ms, measured).
        """
        return self.phash_candidates_any(owner_id=owner_id, queries=[(phash, max_distance, None)])

    def phash_candidates_any(self, *, owner_id, queries):
        """phash_candidates() for several ``(phash, max_distance, chunk_radius)`` at once, probing
        similarity.candidate_chunk_values(queries): still one probe per chunk index (12 UNION ALL branches were
        planned in ~1.7 ms, measured)."""
        connection = connections[self.db]
        postgres = connection.vendor == "postgresql"
        table = connection.ops.quote_name(self.model._meta.db_table)
        values = similarity.candidate_chunk_values(queries)
        probes, params = [], []
        for k, chunk_values in enumerate(values):
            if postgres:
                # Verified inside the index scan: only true matches cross the wire, not every chunk collision.
                verify = " OR ".join(["bit_count((phash # %s)::bit(64)) <= %s"] * len(queries))
                probes.append(f"SELECT id, phash FROM {table} WHERE owner_id = %s AND phash_{k} = ANY(%s) "
                              f"AND ({verify})")
                params += [owner_id, sorted(chunk_values)]
                for phash, max_distance, _ in queries:
                    params += [similarity.to_signed64(phash & similarity.MASK64), max_distance]
            else:
                probes.append(f"SELECT id, phash FROM {table} WHERE owner_id = %s AND phash_{k} IN "
                              f"({', '.join(['%s'] * len(chunk_values))})")
                params += [owner_id, *sorted(chunk_values)]
        # On PostgreSQL, parallel plans are off for the web's connections (settings.py): a parallel append of these
        # four tiny index scans cost ~10 ms of worker start-up.
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(probes), params)
            rows = cursor.fetchall()
        # SQLite hands back the UUID primary key as its stored hex text.
        return [(pk if isinstance(pk, uuid.UUID) else uuid.UUID(pk), value) for pk, value in rows]

    def stale(self, *, before):
        """Designs left queued or processing since `before`: a worker died or the broker lost the task."""
        return self.filter(status__in=[Design.Status.QUEUED, Design.Status.PROCESSING], updated_at__lt=before)


class Design(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        READY = "ready"
        DUPLICATE = "duplicate"
        FAILED = "failed"

    FINAL_STATUSES = (Status.READY, Status.DUPLICATE, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="designs")
    batch = models.ForeignKey(UploadBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="designs")
    title = models.CharField(max_length=200)
    original_name = models.CharField(max_length=255)  # as the user named it; shown, never used as a path
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=8)  # PNG, JPEG or WEBP, sniffed from the content
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    has_thumbnail = models.BooleanField(default=False)  # the row knows; no storage call to find out
    thumb_width = models.PositiveSmallIntegerField(default=0)  # of the smallest thumbnail, for <img width height>
    thumb_height = models.PositiveSmallIntegerField(default=0)
    # 64-bit hashes as signed integers (bigint on both databases); chunks of the permuted phash for index probes.
    phash = models.BigIntegerField(null=True, blank=True)
    dhash = models.BigIntegerField(null=True, blank=True)
    detail = models.FloatField(null=True, blank=True)
    colours = models.BinaryField(null=True, blank=True, max_length=48)  # imaging's COLOUR_GRID signature
    # imaging.fingerprint: what the second stage compares candidates on; made by the worker, never in a request.
    fingerprint = models.BinaryField(null=True, blank=True, max_length=fingerprint.SIZE)
    phash_0 = models.IntegerField(null=True, blank=True)
    phash_1 = models.IntegerField(null=True, blank=True)
    phash_2 = models.IntegerField(null=True, blank=True)
    phash_3 = models.IntegerField(null=True, blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    distance = models.PositiveSmallIntegerField(null=True, blank=True)
    # A database default too: seed_demo and the benches COPY rows without this column.
    duplicate_reason = models.CharField(max_length=40, blank=True, default="", db_default="")
    # The customer said this design is not a copy of that one: it stays their own design, still listed as similar.
    not_duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = DesignQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="design_owner_created"),
            models.Index(fields=["owner", "sha256"], name="design_owner_sha"),
            models.Index(fields=["status", "updated_at"], name="design_status_updated"),
            models.Index(fields=["-created_at"], name="design_created"),
            # Multi-index hashing: one covering index per chunk, probed with UNION ALL (see designs/similarity.py).
            # phash and id are key columns, not INCLUDE, so the scan is index-only on SQLite too (it ignores INCLUDE).
            *[
                models.Index(fields=["owner", f"phash_{k}", "phash", "id"], name=f"design_owner_chunk{k}")
                for k in range(similarity.CHUNKS)
            ],
        ]

    def __str__(self):
        return self.title

    @property
    def original_key(self):
        return original_key(self.sha256, self.format)

    @property
    def download_name(self):
        """The customer's file name with the extension of what the file really is: "x.html" holding a PNG is
        offered as "x.png", so no browser or desktop opens it as a page (issue 16, finding 7)."""
        stem = PurePosixPath(self.original_name).stem.strip() or "design"
        return f"{stem}.{EXTENSIONS[self.format]}"

    def thumbnail_key(self, size=THUMBNAIL_SIZES[0]):
        return thumbnail_key(self.sha256, size)


def original_key(sha256, image_format):
    """Content-addressed storage key of an original: never the user's file name."""
    return f"originals/{sha256[:2]}/{sha256}.{EXTENSIONS[image_format]}"


def thumbnail_key(sha256, size):
    return f"thumbs/{sha256[:2]}/{sha256}-{size}.webp"


def thumbnail_url(sha256, size=THUMBNAIL_SIZES[0]):
    """The content-addressed URL the thumbnail under thumbnail_key(sha256, size) is served at."""
    return reverse("designs:thumbnail", kwargs={"sha256": sha256, "size": size})
