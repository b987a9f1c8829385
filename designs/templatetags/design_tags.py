from django import template
from django.utils.html import format_html

from designs import wording
from designs.models import thumbnail_url

register = template.Library()


@register.filter
def likeness(distance):
    """A look-alike's phash distance in words."""
    return wording.likeness(distance)


@register.simple_tag
def duplicate_summary(design):
    """'A cropped copy of “Logo”' for a design flagged as a duplicate (``duplicate_of`` loaded)."""
    return wording.duplicate_summary(design.duplicate_reason, design.duplicate_of.title)


@register.simple_tag
def resolution_note(design):
    return wording.resolution_note(design, design.duplicate_of)


@register.simple_tag
def design_thumbnail(design, size=256, css_class="thumb"):
    """A lazy <img> with its real width and height, or a placeholder while the design is processed."""
    if design is None or not design.has_thumbnail:
        return format_html('<span class="{} placeholder" aria-label="thumbnail not ready yet"></span>', css_class)
    scale = size / 256
    return format_html(
        '<img class="{}" src="{}" width="{}" height="{}" loading="lazy" decoding="async" alt="{}">',
        css_class, thumbnail_url(design.sha256, size), round(design.thumb_width * scale),
        round(design.thumb_height * scale), design.title,
    )
