"""Shop connections (a user's account on a marketplace) and listings (a design published there)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from designs.models import Design


class ShopConnectionQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The user's own connections: nobody else's, staff included (they hold the user's credentials)."""
        return self.filter(owner=user)

    def for_page(self, user):
        """The user's connections as the marketplace page lists them, oldest first."""
        return self.owned_by(user).only("id", "owner_id", "name", "base_url", "token_expires_at", "last_error",
                                        "created_at").order_by("created_at", "id")

    def tokens_expiring(self, *, before):
        """Connections holding a token that lapses before `before`: the refresher renews them."""
        return self.filter(token_expires_at__isnull=False, token_expires_at__lt=before)


class ShopConnection(models.Model):
    """A user's account on one marketplace. Credentials and the access token are stored sealed (Fernet), never plain."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_connections")
    name = models.CharField(max_length=100)  # shown to the user: the marketplace's host unless they named it
    base_url = models.URLField(max_length=300)
    credentials_sealed = models.TextField()  # Fernet token of {"api_key", "api_secret"}: see marketplace/vault.py
    access_token_sealed = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ShopConnectionQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "base_url"], name="shop_owner_url")]
        indexes = [models.Index(fields=["token_expires_at"], name="shop_token_expiry")]

    def __str__(self):
        return self.name


class ListingQuerySet(models.QuerySet):
    def owned_by(self, user):
        """Listings on the user's own connections."""
        return self.filter(connection__owner=user)

    def for_page(self, user):
        """The user's listings, newest first, with the design title and the shop name in the same query."""
        return (
            self.owned_by(user)
            .select_related("design", "connection")
            .only("id", "status", "external_id", "last_error", "attempts", "next_attempt_at", "created_at",
                  "updated_at", "published_at", "design__id", "design__title", "connection__id",
                  "connection__name")
            .order_by("-created_at", "-id")
        )

    def due(self, *, now):
        """Listings whose (next) publishing attempt is due: queued or waiting for the breaker, and time has come."""
        return self.filter(status__in=[Listing.Status.QUEUED, Listing.Status.WAITING], next_attempt_at__lte=now)

    def stale(self, *, before):
        """Listings claimed before `before` and still publishing: their worker died mid-call."""
        return self.filter(status=Listing.Status.PUBLISHING, claimed_at__lt=before)


class Listing(models.Model):
    """A design published (or being published) to one of its owner's shops."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        FAILED = "failed"
        WAITING = "waiting"  # the marketplace's circuit breaker is open; resumed when it half-opens

    FINAL_STATUSES = (Status.PUBLISHED, Status.FAILED)
    BADGES = {"queued": "queued", "publishing": "processing", "published": "ready", "failed": "failed",
              "waiting": "duplicate"}  # the stylesheet's badge colours: blue, green, red, amber

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    design = models.ForeignKey(Design, on_delete=models.CASCADE, related_name="listings")
    connection = models.ForeignKey(ShopConnection, on_delete=models.CASCADE, related_name="listings")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    external_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Sent as Idempotency-Key on every attempt: a retried or duplicated call never creates a second listing.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["design", "connection"], name="listing_design_connection")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="listing_status_due"),
            models.Index(fields=["status", "claimed_at"], name="listing_status_claimed"),
            models.Index(fields=["connection", "-created_at"], name="listing_connection_created"),
        ]

    def __str__(self):
        return f"{self.design_id} on {self.connection_id} ({self.status})"

    @property
    def badge(self):
        return self.BADGES[self.status]

    @property
    def is_final(self):
        return self.status in self.FINAL_STATUSES
