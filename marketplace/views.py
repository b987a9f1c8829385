"""Customer pages: connect a shop and follow listings (/marketplace/), publish a design (from the design page)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from marketplace import services
from marketplace.forms import ConnectShopForm
from marketplace.models import Listing, ShopConnection

LISTINGS_PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    form = ConnectShopForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.shop_connect(owner=request.user, **form.cleaned_data)
        except services.MarketplaceError as error:
            form.add_error(None, error.message)
        else:
            if connection.last_error:
                messages.warning(request, connection.last_error)
            else:
                messages.success(request, f"Connected to {connection.name}.")
            return redirect("marketplace:index")
    page = Paginator(Listing.objects.for_page(request.user), LISTINGS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/index.html", {
        "form": form, "connections": list(ShopConnection.objects.for_page(request.user)), "page": page,
    })


@login_required
@require_POST
def disconnect(request, connection_id):
    try:
        services.shop_disconnect(owner=request.user, connection_id=connection_id)
    except services.MarketplaceError:
        raise Http404("No such shop.") from None
    messages.success(request, "Shop disconnected.")
    return redirect("marketplace:index")


@login_required
@require_POST
def publish(request, design_id):
    try:
        services.listing_request(owner=request.user, design_id=design_id,
                                 connection_id=request.POST.get("connection") or None)
    except services.MarketplaceError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(request, "Publishing: the listing appears below once the marketplace confirms it.")
    return redirect("designs:detail", design_id=design_id)
