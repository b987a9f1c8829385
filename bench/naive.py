"""The same pages done the way the slow shops did them: the baseline each benchmark row is compared with."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import path

from orders.models import Order

site = admin.AdminSite(name="naive_admin")


@admin.register(Order, site=site)
class NaiveOrderAdmin(admin.ModelAdmin):
    """A plain ModelAdmin: default exact counts, a query per row for the item count and the customer."""

    list_display = ("number", "customer_name", "email", "status", "items_counted", "total", "created_at")
    list_filter = ("status",)
    search_fields = ("email", "number")
    date_hierarchy = "created_at"
    list_per_page = 100

    def customer_name(self, order):
        return order.customer.username if order.customer_id else ""

    def items_counted(self, order):
        return order.items.count()


PAGE = engines["django"].from_string(
    "<h1>{{ order.number }}</h1><ul>{% for item in items %}<li>{{ item.product.name }} {{ item.design.title }}"
    " {{ item.quantity }}</li>{% endfor %}</ul><ol>{% for e in events %}<li>{{ e.message }}</li>{% endfor %}</ol>"
)
LIST = engines["django"].from_string(
    "<table>{% for o in orders %}<tr><td>{{ o.number }}</td><td>{{ o.status }}</td><td>{{ o.n }}</td>"
    "<td>{{ o.total }}</td></tr>{% endfor %}</table>"
)


def order_page(request, order_id):
    order = get_object_or_404(Order, pk=order_id)
    items = list(order.items.all())  # then a query per item for its product and its design
    return HttpResponse(PAGE.render({"order": order, "items": items, "events": order.events.all()}))


def order_list(request):
    page = Paginator(Order.objects.filter(customer=request.user).order_by("-created_at"), 25).get_page(1)
    orders = list(page)
    for order in orders:
        order.n = order.items.count()
    return HttpResponse(LIST.render({"orders": orders}))


def dashboard(request):
    """Eight separate counts over the orders table, the pattern behind 9-15 s dashboards."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    numbers = {status: Order.objects.filter(status=status).count() for status in Order.Status}
    numbers["today"] = Order.objects.filter(created_at__date=now.date()).count()
    numbers["7d"] = Order.objects.filter(created_at__gte=now - timedelta(days=7)).count()
    numbers["30d"] = Order.objects.filter(created_at__gte=now - timedelta(days=30)).count()
    numbers["revenue"] = Order.objects.filter(~Q(status="cancelled")).aggregate(Sum("total"))
    numbers["per_day"] = list(Order.objects.filter(created_at__gte=now - timedelta(days=30))
                              .values("created_at__date").annotate(n=Count("id")))
    return HttpResponse(str(numbers))


urlpatterns = [
    path("naive-admin/", site.urls),
    path("naive/orders/", order_list),
    path("naive/orders/<uuid:order_id>/", order_page),
    path("naive/dashboard/", dashboard),
]
