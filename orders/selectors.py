"""Read-side helpers for order pages: what to show, in a fixed number of queries."""

from mockups.models import Mockup, mockup_preview_url


def template_score(template_name, item):
    """How well a garment template fits an order line: its name naming the colour counts most, then the garment."""
    name = template_name.casefold()
    return (item.color.casefold() in name) * 2 + (item.product.garment.casefold() in name
                                                  or item.product.name.casefold() in name)


def proof_lines(order):
    """Each item of `order` (loaded with `for_detail`) with the URL of its design's best ready mockup: the template
    naming the line's colour and garment wins. One query for all lines."""
    items = list(order.items.all())
    mockups = (Mockup.objects.filter(design_id__in={item.design_id for item in items}, status=Mockup.Status.READY)
               .select_related("template").only("id", "design_id", "status", "image_key", "image_width",
                                                "image_height", "template__name").order_by("created_at", "id"))
    by_design = {}
    for mockup in mockups:
        by_design.setdefault(mockup.design_id, []).append(mockup)
    lines = []
    for item in items:
        candidates = by_design.get(item.design_id, [])
        best = max(candidates, key=lambda mockup: template_score(mockup.template.name, item), default=None)
        lines.append({"item": item, "mockup": best, "mockup_url": mockup_preview_url(best) if best else None})
    return lines
