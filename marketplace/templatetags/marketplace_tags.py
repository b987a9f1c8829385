from django import template

from marketplace.models import Listing, ShopConnection
from marketplace.services import PUBLISHABLE

register = template.Library()


@register.inclusion_tag("marketplace/_panel.html", takes_context=True)
def marketplace_panel(context, design):
    """The design page's marketplace panel: this design's listings and a Publish button (two queries; one for a
    customer without a shop, whose designs cannot have listings: they go with their shop)."""
    user = context["request"].user
    connections = list(ShopConnection.objects.owned_by(user).only("id", "name").order_by("created_at", "id"))
    return {
        "design": design,
        "csrf_token": context.get("csrf_token"),
        "connections": connections,
        "listings": list(Listing.objects.for_page(user).filter(design=design)) if connections else [],
        "publishable": design.status in PUBLISHABLE,
    }
