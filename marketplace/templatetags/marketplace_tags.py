from django import template

from marketplace.models import Listing, ShopConnection
from marketplace.services import PUBLISHABLE

register = template.Library()


@register.inclusion_tag("marketplace/_panel.html", takes_context=True)
def marketplace_panel(context, design):
    """The design page's marketplace panel: this design's listings and a Publish button (two queries)."""
    user = context["request"].user
    return {
        "design": design,
        "csrf_token": context.get("csrf_token"),
        "connections": list(ShopConnection.objects.owned_by(user).only("id", "name").order_by("created_at", "id")),
        "listings": list(Listing.objects.for_page(user).filter(design=design)),
        "publishable": design.status in PUBLISHABLE,
    }
