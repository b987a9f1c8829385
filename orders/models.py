"""Products, orders with their items, payments and timeline, saved addresses, carriers, and the mail outbox."""

import uuid
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from core.access import staff_may


class Product(models.Model):
    """A blank garment that can be decorated. Sizes and colours are comma-separated lists, edited by staff."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    garment = models.CharField(max_length=60, default="T-shirt")
    sizes = models.CharField(max_length=120, default="S,M,L,XL")
    colors = models.CharField(max_length=200, default="white,black")
    price = models.DecimalField(max_digits=8, decimal_places=2)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def size_list(self):
        return [size.strip() for size in self.sizes.split(",") if size.strip()]

    @property
    def color_list(self):
        return [color.strip() for color in self.colors.split(",") if color.strip()]


class OrderQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Orders this user may see: their own, or everyone's for staff with the view permission (as in the admin)."""
        return self if staff_may(user, "orders.view_order") else self.filter(customer=user)

    def for_customer_list(self, user):
        """The customer's orders, newest first, with only what the list shows."""
        return (
            self.filter(customer=user)
            .only("id", "number", "status", "payment_status", "total", "item_count", "created_at", "customer_id")
            .order_by("-created_at", "-id")
        )

    def for_detail(self):
        """An order with its items, their products and designs, its payments, carrier and timeline: a fixed number
        of queries."""
        # Only what the order page and its API document show: a design row has ~30 columns.
        items = OrderItem.objects.select_related("product", "design").only(
            "order", "product__name", "product__garment", "design__title", "design__sha256",
            "design__has_thumbnail", "design__thumb_width", "design__thumb_height", "design__width",
            "design__height", "size", "color", "quantity", "unit_price",
        ).order_by("id")
        return self.select_related("carrier", "proof_decided_by").prefetch_related(
            models.Prefetch("items", queryset=items),
            models.Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")),
            models.Prefetch("payments", queryset=Payment.objects.order_by("received_on", "created_at")),
        )

    def with_first_design(self):
        """Annotates the sha256 of the first item's design when it has a thumbnail (else None), as one correlated
        subquery, not a join per row."""
        first_item = OrderItem.objects.filter(order=OuterRef("pk")).order_by("id")
        thumbnail_sha = models.Case(models.When(design__has_thumbnail=True, then=models.F("design__sha256")))
        return self.annotate(first_design_thumb_sha=Subquery(first_item.values(sha=thumbnail_sha)[:1]))


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"
        PROOFING = "proofing"
        APPROVED = "approved"
        IN_PRODUCTION = "in_production", "In production"
        REVISING = "revising", "Changes requested"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        REFUNDED = "refunded"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid"
        PAID = "paid"
        REFUNDED = "refunded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.PositiveBigIntegerField(unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField()
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    payment_status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    payment_method = models.CharField(max_length=20, default="bank_transfer")
    # A snapshot of the address as ordered (DESIGN.md's shape); None until the customer gives one.
    shipping_address = models.JSONField(null=True, blank=True)
    note = models.TextField("note to the shop", blank=True, max_length=2000)
    release_unpaid = models.BooleanField(default=False, help_text="Trusted customer: production may start unpaid.")
    proof_sent_at = models.DateTimeField(null=True, blank=True)
    proof_decided_at = models.DateTimeField(null=True, blank=True)
    # No index on these references: nothing filters by them, and building one locks a million-row table.
    proof_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+", db_index=False)
    proof_comment = models.TextField(blank=True, max_length=2000)
    carrier = models.ForeignKey("Carrier", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    tracking_number = models.CharField(max_length=60, blank=True)
    item_count = models.PositiveIntegerField(default=0)  # kept by the service: a COUNT per row is what made admins slow
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = OrderQuerySet.as_manager()

    class Meta:
        indexes = [
            # Lists order by (-created_at, -id): the admin appends the primary key to make its ordering total, and
            # an index without it makes PostgreSQL sort the whole table (200+ ms at 10^5 orders, measured).
            models.Index(fields=["-created_at", "-id"], name="order_created_id"),
            models.Index(fields=["status", "-created_at", "-id"], name="order_status_created_id"),
            models.Index(fields=["payment_status", "-created_at", "-id"], name="order_payment_created_id"),
            models.Index(fields=["customer", "-created_at", "-id"], name="order_customer_created_id"),
            models.Index(Upper("email"), name="order_email_upper"),
        ]

    def __str__(self):
        return self.display_number

    def get_absolute_url(self):
        return reverse("orders:detail", args=[self.pk])

    @property
    def display_number(self):
        return f"TL-{self.number:06d}"

    @property
    def tracking_url(self):
        """The carrier's tracking page for this parcel, once it has a carrier and a tracking number."""
        if self.carrier_id is None or not self.tracking_number:
            return None
        return self.carrier.tracking_url(self.tracking_number)


class Carrier(models.Model):
    """A shipping company and the address of its tracking page (`{number}` stands for the tracking number)."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=60)
    tracking_url_template = models.CharField(max_length=300, help_text="e.g. https://example.com/track?n={number}")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def tracking_url(self, number):
        return self.tracking_url_template.replace("{number}", quote(number, safe=""))


class Payment(models.Model):
    """Money received for an order, recorded by staff (bank transfer) or, later, a card provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=20, default="bank_transfer")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    received_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # From the form that recorded it: a double submit finds the first payment instead of recording a second.
    request_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["order", "received_on"], name="payment_order")]

    def __str__(self):
        return f"{self.amount} on {self.received_on}"


class AddressQuerySet(models.QuerySet):
    def for_customer(self, user):
        """A customer's saved addresses, the most recently used first."""
        return self.filter(customer=user).order_by("-used_at", "-id")


class Address(models.Model):
    """A shipping address a customer saved at checkout, offered again on the next order."""

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=120)
    line1 = models.CharField("street and number", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    region = models.CharField("state or region", max_length=100, blank=True)
    country = CountryField()
    phone = models.CharField(max_length=30, blank=True)
    used_at = models.DateTimeField(default=timezone.now)

    objects = AddressQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["customer", "-used_at"], name="address_customer_used")]
        verbose_name_plural = "addresses"

    def __str__(self):
        return f"{self.name}, {self.line1}, {self.postal_code} {self.city}, {self.country.code}"

    def as_dict(self):
        """The address in DESIGN.md's `shipping_address` shape."""
        return {field: (self.country.code if field == "country" else getattr(self, field)) for field in ADDRESS_FIELDS}


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone")



class OrderNumber(models.Model):
    """A single counter row: numbers are handed out under its row lock, so they are unique and gap-free."""

    last = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"last order number {self.last}"


class DailyOrderStats(models.Model):
    """Orders and revenue per creation day and current status, kept by the services.

    The dashboard sums a few hundred of these rows instead of scanning a million orders (measured: 9-15 s dashboards
    elsewhere, eight COUNT queries over the whole table).
    """

    day = models.DateField()
    status = models.CharField(max_length=16, choices=Order.Status.choices)
    orders = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "status"], name="daily_stats_day_status")]
        verbose_name_plural = "daily order stats"

    def __str__(self):
        return f"{self.day} {self.status}: {self.orders}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    design = models.ForeignKey("designs.Design", on_delete=models.PROTECT, related_name="order_items")
    size = models.CharField(max_length=12)
    color = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["order", "id"], name="orderitem_order")]

    def __str__(self):
        # Own columns only: a str() that loads the product or design would cost a query per row in admin inlines.
        return f"{self.quantity} × {self.size}, {self.color}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class OrderEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        STATUS = "status"
        MAIL = "mail"
        PAYMENT = "payment"
        NOTE = "note"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message = models.CharField(max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)  # who did it; the timeline is read by order
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["order", "created_at"], name="orderevent_order")]

    def __str__(self):
        return self.message


SWEEP_GRACE_S = 60  # a new mail's own task normally sends it within this; only then is the sweeper's copy useful


class OutgoingMailQuerySet(models.QuerySet):
    def due(self, *, now):
        """Mail to send now: queued and due, or claimed so long ago that its worker must have died."""
        stale = now - timezone.timedelta(seconds=settings.SWEEP_STALE_AFTER_S)
        return self.filter(
            models.Q(status=OutgoingMail.Status.QUEUED, next_attempt_at__lte=now)
            | models.Q(status=OutgoingMail.Status.SENDING, claimed_at__lt=stale)
        )

    def for_sweeper(self, *, now):
        """Due mail the sweeper should enqueue: not the fresh rows whose own after-commit task is still on its way."""
        return self.due(now=now).exclude(status=OutgoingMail.Status.QUEUED, attempts=0,
                                          created_at__gt=now - timezone.timedelta(seconds=SWEEP_GRACE_S))


class OutgoingMail(models.Model):
    """The outbox: written in the same transaction as the order change, sent after commit, exactly once."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="mails")
    kind = models.CharField(max_length=30)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OutgoingMailQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="mail_status_next"),
            models.Index(fields=["order", "created_at"], name="mail_order"),
        ]

    def __str__(self):
        return f"{self.kind} to {self.to}"
