"""Worker entry points: ids in, one service call, nothing else."""

from core.tasks import Periodic
from marketplace import services


def publish_listing(listing_id):
    return services.listing_publish(listing_id=listing_id)


def refresh_token(connection_id):
    return services.shop_refresh_token(connection_id=connection_id)


def sweep_listings():
    """Every minute: resume due and stale listings, and renew access tokens that lapse soon."""
    return {"listings": services.listing_sweep(), "tokens": services.shop_refresh_expiring_tokens()}


PERIODIC = [Periodic("marketplace: resume listings, refresh tokens", sweep_listings, minutes=1)]
