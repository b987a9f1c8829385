"""Sign-up, log-in and password pages: Django's auth views, with the site's templates and links."""

from axes.utils import reset as reset_lockout
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignupForm
from accounts.lockout import normalised_username


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
