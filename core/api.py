"""JSON plumbing shared by the apps' APIs: one error shape, no HTML redirects, never a 500 for bad input."""

import functools
import json

from django.http import Http404, JsonResponse


class ApiError(Exception):
    """An expected failure with a message for the client; apps' domain errors subclass it."""

    status = 400

    def __init__(self, message, *, details=None, status=None, headers=None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}  # e.g. Retry-After on a 429
        if status is not None:
            self.status = status


def error_response(message, *, status, details=None):
    return JsonResponse({"error": message, "details": details}, status=status)


def api_view(*methods, login_required=True):
    """Decorate a JSON view: allowed methods, a 401 (not a login redirect) for anonymous users, errors as JSON."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error_response(f"Method {request.method} not allowed.", status=405)
            if login_required and not request.user.is_authenticated:
                return error_response("Log in first.", status=401)
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                response = error_response(error.message, status=error.status, details=error.details)
                for header, value in getattr(error, "headers", {}).items():
                    response[header] = value
                return response
            except Http404:
                return error_response("Not found.", status=404)

        return wrapper

    return decorate


def json_body(request):
    """The request body as a JSON object, or an ApiError saying what is wrong with it."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: absurdly nested JSON
        raise ApiError("The request body is not valid JSON.", details=str(error)) from None
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body
