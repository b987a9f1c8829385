"""Proofs: the mockups a customer approves, one per order line on its garment and colour."""

from mockups.models import GarmentTemplate
from mockups.services import MockupError, mockup_request
from orders.selectors import template_score


def proof_request_mockups(*, order, by):
    """Queue the mockup of every line of `order` on the template that best matches its garment and colour (made
    once per design and template; workers render them). Returns how many lines have a mockup on the way or ready."""
    templates = list(GarmentTemplate.objects.for_picker())
    if not templates:
        return 0
    requested = 0
    for item in order.items.select_related("product").only("design_id", "color", "product__name",
                                                           "product__garment"):
        template = max(templates, key=lambda template: template_score(template.name, item))
        try:
            mockup_request(owner=by, design_id=item.design_id, template_id=template.pk)
            requested += 1
        except MockupError:
            continue  # a design still processing or failed: the line shows its thumbnail instead
    return requested
