"""Demo and benchmark data: users, designs, products, orders with items and events, in bulk."""

import io
import random
import secrets
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageColor, ImageDraw
from tqdm import tqdm

from designs import similarity
from designs.models import Design
from orders.carriers import carriers_install
from orders.models import Carrier, Order, OrderEvent, OrderItem, OrderNumber, Payment, Product
from orders.stats import stats_rebuild

BATCH_ROWS = 20_000  # rows per INSERT/COPY batch: ~40 MB of Python objects at most
CATALOGUE = [
    ("Classic tee", "T-shirt", "XS,S,M,L,XL,XXL", "white,black,navy,heather grey", "14.50"),
    ("Heavyweight tee", "T-shirt", "S,M,L,XL,XXL", "white,black,sand", "19.00"),
    ("Pullover hoodie", "Hoodie", "S,M,L,XL,XXL", "black,navy,forest,heather grey", "38.00"),
    ("Zip hoodie", "Hoodie", "S,M,L,XL", "black,charcoal", "44.00"),
    ("Crewneck sweatshirt", "Sweatshirt", "S,M,L,XL,XXL", "white,black,oatmeal", "32.00"),
    ("Tote bag", "Bag", "One size", "natural,black", "12.00"),
    ("Baseball cap", "Cap", "One size", "black,khaki,navy", "16.00"),
    ("Long-sleeve tee", "T-shirt", "S,M,L,XL", "white,black", "22.00"),
]
STATUS_WEIGHTS = [  # a shop's order book: most orders are finished
    ("delivered", 58), ("shipped", 12), ("in_production", 8), ("approved", 6), ("proofing", 5), ("revising", 2),
    ("received", 6), ("cancelled", 2), ("refunded", 1),
]
PAID_SHARE = {"received": 0.3, "proofing": 0.5, "revising": 0.5, "cancelled": 0.0}  # the rest of the book is paid
DEMO_CARRIERS = ("ups", "dhl", "royal-mail", "usps")
DEMO_CITIES = [("London", "EC1A 1BB", "GB"), ("Berlin", "10115", "DE"), ("Austin", "78701", "US"),
               ("Lyon", "69001", "FR"), ("Toronto", "M5H 2N2", "CA")]
DEMO_ORDER_DAYS = 90  # orders spread over this many days back, today included
HASH_CLUSTERS = 400  # distinct "looks" that designs vary around, like real libraries full of near copies


class Command(BaseCommand):
    help = "Create demo data in bulk: --users U --designs M --orders N (a million orders in minutes on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=3)
        parser.add_argument("--designs", type=int, default=12)
        parser.add_argument("--orders", type=int, default=40)
        parser.add_argument("--images", action="store_true",
                            help="make real images and send them through the upload pipeline (small sets only)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if there are orders already")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, users, designs, orders, images, if_empty, seed, **options):
        logins_file = Path(settings.VAR_DIR) / "demo-logins.txt"
        if if_empty and Order.objects.exists():
            self.stdout.write("Demo data is already there.")
            return
        rng = random.Random(seed)
        now = timezone.now()
        logins = self.create_logins()
        people = self.create_users(users, now) + [logins["customer"]]
        products = self.create_products()
        if images:
            design_ids = self.upload_images(logins["customer"], designs, rng)
            owned = {logins["customer"].pk: design_ids}
        else:
            owned = self.create_designs(people, designs, rng, now)
        self.create_orders(people, owned, products, orders, rng, now)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # What autovacuum would do later: statistics (an unanalysed order_items made PostgreSQL start parallel
                # workers for a 3-row lookup, +15 ms) and the visibility map (index-only scans: dashboard 159 -> 9 ms).
                # VACUUM cannot run inside a transaction (a caller's, or a test's): statistics alone then.
                cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
        text = (f"Demo customer: {logins['customer'].username} / {logins['customer_password']}\n"
                f"Demo staff:    {logins['staff'].username} / {logins['staff_password']}\n")
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text(text)
        logins_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("\n" + text))

    def create_logins(self):
        """A demo customer and a demo staff member, with fresh random passwords each time."""
        user_model = get_user_model()
        result = {}
        for role, username, staff in (("customer", "demo", False), ("staff", "demo-staff", True)):
            password = secrets.token_urlsafe(12)
            user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.save()
            result[role], result[f"{role}_password"] = user, password
        return result

    def create_users(self, count, now):
        user_model = get_user_model()
        start = user_model.objects.count()
        password = make_password(None)  # unusable: bulk users log in only after a reset
        rows = [user_model(username=f"customer{start + i:07d}", email=f"customer{start + i:07d}@example.com",
                           password=password, date_joined=now) for i in range(count)]
        for chunk in tqdm(_chunks(rows, BATCH_ROWS), desc="users", unit="batch", disable=count < BATCH_ROWS):
            user_model.objects.bulk_create(chunk)
        return list(user_model.objects.filter(username__in=[row.username for row in rows]).only("id", "email",
                                                                                                   "username"))

    def create_products(self):
        products = list(Product.objects.filter(active=True))
        if products:
            return products
        Product.objects.bulk_create([
            Product(name=name, garment=garment, sizes=sizes, colors=colors, price=Decimal(price))
            for name, garment, sizes, colors, price in CATALOGUE
        ])
        return list(Product.objects.filter(active=True))

    def create_designs(self, people, count, rng, now):
        """Designs with synthetic hashes drawn from clusters (variants of the same look), no image files."""
        centres = [(1 << 63) | rng.getrandbits(63) for _ in range(HASH_CLUSTERS)]
        owned = {person.pk: [] for person in people}
        columns = ["id", "owner_id", "title", "original_name", "sha256", "format", "size_bytes", "width", "height",
                   "status", "error", "attempts", "has_thumbnail", "thumb_width", "thumb_height", "phash", "dhash",
                   "detail", "phash_0", "phash_1", "phash_2", "phash_3", "created_at", "updated_at", "processed_at"]

        def rows():
            for i in range(count):
                phash = rng.choice(centres)
                for _ in range(rng.choice((0, 1, 2, 3, 5, 8, 13, 20))):
                    phash ^= 1 << rng.randrange(63)
                owner = people[i % len(people)].pk
                design_id = uuid.uuid4()
                owned[owner].append(design_id)
                created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
                yield (design_id, owner, f"Design {i + 1}", f"design-{i + 1}.png", secrets.token_hex(32), "PNG",
                       rng.randrange(5_000_000, 25_000_000), 4500, 5400, "ready", "", 1, False, 0, 0,
                       similarity.to_signed64(phash), similarity.to_signed64(rng.getrandbits(64)),
                       rng.uniform(5, 60), *similarity.hash_chunks(phash), created, created, created)

        _bulk_insert(Design, columns, rows(), total=count, label="designs")
        return owned

    def upload_images(self, owner, count, rng):
        """Real generated artwork through the real upload service; workers process it like any upload.

        Every fourth file is a resized copy of the one before, so the demo shows duplicate detection at work.
        """
        from designs.services import design_batch_upload

        files, previous = [], None
        for index in range(count):
            if previous is not None and index % 4 == 3:
                image = previous.resize((previous.width * 3 // 4, previous.height * 3 // 4))
                name = f"artwork-{index:02d}-smaller-copy.png"
            else:
                image = demo_artwork(rng, 1200, 1200)
                name = f"artwork-{index:02d}.png"
            previous = image
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            files.append(SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png"))
        result = design_batch_upload(owner=owner, files=files)
        for rejected in result.rejected:
            self.stderr.write(f"refused {rejected['name']}: {rejected['error']}")
        return [item.design.pk for item in result.accepted]

    def create_orders(self, people, owned, products, count, rng, now):
        with transaction.atomic():
            counter, _ = OrderNumber.objects.select_for_update().get_or_create(pk=1)
            first_number = counter.last + 1
            OrderNumber.objects.filter(pk=1).update(last=counter.last + count)
        buyers = [person for person in people if owned.get(person.pk)]
        if not buyers or not count:
            return
        statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
        carriers_install()  # a database flushed since its migrations (tests) has none
        carriers = dict(Carrier.objects.filter(code__in=DEMO_CARRIERS).values_list("code", "pk"))
        rows = {"orders": [], "items": [], "events": [], "payments": []}
        order_rows, item_rows, event_rows, payment_rows = (rows[key] for key in ("orders", "items", "events",
                                                                                 "payments"))
        order_columns = ["id", "number", "customer_id", "email", "name", "status", "payment_status", "payment_method",
                         "shipping_address", "note", "release_unpaid", "proof_sent_at", "proof_comment", "carrier_id",
                         "tracking_number", "item_count", "total", "created_at", "updated_at"]
        item_columns = ["order_id", "product_id", "design_id", "size", "color", "quantity", "unit_price"]
        event_columns = ["order_id", "kind", "message", "created_at"]
        payment_columns = ["id", "order_id", "method", "amount", "received_on", "note", "created_at"]
        as_json = _json_column()

        today_so_far_s = int((now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds())

        def generate():
            for i in range(count):
                buyer = buyers[rng.randrange(len(buyers))]
                order_id = uuid.uuid4()
                # Every tenth order is from today, the rest from the last 90 days: the dashboard's chart and the
                # staff queues have something to show on a fresh demo.
                span_s = today_so_far_s if i % 10 == 0 else DEMO_ORDER_DAYS * 24 * 3600
                created = now - timedelta(seconds=rng.randrange(max(1, span_s)))
                total = Decimal("0.00")
                lines = rng.choice((1, 2, 3, 3, 3, 4, 5))
                for _ in range(lines):
                    product = products[rng.randrange(len(products))]
                    quantity = rng.choice((1, 1, 2, 5, 10, 24, 50))
                    total += product.price * quantity
                    item_rows.append((order_id, product.pk, rng.choice(owned[buyer.pk]), rng.choice(product.size_list),
                                      rng.choice(product.color_list), quantity, product.price))
                event_rows.append((order_id, "created", "Order received", created))
                # The first orders take every status once; every payment state follows from them.
                status = statuses[i] if i < len(statuses) else rng.choices(statuses, weights)[0]
                paid = rng.random() < PAID_SHARE.get(status, 1.0)
                payment_status = "refunded" if status == "refunded" else "paid" if paid else "unpaid"
                if payment_status != "unpaid":
                    payment_rows.append((uuid.uuid4(), order_id, "bank_transfer", total,
                                         min(now, created + timedelta(days=1)).date(), "demo transfer", created))
                city, postal_code, country = DEMO_CITIES[rng.randrange(len(DEMO_CITIES))]
                address = {"name": buyer.username, "line1": f"{rng.randrange(1, 200)} Market Street", "line2": "",
                           "city": city, "postal_code": postal_code, "region": "", "country": country, "phone": ""}
                carrier = carriers.get(DEMO_CARRIERS[i % len(DEMO_CARRIERS)])
                shipped = status in ("shipped", "delivered", "refunded") and carrier is not None
                proofed = status not in ("received", "cancelled")
                order_rows.append((order_id, first_number + i, buyer.pk, buyer.email, buyer.username,
                                   status, payment_status, "bank_transfer", as_json(address), "", False,
                                   created if proofed else None, "Bigger logo, please" if status == "revising" else "",
                                   carrier if shipped else None, f"1Z{first_number + i:012d}" if shipped else "",
                                   lines, total, created, created))
                if len(order_rows) >= BATCH_ROWS:
                    yield

        progress = tqdm(total=count, desc="orders", unit="order", disable=count < BATCH_ROWS)
        tables = [(Order, order_columns, order_rows), (OrderItem, item_columns, item_rows),
                  (OrderEvent, event_columns, event_rows), (Payment, payment_columns, payment_rows)]
        for _ in generate():
            self.flush(tables, progress)
        self.flush(tables, progress)
        progress.close()
        stats_rebuild()

    @staticmethod
    def flush(tables, progress):
        """Write the buffered rows of each (model, columns, rows), orders first, in one transaction."""
        count = len(tables[0][2])
        if not count:
            return
        with transaction.atomic():
            for model, columns, rows in tables:
                _bulk_insert(model, columns, rows)
                rows.clear()
        progress.update(count)


def _json_column():
    """How a JSON value goes into `_bulk_insert`: wrapped for COPY on PostgreSQL, a plain dict for the ORM."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb
    return lambda value: value


def _chunks(rows, size):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _bulk_insert(model, columns, rows, *, total=None, label=None):
    """Insert tuples in `columns` order: COPY on PostgreSQL (~10x INSERT), bulk_create batches elsewhere."""
    table = model._meta.db_table
    progress = tqdm(total=total, desc=label, unit="row", disable=not label or (total or 0) < BATCH_ROWS)
    if connection.vendor == "postgresql":
        # A synchronous commit, though demo data could be made again: one COPY is one commit, and the VACUUM that
        # follows can mark pages all-visible (for index-only scans) only once the commit has reached the WAL.
        with connection.cursor() as cursor:
            sql = f'COPY {table} ({", ".join(columns)}) FROM STDIN'
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    progress.update(1)
    else:
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(columns, row, strict=True))))
            if len(batch) >= BATCH_ROWS:
                model.objects.bulk_create(batch)
                progress.update(len(batch))
                batch = []
        model.objects.bulk_create(batch)
        progress.update(len(batch))
    progress.close()


def demo_artwork(rng, width, height):
    """A colourful piece of artwork on transparency: gradient band, shapes and a bold stroke."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    hue = rng.randrange(360)
    for band in range(0, height, 8):
        colour = ImageColor.getrgb(f"hsl({(hue + band // 20) % 360}, 70%, 55%)")
        draw.rectangle((width // 8, band, width * 7 // 8, band + 7), fill=(*colour, 90))
    for _ in range(rng.randrange(5, 12)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(80, width // 2), y0 + rng.randrange(80, height // 2)
        colour = ImageColor.getrgb(f"hsl({rng.randrange(360)}, 80%, {rng.randrange(30, 70)}%)")
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=(*colour, 255))
    draw.line([(rng.randrange(width), rng.randrange(height)) for _ in range(5)], fill=(20, 20, 20, 255),
              width=rng.randrange(12, 30))
    return image
