"""Home page, sign-up, and log-in with a limit on failed attempts; log-out is Django's own view."""

import math

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from project import ratelimit


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def home(request):
    return render(request, "home.html")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("designs:gallery")
    return render(request, "registration/signup.html", {"form": form})


class LoginAttemptsMixin:
    """Refuses a log-in after LOGIN_FAILURES_LIMIT failed attempts for one username from one address.

    Checked before the password is, so a refused attempt tells nothing about the password; only failures count.
    """

    rate_limited_message = "Too many failed log-in attempts for this account. Try again in {wait}."

    def clean(self):
        identity = ratelimit.login_identity(self.data.get("username"), self.request)
        wait = ratelimit.LOGIN_FAILURES.wait_s(identity)
        if wait:
            self.retry_after = wait
            minutes = math.ceil(wait / 60)
            raise ValidationError(self.rate_limited_message.format(
                wait=f"{wait} seconds" if wait < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"),
                code="rate_limited")
        try:
            return super().clean()
        except ValidationError:
            ratelimit.LOGIN_FAILURES.hit(identity)
            raise


class LoginForm(LoginAttemptsMixin, AuthenticationForm):
    pass


class AdminLoginForm(LoginAttemptsMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    """Django's log-in page; a refused attempt answers 429 with Retry-After, the form still showing why."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
