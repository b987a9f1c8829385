"""Customer pages for orders: the list, checkout, the order page and the proof decision."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_countries import countries

from designs.models import Design
from orders import selectors, transitions
from orders.addresses import ADDRESS_OPEN, order_address_set
from orders.errors import OrderError
from orders.models import ADDRESS_FIELDS, Address, Order, Product
from orders.payments import provider_for

ORDERS_PAGE_SIZE = 25
PICKER_DESIGNS = 60  # newest designs offered in the order form; more via upload or the gallery
Status = Order.Status


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
    addresses = list(Address.objects.for_customer(request.user))
    return render(request, "orders/new.html", {
        "products": products,
        "designs": designs,
        "preselected": request.GET.get("design", ""),
        "products_data": [{"id": str(p.pk), "name": p.name, "price": str(p.price), "sizes": p.size_list,
                           "colors": p.color_list} for p in products],
        "addresses": addresses,
        "addresses_data": [address.as_dict() for address in addresses],
        "countries": list(countries),
    })


def _detail_context(request, order, **extra):
    customer_actions = [to for to in transitions.allowed_transitions(order, request.user)
                        if (Status(order.status), to) in transitions.CUSTOMER_TRANSITIONS]
    return {
        "order": order,
        "payment": provider_for(order).instructions(order),
        "proof_lines": selectors.proof_lines(order) if order.proof_sent_at else [],
        "may_decide_proof": bool(customer_actions) and order.customer_id == request.user.pk,
        "shipping_country": countries.name((order.shipping_address or {}).get("country", "")),
        "may_add_address": not order.shipping_address and order.status in ADDRESS_OPEN
        and order.customer_id == request.user.pk,
        "countries": countries if not order.shipping_address else [],
        **extra,
    }


@login_required
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.visible_to(request.user).for_detail(), pk=order_id)
    return render(request, "orders/detail.html", _detail_context(request, order))


@login_required
@require_POST
def order_proof_decide(request, order_id):
    """The customer approves the proof, or asks for changes with a comment that goes back to the shop."""
    order = get_object_or_404(Order.objects.filter(customer=request.user).only("id"), pk=order_id)
    decision = request.POST.get("decision")
    to = {"approve": Status.APPROVED, "changes": Status.REVISING}.get(decision)
    try:
        if to is None:
            raise OrderError("Choose whether to approve the proof or to request changes.")
        transitions.order_transition(order=order, to=to, by=request.user, note=request.POST.get("comment", ""))
    except OrderError as error:
        order = get_object_or_404(Order.objects.for_detail(), pk=order.pk)
        context = _detail_context(request, order, proof_error=error.message,
                                  comment=request.POST.get("comment", ""))
        return render(request, "orders/detail.html", context, status=error.status)
    messages.success(request, "Thank you: the proof is approved." if to == Status.APPROVED
                     else "Thank you: we will send you a new proof with your changes.")
    return redirect("orders:detail", order_id=order.pk)


@login_required
@require_POST
def order_address(request, order_id):
    """The customer adds the shipping address an order placed without one is waiting for."""
    order = get_object_or_404(Order.objects.filter(customer=request.user).only("id"), pk=order_id)
    address = {field: request.POST.get(f"ship_{field}", "") for field in ADDRESS_FIELDS}
    try:
        order_address_set(order=order, address=address, by=request.user)
    except OrderError as error:
        order = get_object_or_404(Order.objects.for_detail(), pk=order.pk)
        problems = (error.details or {}).get("shipping_address", {})
        message = error.message + "".join(f" {field.replace('_', ' ').capitalize()}: {text}"
                                          for field, text in problems.items())
        return render(request, "orders/detail.html", _detail_context(request, order, address_error=message,
                                                                     address=address), status=error.status)
    messages.success(request, "Thank you: the shipping address is saved.")
    return redirect("orders:detail", order_id=order.pk)
