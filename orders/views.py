"""Customer pages for orders."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from designs.models import Design
from orders.models import Order, Product

ORDERS_PAGE_SIZE = 25
PICKER_DESIGNS = 60  # newest designs offered in the order form; more via upload or the gallery


@login_required
def order_list(request):
    page = Paginator(Order.objects.for_customer_list(request.user), ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {"page": page})


@login_required
def order_new(request):
    products = list(Product.objects.filter(active=True))
    designs = list(
        Design.objects.for_gallery(request.user)
        .filter(status__in=[Design.Status.READY, Design.Status.DUPLICATE, Design.Status.QUEUED,
                            Design.Status.PROCESSING])[:PICKER_DESIGNS]
    )
    return render(request, "orders/new.html", {
        "products": products,
        "designs": designs,
        "preselected": request.GET.get("design", ""),
        "products_data": [{"id": str(p.pk), "name": p.name, "price": str(p.price), "sizes": p.size_list,
                           "colors": p.color_list} for p in products],
    })


@login_required
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.visible_to(request.user).for_detail(), pk=order_id)
    return render(request, "orders/detail.html", {"order": order})
