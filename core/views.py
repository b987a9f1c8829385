"""Views every site has, whatever its apps."""

from django.shortcuts import redirect
from django.templatetags.static import static


def favicon(request):
    """Browsers ask for /favicon.ico on every page that names none (the admin's): the logo, not a 404."""
    return redirect(static("img/logo.svg"), permanent=True)
