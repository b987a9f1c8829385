"""The fast admin list rows are Django's rows, byte for byte, on every admin that uses them."""

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import resolve, reverse

from project.admin_rows import FastListRows, fast_results

pytestmark = pytest.mark.django_db

# Filters and searches a staff member uses: the change links carry them as preserved filters.
QUERIES = ["", "?o=-2", "?o=2.-3&q=%20"]


@pytest.fixture
def every_kind_of_row(staff_user):
    """Rows for each admin list: seeded designs, orders and templates, plus mails, mockups, shops and listings,
    some with blank or empty values (an unsent mail, a shop that never got a token)."""
    from designs.models import Design, UploadBatch
    from marketplace.models import Listing, ShopConnection
    from mockups.models import GarmentTemplate, Mockup
    from orders.models import Order, OutgoingMail

    call_command("seed_demo", users=2, designs=8, orders=6, seed=3)
    call_command("seed_templates")
    order = Order.objects.first()
    OutgoingMail.objects.create(order=order, kind="confirmation", to=order.email, subject="s", body_text="b")
    OutgoingMail.objects.create(order=None, kind="reset", to="a@example.com", subject="s", body_text="b",
                                last_error="   ")
    design = Design.objects.first()
    UploadBatch.objects.create(owner=design.owner)
    Mockup.objects.create(design=design, template=GarmentTemplate.objects.first(), owner=design.owner)
    shop = ShopConnection.objects.create(owner=design.owner, name="Shop <b>", base_url="https://shop.example.com",
                                         credentials_sealed="x")
    Listing.objects.create(design=design, connection=shop, external_id="")


def changelist_request(model_admin, query, user):
    """A request for the admin list, resolved as the admin resolves it (the change links preserve its filters)."""
    opts = model_admin.model._meta
    path = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    request = RequestFactory().get(path + query)
    request.resolver_match = resolve(path)
    request.user = user
    return request


def test_fast_rows_are_djangos_rows(every_kind_of_row, staff_user):
    fast_admins = [model for model in admin.site._registry.values() if isinstance(model, FastListRows)]
    assert len(fast_admins) >= 9
    for model_admin in fast_admins:
        assert model_admin.model.objects.exists(), f"no {model_admin.model.__name__} rows to compare"
        for query in QUERIES:
            changelist = model_admin.get_changelist_instance(changelist_request(model_admin, query, staff_user))
            changelist.formset = None  # as changelist_view sets it when no field is list_editable
            expected = ["".join(row) for row in results(changelist)]  # what the template writes for each row
            assert expected, f"{model_admin} {query}: empty list"
            assert ["".join(row) for row in fast_results(changelist)] == expected, f"{model_admin} {query}"


def test_the_order_list_renders_through_them(client, staff_user, every_kind_of_row):
    from orders.models import Order

    client.force_login(staff_user)
    order = Order.objects.order_by("-created_at").first()
    body = client.get("/admin/orders/order/?status__exact=" + order.status).content.decode()
    url = f"/admin/orders/order/{order.pk}/change/?_changelist_filters=status__exact%3D{order.status}"
    assert f'<th class="field-display_number"><a href="{url}">{order.display_number}</a></th>' in body


@pytest.mark.postgres
def test_the_planner_estimate_is_asked_once_per_list_and_reused(every_kind_of_row, monkeypatch,
                                                                 django_assert_num_queries):
    from orders.models import Order
    from project import pagination

    monkeypatch.setattr(pagination, "EXACT_BELOW", 0)  # the estimate path, as at 10^6 orders
    # A filter no other test lists by: with Redis, estimates cached by earlier tests of this run are still there.
    orders = Order.objects.with_first_design().filter(number__gt=0).order_by("-created_at")
    with django_assert_num_queries(1):  # EXPLAIN of the keys only
        first = pagination.EstimatedCountPaginator(orders, 50).count
    with django_assert_num_queries(0):
        assert pagination.EstimatedCountPaginator(orders, 50).count == first > 0
    with django_assert_num_queries(1):  # another filter, another estimate
        assert pagination.EstimatedCountPaginator(orders.filter(number__gt=1), 50).count > 0


def test_the_action_form_is_djangos_and_follows_its_choices(every_kind_of_row, staff_user):
    from django.contrib.admin import helpers

    from project.admin_rows import FastActionForm

    for choices in ([("", "---------"), ("mark_shipped", "Mark selected orders shipped")],
                    [("", "---------"), ("delete_selected", "Delete selected orders")]):
        for _ in range(2):  # rendered, then reused
            fast, django = FastActionForm(auto_id=None), helpers.ActionForm(auto_id=None)
            fast.fields["action"].choices = django.fields["action"].choices = choices
            assert str(fast["action"]) == str(django["action"]) and choices[1][1] in str(fast["action"])
            assert str(fast["select_across"]) == str(django["select_across"])
    for data in ({"select_across": "1", "action": "x"}, {"select_across": "0", "action": "x"}):  # as posted back
        assert str(FastActionForm(data, auto_id=None)["select_across"]) == str(
            helpers.ActionForm(data, auto_id=None)["select_across"])


def test_remembered_rows_follow_each_rows_values_the_filters_and_the_time_zone(every_kind_of_row, staff_user):
    from django.utils import timezone

    from orders.models import Order
    from project.admin_rows import remembered_rows

    order_admin = admin.site._registry[Order]
    assert order_admin.remember_list_rows
    remembered_rows.clear()

    def django_and_fast_rows(query):
        changelist = order_admin.get_changelist_instance(changelist_request(order_admin, query, staff_user))
        changelist.formset = None
        return ["".join(row) for row in results(changelist)], ["".join(row) for row in fast_results(changelist)]

    for query in ["", "?o=-2", "?q=%20&o=2"]:  # rendered by the first, found by the others
        expected, fast = django_and_fast_rows(query)
        assert fast == expected, query
        assert fast and all(("_changelist_filters=" in row) == bool(query) for row in fast)
        assert len(remembered_rows) == Order.objects.count()  # the same rows, each kept once

    changed = Order.objects.order_by("-created_at").first()
    Order.objects.filter(pk=changed.pk).update(name="Changed <b>", status=Order.Status.SHIPPED)
    expected, fast = django_and_fast_rows("")
    assert fast == expected and any("Changed &lt;b&gt;" in row and ">Shipped<" in row for row in fast)

    with timezone.override("Pacific/Auckland"):  # the creation times are shown in the visitor's time zone
        expected, fast = django_and_fast_rows("")
    assert fast == expected and fast != django_and_fast_rows("")[1]


def test_rows_with_related_objects_or_unhashable_values_are_not_remembered(every_kind_of_row):
    from orders.models import OrderItem
    from project.admin_rows import _own_values

    item = OrderItem.objects.select_related("order").first()
    assert _own_values(item) is None
    item = OrderItem.objects.first()
    assert _own_values(item) is not None
    item.json_value = {"a list": []}  # as a JSONField holds: cannot be a key
    assert _own_values(item) is None


def test_the_fast_results_table_is_djangos_table(every_kind_of_row, staff_user):
    """The whole table, headers included, as Django's change_list_results.html writes it."""
    from django.contrib.admin.templatetags.admin_list import result_list
    from django.template.loader import render_to_string

    from project.templatetags.admin_fast_rows import fast_result_list

    for model_admin in [model for model in admin.site._registry.values() if isinstance(model, FastListRows)]:
        for query in QUERIES:
            changelist = model_admin.get_changelist_instance(changelist_request(model_admin, query, staff_user))
            changelist.formset = None
            expected = render_to_string("admin/change_list_results.html", result_list(changelist))
            fast = fast_result_list(changelist)
            assert fast["rows_html"], f"{model_admin} {query}: rows not joined"
            assert render_to_string("admin/fast_change_list_results.html", fast) == expected, f"{model_admin} {query}"
