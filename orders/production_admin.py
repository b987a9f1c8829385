"""OrderAdmin's production tools: the print files zip, the packing slip PDF and the production queue."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path

from orders import packing_slip, production
from orders.models import Order


class QueueFilterForm(forms.Form):
    created_from = forms.DateField(required=False, label="Placed from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="until", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError("The first date must not be after the second.")
        return cleaned


class ProductionAdminMixin:
    """A ModelAdmin mixin for Order: three staff views, each needing the view permission on orders."""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("production-queue/", self._staff_view(self.production_queue_view),
                 name=f"{prefix}_production_queue"),
            path("<uuid:object_id>/print-files.zip", self._staff_view(self.print_files_view),
                 name=f"{prefix}_print_files"),
            path("<uuid:object_id>/packing-slip.pdf", self._staff_view(self.packing_slip_view),
                 name=f"{prefix}_packing_slip"),
            *super().get_urls(),
        ]

    def _staff_view(self, view):
        """The admin's own wrapper (log-in, never cached), with a plain 403 for a logged-in customer rather than
        the admin's log-in page."""
        wrapped = self.admin_site.admin_view(view)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not request.user.is_staff:
                raise PermissionDenied
            return wrapped(request, *args, **kwargs)

        return guarded

    def _order_or_404(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        fields = ("id", "number", "name", "email", "shipping_address", "created_at")
        return get_object_or_404(Order.objects.only(*fields), pk=object_id)

    def print_files_view(self, request, object_id):
        order = self._order_or_404(request, object_id)
        archive = production.print_files_zip(order, production.order_print_items(order.pk))
        response = StreamingHttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{order.display_number}-print-files.zip"'
        response["Cache-Control"] = "private, no-store"
        return response

    def packing_slip_view(self, request, object_id):
        order = self._order_or_404(request, object_id)
        pdf = packing_slip.packing_slip_pdf(order, packing_slip.slip_items(order.pk))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{order.display_number}-packing-slip.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response

    def production_queue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = QueueFilterForm(request.GET or None, label_suffix="")
        dates = form.cleaned_data if form.is_valid() else {}
        rows = production.production_queue(created_from=dates.get("created_from"),
                                           created_to=dates.get("created_to"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Production queue",
            "opts": self.opts,
            "form": form,
            "rows": rows,
            "garments": sum(row.garments for row in rows),
        }
        return TemplateResponse(request, "admin/orders/order/production_queue.html", context)

