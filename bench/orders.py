"""Orders at scale: admin list, customer pages, dashboard and order creation, each beside its naive version.

Needs PostgreSQL with seeded data, e.g.:
    createdb threadline_bench
    DATABASE_URL=postgres:///threadline_bench python manage.py migrate
    DATABASE_URL=postgres:///threadline_bench python manage.py seed_demo --users 1000 --designs 100000 --orders 100000
    DATABASE_URL=postgres:///threadline_bench python -m bench orders
Times are server-side (request in, response out, through every middleware), in milliseconds.
"""

import argparse
import json

import django
from django.conf import settings

RUNS = 25


def main():
    parser = argparse.ArgumentParser(prog="python -m bench orders")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", choices=["pages", "mail"])
    args = parser.parse_args()
    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # pages render hashed static URLs
    settings.ROOT_URLCONF = "bench.urls"
    settings.ALLOWED_HOSTS = ["*"]
    if args.only in (None, "pages"):
        run(args.runs)
    if args.only in (None, "mail"):
        mail_throughput()


MAILS = 300


def mail_throughput(workers=2):
    """Mails delivered per second to an SMTP server on loopback by a real cluster (each mail its own task)."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from aiosmtpd.controller import Controller
    from django.db import connection
    from django_q.tasks import async_task

    from core.tasks import task_path
    from orders.models import OutgoingMail
    from orders.tasks import send_mail

    class Counter:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            if b"Subject: Bench " in envelope.content:  # only this bench's mails, not other queued ones
                Counter.received += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Controller(Counter(), hostname="127.0.0.1", port=port)
    sink.start()
    mails = OutgoingMail.objects.bulk_create([
        OutgoingMail(kind="bench", to=f"bench{i}@example.com", subject=f"Bench {i}", body_text="Hello " * 200,
                     body_html="<p>Hello</p>" * 100) for i in range(MAILS)
    ])
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "Q_WORKERS": str(workers), "EMAIL_URL": f"smtp://127.0.0.1:{port}"},
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # workers up before the clock starts
        started = time.perf_counter()
        for mail in mails:
            async_task(task_path(send_mail), str(mail.pk), group="bench-mail")
        deadline = started + 300
        sent = 0
        while sent < MAILS and time.perf_counter() < deadline:  # done when the outbox says so, not the server
            time.sleep(0.1)
            connection.close()
            sent = OutgoingMail.objects.filter(kind="bench", status="sent").count()
        elapsed = time.perf_counter() - started
    finally:
        os.kill(cluster.pid, 15)
        cluster.wait(timeout=30)
        sink.stop()
        OutgoingMail.objects.filter(kind="bench").delete()
    print(f"\nMail: {MAILS} mails through a {workers}-worker cluster to an SMTP server on loopback: "
          f"{Counter.received} received (each once: {Counter.received == MAILS}), {sent} marked sent, "
          f"{elapsed:.1f} s, {sent / elapsed:.0f} mails/s")


def run(runs):
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from bench.timing import measure, print_table, summary
    from orders import stats
    from orders.models import Order, OrderItem, Product

    if connection.vendor != "postgresql":
        raise SystemExit("bench orders measures PostgreSQL: set DATABASE_URL")
    orders = Order.objects.count()
    if orders < 1000:
        raise SystemExit("seed first: python manage.py seed_demo --users 1000 --designs 100000 --orders 100000")
    items = OrderItem.objects.count()
    staff, _ = get_user_model().objects.get_or_create(username="bench-staff",
                                                      defaults={"is_staff": True, "is_superuser": True})
    sample = Order.objects.filter(item_count=3).exclude(customer=None).order_by("-created_at").first()
    customer = sample.customer
    email_prefix = sample.email[:14]  # what staff type: the start of a real address
    staff_client, customer_client = Client(), Client()
    staff_client.force_login(staff)
    customer_client.force_login(customer)

    def page(client, url):
        def fetch():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return fetch

    def queries(func):
        with CaptureQueriesContext(connection) as captured:
            func()
        return len(captured.captured_queries)

    product = Product.objects.filter(active=True).first()
    design = sample.items.first().design
    body = json.dumps({"name": "Bench", "items": [  # mailed to the customer's own address
        {"product": str(product.pk), "design": str(design.pk), "size": product.size_list[0],
         "color": product.color_list[0], "quantity": 2}] * 3})

    @override_settings(ORDER_REQUESTS_LIMIT=(10**9, 60), ORDER_MAILS_LIMIT=(10**9, 60))  # measured, not limited
    def create_order():
        response = customer_client.post("/api/orders", body, content_type="application/json")
        assert response.status_code == 201, response.content

    def naive_create_order():
        """One INSERT per row and a COUNT to number the order: how it is usually first written."""
        from django.db import transaction

        from orders.models import OrderEvent, OutgoingMail
        with transaction.atomic():
            order = Order.objects.create(number=Order.objects.count() + 10**9 + 1, customer=customer,
                                         email="bench@example.com", name="Bench", total=0)
            for _ in range(3):
                OrderItem.objects.create(order=order, product=product, design=design, size="M", color="black",
                                         quantity=2, unit_price=product.price)
            order.item_count = order.items.count()
            order.total = sum(item.line_total for item in order.items.all())
            order.save()
            OrderEvent.objects.create(order=order, kind="created", message="Order received")
            OutgoingMail.objects.create(order=order, kind="confirmation", to=order.email, subject="s", body_text="b")

    def cached_dashboard():
        stats.dashboard()

    def uncached_dashboard():
        cache.delete(stats.CACHE_KEY)
        stats.dashboard()

    cases = [
        ("admin order list, first page", page(staff_client, "/admin/orders/order/"),
         page(staff_client, "/naive-admin/orders/order/")),
        ("admin list, status filter", page(staff_client, "/admin/orders/order/?status__exact=in_production"),
         page(staff_client, "/naive-admin/orders/order/?status__exact=in_production")),
        ("admin list, email search", page(staff_client, f"/admin/orders/order/?q={email_prefix}"),
         page(staff_client, f"/naive-admin/orders/order/?q={email_prefix}")),
        ("order page (customer)", page(customer_client, f"/orders/{sample.pk}/"),
         page(customer_client, f"/naive/orders/{sample.pk}/")),
        ("customer order list", page(customer_client, "/orders/"), page(customer_client, "/naive/orders/")),
        ("dashboard, uncached", uncached_dashboard, page(staff_client, "/naive/dashboard/")),
        ("dashboard, cached", cached_dashboard, None),
        ("admin index with dashboard", page(staff_client, "/admin/"), None),
        ("POST /api/orders (3 items)", create_order, naive_create_order),
    ]
    rows = []
    for name, ours, naive in cases:
        our_median, our_p95 = summary(measure(ours, runs=runs))
        row = [name, f"{our_median:.1f}", f"{our_p95:.1f}", queries(ours)]
        if naive is None:
            row += ["-", "-", "-", "-"]
        else:
            naive_runs = max(5, runs // 3)
            naive_median, naive_p95 = summary(measure(naive, runs=naive_runs, warmup=1))
            row += [f"{naive_median:.1f}", f"{naive_p95:.1f}", queries(naive), f"{naive_median / our_median:.1f}x"]
        rows.append(row)
    print(f"\nOrders on PostgreSQL: {orders:,} orders, {items:,} items; {runs} runs per page (naive: fewer);"
          " server-side ms\n")
    print_table(["page", "median", "p95", "queries", "naive median", "naive p95", "naive queries", "speed-up"], rows)
    Order.objects.filter(name="Bench").delete()
    stats.stats_rebuild()
