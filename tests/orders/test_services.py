"""Order services against the real database: creation, numbering, validation, the status workflow and its mail."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from orders import services
from orders.models import Order, OrderEvent, OrderItem, OrderNumber, OutgoingMail
from tests.orders.conftest import create_design, line, sends

pytestmark = pytest.mark.django_db

Status = Order.Status
QUANTITY_ERROR = f"Quantity must be a whole number from 1 to {services.MAX_QUANTITY}."


def written():
    """Row counts of everything order creation writes."""
    last = OrderNumber.objects.filter(pk=1).values_list("last", flat=True).first() or 0
    return (Order.objects.count(), OrderItem.objects.count(), OrderEvent.objects.count(),
            OutgoingMail.objects.count(), last)


def test_order_create_computes_the_total_in_decimal_and_stores_the_item_count(user, product, hoodie, design):
    other_design = create_design(user, title="Second")
    order = services.order_create(
        email=" alice@example.com ", name=" Alice Example ", user=user,
        items=[line(product, design, quantity=3), line(hoodie, other_design, size="L", color="grey", quantity=3),
               line(product, other_design, size="XL", color="white", quantity="2")],
    )
    order = Order.objects.get(pk=order.pk)
    # 3 x 19.90 + 3 x 0.10 + 2 x 19.90: in binary floats 3 * 0.1 is 0.30000000000000004.
    assert order.total == Decimal("99.80") and isinstance(order.total, Decimal)
    assert order.item_count == 3 == order.items.count()
    assert (order.email, order.name, order.customer, order.status) == ("alice@example.com", "Alice Example", user,
                                                                       "received")
    items = list(order.items.order_by("id"))
    assert [(item.quantity, item.unit_price, item.line_total) for item in items] == [
        (3, Decimal("19.90"), Decimal("59.70")), (3, Decimal("0.10"), Decimal("0.30")), (2, Decimal("19.90"),
                                                                                        Decimal("39.80"))]


def test_unit_price_is_the_price_at_ordering_time(place_order, product):
    order = place_order()
    product.price = Decimal("25.00")
    product.save(update_fields=["price"])
    assert order.items.get().unit_price == Decimal("19.90")
    assert Order.objects.get(pk=order.pk).total == Decimal("19.90")


def test_orders_are_numbered_uniquely_in_sequence_without_gaps_from_refused_or_rolled_back_orders(place_order):
    first = place_order()
    with pytest.raises(services.OrderError):
        place_order(email="not-an-email")
    with pytest.raises(RuntimeError), transaction.atomic():
        place_order()
        raise RuntimeError("the caller's transaction fails after the order was written")
    second, third = place_order(), place_order()
    assert [second.number, third.number] == [first.number + 1, first.number + 2]
    assert third.display_number == f"TL-{third.number:06d}"
    assert list(Order.objects.order_by("number").values_list("number", flat=True)) == [
        first.number, first.number + 1, first.number + 2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_orders_created_concurrently_from_threads_get_distinct_consecutive_numbers(user, product, design, enqueued):
    # The very first orders: the threads also race to create the counter row, then queue on its lock.
    threads_count, per_thread = 6, 6  # 6 + this thread stay within the pool (DB_POOL_MAX 8)
    start = threading.Barrier(threads_count)
    numbers, errors = [], []

    def place_orders():
        try:
            start.wait()
            for _ in range(per_thread):
                order = services.order_create(email="alice@example.com", name="Alice", user=user,
                                              items=[line(product, design)])
                numbers.append(order.number)
        except Exception as error:  # reported below; an exception in a thread would otherwise vanish
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=place_orders) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == list(range(1, threads_count * per_thread + 1))
    assert OrderNumber.objects.get(pk=1).last == threads_count * per_thread
    assert OutgoingMail.objects.count() == threads_count * per_thread == len(sends(enqueued))


def test_order_create_writes_a_created_event_and_exactly_one_confirmation_mail(
    place_order, django_capture_on_commit_callbacks, enqueued
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order()
    assert list(order.events.values_list("kind", "message")) == [("created", "Order received")]
    mail = OutgoingMail.objects.get()
    assert (mail.order_id, mail.kind, mail.to, mail.status, mail.attempts) == (order.pk, "confirmation",
                                                                              "alice@example.com", "queued", 0)
    assert order.display_number in mail.subject
    assert f"/orders/{order.pk}/" in mail.body_text and f"/orders/{order.pk}/" in mail.body_html
    assert "Mountain logo" in mail.body_text and "$19.90" in mail.body_text
    assert sends(enqueued) == [str(mail.pk)]  # one send task, after commit


def test_no_order_without_its_mail_a_failing_mail_rolls_the_order_back(place_order, monkeypatch):
    def broken_template(*args, **kwargs):
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr("orders.emails.render_to_string", broken_template)
    with pytest.raises(RuntimeError):
        place_order()
    assert written() == (0, 0, 0, 0, 0)


INVALID_ITEMS = {
    "unknown product": (lambda ctx: {**ctx["line"], "product": str(uuid.uuid4())}, "Unknown product."),
    "product not a uuid": (lambda ctx: {**ctx["line"], "product": "tee"}, "Unknown product."),
    "inactive product": (lambda ctx: {**ctx["line"], "product": str(ctx["inactive"].pk)}, "Unknown product."),
    "someone else's design": (lambda ctx: {**ctx["line"], "design": str(ctx["others"].pk)},
                              "Unknown design: choose one from your library."),
    "missing design": (lambda ctx: {k: v for k, v in ctx["line"].items() if k != "design"},
                       "Unknown design: choose one from your library."),
    "failed design": (lambda ctx: {**ctx["line"], "design": str(ctx["failed"].pk)},
                      "This design could not be processed; upload it again."),
    "wrong size": (lambda ctx: {**ctx["line"], "size": "XXL"}, "Size must be one of S, M, L, XL."),
    "size as a list": (lambda ctx: {**ctx["line"], "size": ["M"]}, "Size must be one of S, M, L, XL."),
    "wrong colour": (lambda ctx: {**ctx["line"], "color": "pink"}, "Colour must be one of white, black."),
    "quantity 0": (lambda ctx: {**ctx["line"], "quantity": 0}, QUANTITY_ERROR),
    "quantity -1": (lambda ctx: {**ctx["line"], "quantity": -1}, QUANTITY_ERROR),
    "quantity 1.5": (lambda ctx: {**ctx["line"], "quantity": 1.5}, QUANTITY_ERROR),
    "quantity 2.0": (lambda ctx: {**ctx["line"], "quantity": 2.0}, QUANTITY_ERROR),
    "quantity abc": (lambda ctx: {**ctx["line"], "quantity": "abc"}, QUANTITY_ERROR),
    "quantity 10^9": (lambda ctx: {**ctx["line"], "quantity": 10**9}, QUANTITY_ERROR),
    "quantity 5001": (lambda ctx: {**ctx["line"], "quantity": services.MAX_QUANTITY + 1}, QUANTITY_ERROR),
    "quantity true": (lambda ctx: {**ctx["line"], "quantity": True}, QUANTITY_ERROR),
    "quantity infinite": (lambda ctx: {**ctx["line"], "quantity": float("inf")}, QUANTITY_ERROR),
    "quantity NaN": (lambda ctx: {**ctx["line"], "quantity": float("nan")}, QUANTITY_ERROR),
    "quantity missing": (lambda ctx: {k: v for k, v in ctx["line"].items() if k != "quantity"}, QUANTITY_ERROR),
    "item not an object": (lambda ctx: "tee, M, black", "Each item must be an object."),
}


@pytest.mark.parametrize("case", INVALID_ITEMS, ids=list(INVALID_ITEMS))
def test_an_invalid_item_is_refused_with_a_message_for_that_item_and_nothing_is_written(
    case, user, other_user, product, design, make_design, django_capture_on_commit_callbacks, enqueued
):
    from orders.models import Product

    context = {
        "line": line(product, design),
        "inactive": Product.objects.create(name="Retired", price=Decimal("5.00"), active=False),
        "others": make_design(other_user, title="Bob's art"),
        "failed": make_design(user, title="Broken", status="failed"),
    }
    build, message = INVALID_ITEMS[case]
    before = written()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.OrderError) as raised:
        services.order_create(email="alice@example.com", name="Alice", user=user,
                              items=[line(product, design), build(context)])
    assert raised.value.message == "The order is not valid."
    assert raised.value.details == {"items": {1: message}}  # the good first line is not blamed
    assert written() == before and enqueued == []


INVALID_ORDERS = {
    "bad email": ({"email": "alice@"}, {"email": "Enter a valid email address."}),
    "email not a string": ({"email": 42}, {"email": "Enter a valid email address."}),
    "email too long for the column": ({"email": "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"},
                                      {"email": "Enter a valid email address."}),
    "no name": ({"name": "  "}, {"name": "Enter the name for the order."}),
    "name not a string": ({"name": ["Alice"]}, {"name": "Enter the name for the order."}),
    "name too long": ({"name": "x" * 121}, {"name": "The name is longer than 120 characters."}),
    "no items": ({"items": []}, {"items": "Add at least one item."}),
    "items missing": ({"items": None}, {"items": "Add at least one item."}),
    "items not a list": ({"items": "tee"}, {"items": "Add at least one item."}),
}


@pytest.mark.parametrize("case", INVALID_ORDERS, ids=list(INVALID_ORDERS))
def test_an_invalid_order_is_refused_with_a_message_per_field_and_nothing_is_written(
    case, user, product, design, django_capture_on_commit_callbacks, enqueued
):
    changes, details = INVALID_ORDERS[case]
    arguments = {"email": "alice@example.com", "name": "Alice", "items": [line(product, design)], **changes}
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.OrderError) as raised:
        services.order_create(user=user, **arguments)
    assert raised.value.details == details
    assert written() == (0, 0, 0, 0, 0) and enqueued == []


def test_too_many_items_are_refused(user, product, design):
    with pytest.raises(services.OrderError, match=f"at most {services.MAX_ITEMS} items"):
        services.order_create(email="alice@example.com", name="Alice", user=user,
                              items=[line(product, design)] * (services.MAX_ITEMS + 1))
    assert written() == (0, 0, 0, 0, 0)


def test_without_a_user_no_design_is_anyones(product, design):
    with pytest.raises(services.OrderError) as raised:
        services.order_create(email="alice@example.com", name="Alice", items=[line(product, design)])
    assert raised.value.details == {"items": {0: "Unknown design: choose one from your library."}}
