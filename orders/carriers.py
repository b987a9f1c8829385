"""The carriers a new shop starts with (migration 0007 installs the same list; staff edit them in the admin)."""

from orders.models import Carrier

DEFAULT_CARRIERS = [  # code, name, tracking page
    ("dhl", "DHL", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={number}"),
    ("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{number}"),
    ("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    ("gls", "GLS", "https://gls-group.com/track/{number}"),
    ("royal-mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
    ("ups", "UPS", "https://www.ups.com/track?tracknum={number}"),
    ("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
]


def carriers_install():
    """Add the default carriers that are missing; staff's edits to existing ones stay. Idempotent."""
    for code, name, template in DEFAULT_CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name, "tracking_url_template": template})
