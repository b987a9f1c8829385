"""What the design pages and the API read: each a QuerySet or a list built from the QuerySet methods in models.py."""

from designs import services
from designs.models import Design

SIMILAR_MAX_DISTANCE = 11  # bits: wider than the duplicate threshold: at 12 the probes grow 5x (radius 3)
SIMILAR_LIMIT = 12


def gallery_designs(owner, *, only_duplicates=False):
    """The owner's library as the gallery lists it, or only its duplicates."""
    designs = Design.objects.for_gallery(owner)
    return designs.filter(status=Design.Status.DUPLICATE) if only_duplicates else designs


def similar_designs(design, *, limit=SIMILAR_LIMIT):
    """[(id, distance)] of the owner's designs that look like this one, closest first."""
    if design.phash is None:
        return []
    matches = services.near_duplicates(owner_id=design.owner_id, phash=design.phash,
                                       max_distance=SIMILAR_MAX_DISTANCE, exclude_id=design.pk)
    return matches[:limit]


def look_alikes(design):
    """The designs of similar_designs(), closest first, each with what its tile shows and its
    `similarity_distance`."""
    matches = dict(similar_designs(design))
    similar = sorted(
        Design.objects.filter(pk__in=matches).only("id", "title", "sha256", "has_thumbnail", "thumb_width",
                                                   "thumb_height", "status"),
        key=lambda other: (matches[other.pk], str(other.pk)),
    )
    for other in similar:
        other.similarity_distance = matches[other.pk]
    return similar


def orders_using(design):
    """How many orders have a line with this design (such a design is kept, not deleted)."""
    return design.order_items.values("order_id").distinct().count()
