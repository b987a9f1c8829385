from django.contrib import admin

from marketplace.models import Listing, ShopConnection


@admin.register(ShopConnection)
class ShopConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "base_url", "token_expires_at", "last_error", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name", "base_url", "owner__username")
    fields = ("owner", "name", "base_url", "token_expires_at", "last_error", "created_at", "updated_at")
    readonly_fields = fields  # sealed credentials are never shown, not even to staff


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("id", "design", "connection", "status", "attempts", "next_attempt_at", "external_id",
                    "updated_at")
    list_select_related = ("design", "connection")
    list_filter = ("status",)
    search_fields = ("external_id",)
    raw_id_fields = ("design", "connection")
    readonly_fields = ("idempotency_key", "claimed_at", "created_at", "updated_at", "published_at")
    show_full_result_count = False
