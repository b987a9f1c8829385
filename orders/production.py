"""What production reads: an order's print files as a streamed zip, and the garments to pull for orders in
production. Reads only; every write stays in orders/services.py."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.files.storage import default_storage
from django.db.models import Count, Sum
from django.utils import timezone
from zipstream import ZIP_STORED, ZipStream

from designs.models import EXTENSIONS
from orders.models import Order, OrderItem

READ_CHUNK_BYTES = 1024 * 1024  # per storage read: print files are 5-50 MB, the zip never holds more than this
UNSAFE_IN_NAME = re.compile(r"[^\w.+-]+")  # a size or colour as part of a file name: no spaces, slashes or dots runs


def _name_part(text):
    return UNSAFE_IN_NAME.sub("-", text).strip("-.") or "x"


def print_file_name(order, line, item):
    """`<order number>-<line>-<size>-<colour>.<ext>`, the extension from the format sniffed at upload."""
    return (f"{order.display_number}-{line}-{_name_part(item.size)}-{_name_part(item.color)}."
            f"{EXTENSIONS[item.design.format]}")


def order_print_items(order_id):
    """The order's lines, in order, with what naming and reading their print files needs: one query."""
    return list(OrderItem.objects.filter(order_id=order_id).select_related("design")
                .only("order_id", "size", "color", "design__sha256", "design__format").order_by("id"))


def _storage_chunks(key):
    """The file under `key`, read from the configured storage only when the zip reaches it."""
    with default_storage.open(key, "rb") as handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            yield chunk


def print_files_zip(order, items):
    """A ZipStream of the items' original files, stored uncompressed (PNG, JPEG and WebP already are)."""
    archive = ZipStream(compress_type=ZIP_STORED)
    for line, item in enumerate(items, start=1):
        archive.add(_storage_chunks(item.design.original_key), print_file_name(order, line, item))
    return archive


@dataclass
class QueueRow:
    product: str
    color: str
    size: str
    garments: int
    orders: int


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def production_queue(*, created_from=None, created_to=None):
    """Garments to pull for orders in production, by product, colour and size, in the product's size order;
    optionally for orders placed between two dates (inclusive). One grouped query."""
    items = OrderItem.objects.filter(order__status=Order.Status.IN_PRODUCTION)
    # Day bounds as instants in the site's time zone: a range on (status, created_at), which an index serves.
    if created_from:
        items = items.filter(order__created_at__gte=_start_of(created_from))
    if created_to:
        items = items.filter(order__created_at__lt=_start_of(created_to + timedelta(days=1)))
    groups = (items.values("product_id", "product__name", "product__sizes", "color", "size")
              .annotate(garments=Sum("quantity"), orders=Count("order_id", distinct=True)))
    by_product = defaultdict(list)
    for group in groups:
        by_product[(group["product__name"], group["product_id"])].append(group)
    rows = []
    for (name, _), groups in sorted(by_product.items(), key=lambda entry: (entry[0][0], str(entry[0][1]))):
        sizes = [size.strip() for size in groups[0]["product__sizes"].split(",")]
        groups.sort(key=lambda g: (g["color"], sizes.index(g["size"]) if g["size"] in sizes else len(sizes), g["size"]))
        rows += [QueueRow(name, g["color"], g["size"], g["garments"], g["orders"]) for g in groups]
    return rows
