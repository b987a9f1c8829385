import re
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import F, OrderBy, Value
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django_countries import countries

from core.pagination import EstimatedCountPaginator, sorting_beats_walking
from designs.models import thumbnail_url
from designs.templatetags.design_tags import design_thumbnail
from orders import emails, transitions
from orders.models import Address, Carrier, Order, OrderEvent, OrderItem, OutgoingMail, Payment, Product
from orders.order_admin_views import OrderWorkflowAdminMixin
from orders.production_admin import ProductionAdminMixin

LIST_COLUMNS = ("id", "number", "customer_id", "email", "name", "status", "payment_status", "item_count", "total",
                "created_at", "updated_at")
PRINT_DPI = 300  # print files are judged at 300 dpi: 4500 px make a 15-inch print


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "garment", "price", "sizes", "colors", "active")
    list_filter = ("active", "garment")
    search_fields = ("name",)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = ("preview", "product", "design", "print_size", "size", "color", "quantity", "unit_price")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "design")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def preview(self, item):
        return design_thumbnail(item.design, 256, "mini")

    @admin.display(description="Print size")
    def print_size(self, item):
        width, height = item.design.width or 0, item.design.height or 0
        return f"{width} × {height} px ({width / PRINT_DPI:.1f} × {height / PRINT_DPI:.1f} in at {PRINT_DPI} dpi)"


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ("received_on", "amount", "method", "note", "recorded_by", "created_at")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ("created_at", "kind", "message", "actor")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False


class OutgoingMailInline(admin.TabularInline):
    model = OutgoingMail
    extra = 0
    fields = ("kind", "to", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


# ASCII digits only: str.isdigit() also takes "²", which int() refuses. 30 digits are past any order number (Django
# then matches nothing) and far below the 4,300 digits int() reads.
ORDER_NUMBER = re.compile(r"(?:TL-)?([0-9]{1,30})", re.IGNORECASE)


def _order_number(term):
    """The order number a search term names (TL-000123, 000123 or 123), or None."""
    match = ORDER_NUMBER.fullmatch(term)
    return int(match[1]) if match else None


def _orders(count):
    return f"{count} order" if count == 1 else f"{count} orders"


def _status_action(status):
    def action(modeladmin, request, queryset):
        changed, refused = transitions.order_bulk_transition(
            order_ids=list(queryset.values_list("pk", flat=True)), to=status, by=request.user
        )
        modeladmin.message_user(request, f"{_orders(changed)} marked {status.label.lower()}.", messages.SUCCESS)
        if refused:
            modeladmin.message_user(
                request, f"{_orders(refused)} could not become {status.label.lower()} now (open an order to see "
                         f"why).", messages.WARNING,
            )

    action.__name__ = f"mark_{status.value}"
    action.short_description = f"Mark selected orders {status.label.lower()}"
    return action


# Shipping needs a carrier and tracking number each, and changes need the customer's comment: one order at a time.
BULK_STATUSES = [status for status in Order.Status
                 if status not in (Order.Status.RECEIVED, Order.Status.SHIPPED, Order.Status.REVISING)]


class PlainActionCheckbox:
    """A ModelAdmin mixin: each row's action checkbox written as one string, in Django's markup (a test compares
    the two). Django renders a CheckboxInput through the template engine for every row: ~30% of the order list's
    time at 50 rows."""

    def action_checkbox(self, obj):
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label)


@admin.register(Order)
class OrderAdmin(ProductionAdminMixin, OrderWorkflowAdminMixin, PlainActionCheckbox, admin.ModelAdmin):
    list_display = ("display_number", "preview", "name", "email", "status", "payment_status", "item_count", "total",
                    "created_at")
    list_filter = ("status", "payment_status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("email",)  # shows the search box; get_search_results decides how each term is searched
    search_help_text = "An order number (TL-000123 or 123) or the start of an email address."
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_select_related = False  # no related object is shown: name and email are the order's own columns
    raw_id_fields = ("customer",)
    # State changes go through the workflow buttons above the form (transitions.py), never through Save.
    readonly_fields = ("number", "item_count", "total", "created_at", "updated_at", "status", "payment_status",
                       "payment_method", "release_unpaid", "ship_to", "note", "proof_sent_at",
                       "proof_decided_at", "proof_decided_by", "proof_comment", "carrier", "tracking_number")
    exclude = ("shipping_address",)  # shown as `ship_to`; set by the customer (checkout or order page)
    inlines = [OrderItemInline, PaymentInline, OrderEventInline, OutgoingMailInline]
    actions = [_status_action(status) for status in BULK_STATUSES]
    ordering = ("-created_at",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).with_first_design()
        if getattr(request.resolver_match, "url_name", "") == "orders_order_changelist":
            # What the list shows, all carried by the e-mail search's covering index (migrations 0005, 0009).
            queryset = queryset.only(*LIST_COLUMNS)
        return queryset

    def get_search_results(self, request, queryset, search_term):
        """Numbers by the unique index, emails by prefix (an index range on PostgreSQL); never a scan."""
        term = search_term.strip()
        if not term:
            return queryset, False
        number = _order_number(term)
        if number is not None:
            return queryset.filter(number=number), False
        return queryset.filter(email__istartswith=term), False

    def get_ordering(self, request):
        """Newest first. For an e-mail search that matches few orders, by an expression no index serves, so that
        PostgreSQL reads the matches by the e-mail index and sorts them instead of walking the newest orders.
        Django asks twice a page (for the queryset and for the change list): the answer is kept on the request."""
        if not hasattr(request, "_order_admin_ordering"):
            request._order_admin_ordering = self._ordering_for(request)
        return request._order_admin_ordering

    def _ordering_for(self, request):
        # The term as the change list reads it: Django's search form refuses NUL (with a message), which
        # PostgreSQL cannot take in a query.
        search = self.get_changelist(request).search_form_class(request.GET)
        term = (search.cleaned_data.get(SEARCH_VAR) or "").strip() if search.is_valid() else ""
        if term and _order_number(term) is None and sorting_beats_walking(
                Order.objects.filter(email__istartswith=term), self.list_per_page):
            return [OrderBy(F("created_at") + Value(timedelta(0)), descending=True), "-pk"]
        return super().get_ordering(request)

    @admin.display(description="Shipping address")
    def ship_to(self, order):
        address = order.shipping_address
        if not address:
            return "None yet: production waits for it."
        lines = [address.get(key, "") for key in ("name", "line1", "line2")]
        lines += [f"{address.get('postal_code', '')} {address.get('city', '')}".strip(), address.get("region", ""),
                  countries.name(address.get("country", "")), address.get("phone", "")]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))

    @admin.display(description="Order", ordering="number")
    def display_number(self, order):
        return order.display_number

    @admin.display(description="")
    def preview(self, order):
        # From the annotated column: building a Design per row cost ~4 ms a page (measured).
        if not order.first_design_thumb_sha:
            return ""
        return format_html('<img class="mini" src="{}" width="56" height="56" loading="lazy" decoding="async" alt="">',
                           thumbnail_url(order.first_design_thumb_sha))


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "tracking_url_template", "active")
    show_full_result_count = False


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("name", "line1", "postal_code", "city", "country", "customer", "used_at")
    search_fields = ("name", "postal_code")
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    list_per_page = 50
    show_full_result_count = False


@admin.register(OutgoingMail)
class OutgoingMailAdmin(PlainActionCheckbox, admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to",)
    list_per_page = 50
    show_full_result_count = False
    raw_id_fields = ("order",)
    actions = ["retry"]

    @admin.action(description="Retry sending the selected failed mails")
    def retry(self, request, queryset):
        count = emails.mail_retry(mail_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} mails queued again.", messages.SUCCESS)
