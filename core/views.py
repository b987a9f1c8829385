"""Views every site has, whatever its apps."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from core import openapi
from core.api import api_view, error_response


def favicon(request):
    """Browsers ask for /favicon.ico on every page that names none (the admin's): the logo, not a 404."""
    return redirect(static("img/logo.svg"), permanent=True)


@api_view("GET", login_required=False)
def openapi_json(request):
    return JsonResponse(openapi.openapi_spec())


@api_view("GET")
def api_docs(request):
    """The OpenAPI description as a page for staff: server-rendered, so the CSP needs no script for it."""
    if not request.user.is_staff:
        return error_response("Staff only.", status=403)
    return render(request, "api/docs.html", openapi.docs_outline(openapi.openapi_spec()))
