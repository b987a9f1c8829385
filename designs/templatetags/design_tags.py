from django import template
from django.utils.html import format_html

from designs.models import thumbnail_url

register = template.Library()


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
