from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.pagination import EstimatedCountPaginator
from designs.models import Design, UploadBatch
from designs.templatetags.design_tags import design_thumbnail


@admin.register(Design)
class DesignAdmin(admin.ModelAdmin):
    list_display = ("preview", "title", "owner", "status", "duplicate_link", "width", "height", "created_at")
    list_filter = ("status", "duplicate_reason", "format", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=sha256", "^title", "=owner__username")  # index-friendly lookups only
    list_select_related = ("owner",)
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    raw_id_fields = ("owner", "batch", "duplicate_of", "not_duplicate_of")
    readonly_fields = ("preview_large", "duplicate_group", "duplicate_reason", "not_duplicate_of", "sha256", "phash",
                       "dhash", "detail", "phash_0", "phash_1", "phash_2", "phash_3", "attempts", "processed_at",
                       "updated_at")

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()  # an edit is a change: the owner's gallery is cached under the latest one
        super().save_model(request, obj, form, change)

    @admin.display(description="")
    def preview(self, design):
        return design_thumbnail(design, 256, "mini")

    @admin.display(description="Preview")
    def preview_large(self, design):
        return design_thumbnail(design, 640, "large")

    @admin.display(description="Duplicate group")
    def duplicate_group(self, design):
        """The designs flagged as copies of this one, and those their owner kept apart: each with its reason."""
        copies = Design.objects.duplicate_group(design)[:50]
        if not copies:
            return "-"
        return format_html_join(
            mark_safe("<br>"), '<a href="../../{}/change/">{}</a>: {} ({} bits)',
            ((c.pk, c.title, _link_reason(c), c.distance if c.distance is not None else "-") for c in copies),
        )

    @admin.display(description="Duplicate of", ordering="duplicate_of")
    def duplicate_link(self, design):
        if not design.duplicate_of_id:
            return "-"
        return format_html('<a href="../design/{}/change/">{}</a> ({}, {} bits)', design.duplicate_of_id,
                           str(design.duplicate_of_id)[:8], design.duplicate_reason or "copy", design.distance)


def _link_reason(copy):
    if copy.not_duplicate_of_id:
        return "owner said not a duplicate"
    return copy.duplicate_reason or "copy"


@admin.register(UploadBatch)
class UploadBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "created_at", "total", "processed", "ready", "duplicates", "failed")
    list_select_related = ("owner",)
    list_per_page = 50
    show_full_result_count = False
    raw_id_fields = ("owner",)
    paginator = EstimatedCountPaginator
