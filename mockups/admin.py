from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from core.pagination import EstimatedCountPaginator
from imaging.compositing import fitted_size
from mockups import services
from mockups.models import (
    MOCKUP_PREVIEW_SIDE,
    GarmentTemplate,
    Mockup,
    mockup_image_url,
    mockup_preview_url,
    template_photo_url,
    template_preview_url,
)

AREA_FIELDS = ("area_x", "area_y", "area_width", "area_height")
ADMIN_THUMB_SIDE = 80  # px: list rows stay short
ADMIN_PHOTO_HEIGHT = 400  # px: the whole photo and its print area fit on a laptop screen


class GarmentTemplateForm(forms.ModelForm):
    """The photo is asked for when a template is added; the print area is checked against its real size."""

    photo = forms.FileField(help_text="PNG, JPEG or WebP product photo. The print area is measured on it, in px.")

    class Meta:
        model = GarmentTemplate
        fields = ("name", "photo", *AREA_FIELDS, "shading", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.photo_sha256:  # an existing template keeps its photo: a new photo is a new template
            del self.fields["photo"]

    def clean_photo(self):
        photo = self.cleaned_data["photo"]
        try:
            info = services.inspect_template_photo(photo)
        except services.MockupError as refusal:
            raise ValidationError(refusal.message) from None
        # The model's clean() checks the print area against these.
        self.instance.photo_width, self.instance.photo_height = info.width, info.height
        return photo


@admin.register(GarmentTemplate)
class GarmentTemplateAdmin(admin.ModelAdmin):
    form = GarmentTemplateForm
    list_display = ("preview", "name", "print_area", "shading", "active", "created_at")
    list_display_links = ("preview", "name")
    list_filter = ("active",)
    search_fields = ("^name",)
    list_per_page = 50
    readonly_fields = ("photo_with_area", "photo_size")

    def get_fields(self, request, obj=None):
        fields = ("name", *AREA_FIELDS, "shading", "active")
        return ("photo", *fields) if obj is None else ("photo_with_area", "photo_size", *fields)

    def save_model(self, request, obj, form, change):
        # Services own every write; the form has already validated the photo and the print area.
        data = form.cleaned_data
        values = {name: data[name] for name in ("name", *AREA_FIELDS, "shading", "active")}
        if change:
            services.template_update(template=obj, **values)
        else:
            created = services.template_create(photo_file=data["photo"], **values)
            obj.pk = created.pk
            obj.refresh_from_db()

    @admin.display(description="")
    def preview(self, template):
        width, height = fitted_size(template.photo_width, template.photo_height, ADMIN_THUMB_SIDE)
        return format_html('<img src="{}" width="{}" height="{}" loading="lazy" alt="">',
                           template_preview_url(template), width, height)

    @admin.display(description="Print area")
    def print_area(self, template):
        area = template.area
        return f"{area.width}×{area.height} px at ({area.x}, {area.y})"

    @admin.display(description="Photo")
    def photo_size(self, template):
        return f"{template.photo_width}×{template.photo_height} px, {template.photo_format}"

    @admin.display(description="Photo and print area")
    def photo_with_area(self, template):
        """The photo with its print area outlined (an SVG overlay in the photo's own px, so no maths here)."""
        area = template.area
        display_width = round(template.photo_width * ADMIN_PHOTO_HEIGHT / template.photo_height)
        return format_html(
            '<svg viewBox="0 0 {w} {h}" width="{dw}" height="{dh}" role="img" aria-label="{name}">'
            '<image href="{src}" width="{w}" height="{h}"/>'
            '<rect x="{x}" y="{y}" width="{aw}" height="{ah}" fill="none" stroke="#e11d48" stroke-width="4" '
            'stroke-dasharray="16 10"/></svg>',
            w=template.photo_width, h=template.photo_height, dw=display_width, dh=ADMIN_PHOTO_HEIGHT,
            name=template.name, src=template_photo_url(template), x=area.x, y=area.y, aw=area.width, ah=area.height,
        )


@admin.register(Mockup)
class MockupAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "design_title", "template_name", "owner_name", "status", "attempts", "updated_at")
    list_filter = ("status",)
    search_fields = ("=owner__username",)  # index-friendly lookups only
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-created_at", "-id")
    raw_id_fields = ("design", "template", "owner")
    readonly_fields = ("large", "design", "template", "owner", "status", "error", "attempts", "image_key",
                       "image_width", "image_height", "created_at", "updated_at")
    fields = readonly_fields

    def get_queryset(self, request):
        return Mockup.objects.for_admin_list()

    def has_add_permission(self, request):
        return False  # mockups are made by customers' requests and rendered by workers

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def thumbnail(self, mockup):
        url = mockup_preview_url(mockup)
        if not url:
            return "-"
        width, height = fitted_size(mockup.image_width, mockup.image_height, ADMIN_THUMB_SIDE)
        return format_html('<img src="{}" width="{}" height="{}" loading="lazy" alt="">', url, width, height)

    @admin.display(description="Image")
    def large(self, mockup):
        url = mockup_image_url(mockup)
        if not url:
            return "-"
        width, height = fitted_size(mockup.image_width, mockup.image_height, MOCKUP_PREVIEW_SIDE)
        return format_html('<a href="{}"><img src="{}" width="{}" height="{}" alt=""></a>', url,
                           mockup_preview_url(mockup), width, height)

    @admin.display(description="Design", ordering="design__title")
    def design_title(self, mockup):
        return mockup.design.title

    @admin.display(description="Template", ordering="template__name")
    def template_name(self, mockup):
        return mockup.template.name

    @admin.display(description="Owner", ordering="owner__username")
    def owner_name(self, mockup):
        return mockup.owner.username
