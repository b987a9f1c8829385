"""The workflow on the admin order page: the buttons for the moves allowed now, recording payments, releasing an
order unpaid. Every POST goes through transitions.py or payments.py; a refusal is a 4xx page that says why."""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from orders import payments, proofs, transitions
from orders.errors import OrderError
from orders.models import Carrier, Order

Status = Order.Status


class OrderWorkflowAdminMixin:
    """A ModelAdmin mixin for Order: workflow context on the change page and the URLs its forms post to."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/transition/", wrap(require_POST(self.transition_view)),
                 name="orders_order_transition"),
            path("<path:object_id>/payment/", wrap(require_POST(self.payment_view)), name="orders_order_payment"),
            path("<path:object_id>/release-unpaid/", wrap(require_POST(self.release_view)),
                 name="orders_order_release_unpaid"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = Order.objects.filter(pk=object_id).first() if _is_uuid(object_id) else None
        if order is not None:
            extra_context = {**(extra_context or {}), **self.workflow_context(request, order)}
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_context(self, request, order):
        may_change = self.has_change_permission(request, order)
        allowed = transitions.allowed_transitions(order, request.user) if may_change else []
        return {
            "workflow": {
                "order": order,
                "may_change": may_change,
                "actions": [{"to": to.value, "label": transitions.ACTION_LABELS[to],
                             "needs_note": to == Status.REVISING, "ships": to == Status.SHIPPED,
                             "danger": to in (Status.CANCELLED, Status.REFUNDED)} for to in allowed],
                "blockers": transitions.blockers(order, Status.IN_PRODUCTION)
                if order.status == Status.APPROVED else [],
                "carriers": list(Carrier.objects.filter(active=True)) if Status.SHIPPED in allowed else [],
                "payment": payments.provider_for(order).instructions(order),
                "received": order.payments.aggregate(total=Sum("amount"))["total"] or 0,
                "may_record_payment": may_change and order.payment_status == Order.PaymentStatus.UNPAID,
                "may_release": may_change and order.payment_status == Order.PaymentStatus.UNPAID
                and not order.release_unpaid and order.status not in (Status.CANCELLED, Status.REFUNDED),
                "today": timezone.localdate().isoformat(),
                "request_key": uuid.uuid4(),
            },
        }

    def _order_for_change(self, request, object_id):
        order = get_object_or_404(Order, pk=object_id) if _is_uuid(object_id) else None
        if order is None:
            raise PermissionDenied
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        return order

    def _refused(self, request, order, error):
        context = {**self.admin_site.each_context(request), "order": order, "error": error.message,
                   "title": f"Order {order.display_number}: not done", "opts": self.model._meta,
                   "change_url": reverse("admin:orders_order_change", args=[order.pk])}
        return TemplateResponse(request, "admin/orders/order/refused.html", context, status=error.status)

    def _done(self, request, order, text):
        self.message_user(request, text, messages.SUCCESS)
        return redirect("admin:orders_order_change", order.pk)

    def transition_view(self, request, object_id):
        order = self._order_for_change(request, object_id)
        to = request.POST.get("to", "")
        try:
            if to == Status.PROOFING:
                proofs.proof_request_mockups(order=order, by=request.user)
            changed = transitions.order_transition(
                order=order, to=to, by=request.user, note=request.POST.get("note", ""),
                carrier=request.POST.get("carrier") or None, tracking_number=request.POST.get("tracking_number", ""),
            )
        except OrderError as error:
            return self._refused(request, order, error)
        status = changed.get_status_display().lower()
        return self._done(request, changed, f"Order {changed.display_number} is now {status}.")

    def payment_view(self, request, object_id):
        order = self._order_for_change(request, object_id)
        try:
            payments.payment_record(order=order, amount=request.POST.get("amount", ""),
                                    received_on=request.POST.get("received_on", ""), note=request.POST.get("note", ""),
                                    request_key=request.POST.get("request_key"), by=request.user)
        except OrderError as error:
            if error.details:
                error.message = f"{error.message} " + " ".join(str(text) for text in error.details.values())
            return self._refused(request, order, error)
        order.refresh_from_db(fields=["payment_status"])
        status = order.get_payment_status_display().lower()
        return self._done(request, order, f"Payment recorded; the order is {status}.")

    def release_view(self, request, object_id):
        order = self._order_for_change(request, object_id)
        try:
            payments.order_release_unpaid(order=order, by=request.user, note=request.POST.get("note", ""))
        except OrderError as error:
            return self._refused(request, order, error)
        return self._done(request, order, "Released for production before payment.")


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
