"""Sign-up and log-in: Django's auth views, with the site's templates."""

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignupForm


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
