"""seed_demo fills every queue: each status and payment state, consistent with the workflow's rules."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from orders.models import Order, Payment

pytestmark = pytest.mark.django_db


def test_seed_demo_spreads_orders_over_every_status_and_payment_state(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", users=2, designs=10, orders=60, seed=3)
    assert set(Order.objects.values_list("status", flat=True)) == set(Order.Status.values)
    assert set(Order.objects.values_list("payment_status", flat=True)) == set(Order.PaymentStatus.values)
    past_payment = Order.objects.filter(status__in=["in_production", "shipped", "delivered"])
    assert not past_payment.exclude(payment_status="paid").exists()  # production needs payment
    assert not Order.objects.filter(shipping_address__isnull=True).exists()
    for order in Order.objects.filter(status__in=["shipped", "delivered"]).select_related("carrier"):
        assert order.tracking_url and order.tracking_number in order.tracking_url
    paid = Order.objects.exclude(payment_status="unpaid")
    assert Payment.objects.aggregate(total=Sum("amount"))["total"] == paid.aggregate(total=Sum("total"))["total"]
