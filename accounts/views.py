"""Sign-up, log-in, password and account pages: Django's auth views, with the site's templates and links."""

from axes.utils import reset as reset_lockout
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import EmailChangeForm, SignupForm
from accounts.lockout import normalised_username
from orders.models import Address, Order

ORDERS_PAGE_SIZE = 10


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    """The account page: e-mail address (changed with the current password), password links, saved addresses,
    order history."""
    form = EmailChangeForm(request.POST or None, initial={"email": request.user.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.account_change_email(user=request.user, email=form.cleaned_data["email"],
                                          password=form.cleaned_data["password"])
        except services.AccountError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, f"Your e-mail address is now {request.user.email}.")
            return redirect("account")
    orders = Paginator(Order.objects.for_customer_list(request.user), ORDERS_PAGE_SIZE)
    return render(request, "accounts/account.html", {
        "form": form, "page": orders.get_page(request.GET.get("page")),
        "addresses": Address.objects.for_customer(request.user),
    })


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("designs:gallery")
    return render(request, "accounts/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    """Django's log-in page. Failed attempts are counted by django-axes (accounts/lockout.py), which answers a locked
    one with 429 before any password is checked, here and on the admin's log-in page alike."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's; the mail's link starts with SITE_URL, the site's public address, whatever Host the request named."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        return {"site_url": settings.SITE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a new password also lifts a lockout of the account, so a locked-out customer can log in at once."""

    template_name = "accounts/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_lockout(username=normalised_username(form.user.get_username()))
        return response
