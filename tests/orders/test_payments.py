"""Bank transfer: the RF payment reference, and staff recording money until the order is paid."""

import datetime
import re
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from orders import payments
from orders.errors import OrderError
from orders.models import Order, OutgoingMail, Payment

pytestmark = pytest.mark.django_db


# 539007547034 is the standard's own example.
@pytest.mark.parametrize(("number", "reference"), [(1, "RF741"), (539007547034, "RF18539007547034"),
                                                   (123, "RF78123")])
def test_the_reference_is_iso_11649_and_banks_can_check_it(number, reference):
    assert payments.rf_reference(number) == reference
    assert payments.rf_is_valid(reference)
    assert not payments.rf_is_valid(reference[:-1] + str((int(reference[-1]) + 1) % 10))  # one digit mistyped


def test_each_order_has_its_own_reference_in_its_confirmation_mail(place_order):
    first, second = place_order(), place_order()
    references = {payments.provider_for(order).instructions(order)["reference"] for order in (first, second)}
    assert len(references) == 2
    mail = OutgoingMail.objects.get(order=first, kind="confirmation")
    reference = payments.rf_reference(first.number)
    assert reference in mail.body_text and reference in mail.body_html and "IBAN" in mail.body_text


def test_partial_payments_add_up_to_paid_with_one_mail(place_order, staff_user):
    order = place_order()  # 19.90
    payments.payment_record(order=order, amount="10.00", received_on="2026-12-01", note="first half", by=staff_user)
    assert Order.objects.get(pk=order.pk).payment_status == "unpaid"
    payments.payment_record(order=order, amount=Decimal("9.90"), received_on=datetime.date(2026, 12, 2),
                            by=staff_user)
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert list(Payment.objects.filter(order=order).order_by("received_on").values_list("amount", "recorded_by")) == [
        (Decimal("10.00"), staff_user.pk), (Decimal("9.90"), staff_user.pk)]
    assert list(order.events.filter(kind="payment").order_by("id").values_list("message", flat=True)) == [
        "Payment of $10.00 received on 2026-12-01: first half", "Payment of $9.90 received on 2026-12-02",
        "Paid in full"]
    assert OutgoingMail.objects.filter(order=order, kind="paid").count() == 1
    payments.payment_record(order=order, amount="1.00", received_on="2026-12-02", by=staff_user)  # overpaid
    assert OutgoingMail.objects.filter(order=order, kind="paid").count() == 1


@pytest.mark.parametrize(("amount", "day", "field"), [
    ("0", "2026-12-01", "amount"), ("-5", "2026-12-01", "amount"), ("1.234", "2026-12-01", "amount"),
    ("NaN", "2026-12-01", "amount"), ("ten", "2026-12-01", "amount"), ("1e9", "2026-12-01", "amount"),
    ("5", "yesterday", "received_on"), ("5", "2999-01-01", "received_on"),
])
def test_a_bad_payment_says_which_field_and_writes_nothing(place_order, staff_user, amount, day, field):
    order = place_order()
    with pytest.raises(OrderError) as raised:
        payments.payment_record(order=order, amount=amount, received_on=day, by=staff_user)
    assert raised.value.status == 400 and list(raised.value.details) == [field]
    assert Payment.objects.count() == 0 and order.events.filter(kind="payment").count() == 0


def test_only_staff_record_payments_and_a_refunded_order_takes_none(place_order, user, staff_user):
    order = place_order()
    with pytest.raises(OrderError) as raised:
        payments.payment_record(order=order, amount="5", received_on="2026-12-01", by=user)
    assert raised.value.status == 403
    Order.objects.filter(pk=order.pk).update(payment_status="refunded")
    with pytest.raises(OrderError) as raised:
        payments.payment_record(order=order, amount="5", received_on="2026-12-01", by=staff_user)
    assert raised.value.status == 409 and Payment.objects.count() == 0


def test_a_form_submitted_twice_records_one_payment(client, place_order, staff_user):
    order = place_order()
    client.force_login(staff_user)
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f-]{36})"', page).group(1)
    form = {"amount": "5.00", "received_on": "2026-12-01", "note": "", "request_key": key}
    for _ in range(2):
        assert client.post(f"/admin/orders/order/{order.pk}/payment/", form).status_code == 302
    assert Payment.objects.filter(order=order).count() == 1
    assert order.events.filter(kind="payment").count() == 1
    next_key = re.search(r'name="request_key" value="([0-9a-f-]{36})"',
                         client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()).group(1)
    assert next_key != key  # the next payment is a new one


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_racing_on_postgresql_records_one_payment_and_one_mail(place_order, staff_user, enqueued):
    order = place_order()
    key = uuid.uuid4()
    start = threading.Barrier(2)
    errors = []

    def record():
        try:
            start.wait()
            payments.payment_record(order=order, amount="19.90", received_on="2026-12-01", by=staff_user,
                                    request_key=str(key))
        except Exception as error:  # reported below: an exception in a thread would otherwise vanish
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Payment.objects.filter(order=order).count() == 1
    assert OutgoingMail.objects.filter(order=order, kind="paid").count() == 1
    assert Order.objects.get(pk=order.pk).payment_status == "paid"
