"""The admin's app list and sidebar, built once per set of permissions and reused, are Django's on every page."""

import pytest
from django.contrib.auth.models import Permission
from django.template.loader import render_to_string

pytestmark = pytest.mark.django_db


def djangos_sidebar(response):
    return render_to_string("admin/nav_sidebar.html", {"available_apps": response.context["available_apps"]},
                            request=response.wsgi_request)


def test_the_sidebar_is_djangos_and_marks_the_current_list(client, staff_user):
    client.force_login(staff_user)
    for _ in range(2):  # built, then reused
        for path, current in (("/admin/orders/order/", "order"), ("/admin/orders/outgoingmail/", "outgoingmail"),
                              ("/admin/designs/design/", "design")):
            response = client.get(path)
            body = response.content.decode()
            assert djangos_sidebar(response) in body
            assert f'<tr class="model-{current} current-model">' in body
            assert body.count("current-model") == 1


def test_each_staff_member_sees_the_lists_their_permissions_open(client, django_user_model, staff_user):
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "clerk-password-1", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    body = client.get("/admin/orders/order/").content.decode()
    assert 'class="model-order current-model"' in body and "model-design" not in body

    clerk.user_permissions.add(Permission.objects.get(codename="view_design"))
    response = client.get("/admin/orders/order/")
    assert "model-design" in response.content.decode() and djangos_sidebar(response) in response.content.decode()
    assert "model-mockup" not in response.content.decode()

    client.force_login(staff_user)  # a superuser sees every list
    assert "model-mockup" in client.get("/admin/orders/order/").content.decode()


def test_a_page_that_changes_its_app_list_leaves_the_kept_one_alone(rf, staff_user):
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = staff_user
    first = admin.site.get_app_list(request)
    first[0]["name"] = "changed"
    first[0]["models"][0]["perms"]["change"] = "changed"
    first[0]["models"].clear()
    again = admin.site.get_app_list(request)
    assert again[0]["name"] != "changed" and again[0]["models"]
    assert again[0]["models"][0]["perms"]["change"] is True
