"""JSON plumbing shared by the apps' APIs: one error shape, no HTML redirects, never a 500 for bad input."""

import functools
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import csrf, defaults

from core.text import first_bad_text


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
    bad = first_bad_text(body)
    if bad:
        path, problem = bad
        raise ApiError(f"'{path}' {problem}.", details={path: problem})
    return body


# Django's answers for what goes wrong before or around a view (URLconf handlers and CSRF_FAILURE_VIEW): JSON under
# /api/, Django's own pages elsewhere (16.5).

def is_api_request(request):
    return request.path_info.startswith("/api/")


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.bad_request(request, exception, template_name)
    if isinstance(exception, RequestDataTooBig):
        return error_response(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
                              "(files not counted).", status=413)
    if isinstance(exception, TooManyFilesSent):
        return error_response(f"Too many files in one request: send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}.",
                              status=400)
    if isinstance(exception, TooManyFieldsSent):
        return error_response("Too many fields in one request.", status=400)
    if isinstance(exception, MultiPartParserError):
        # Django's parser reads each part's headers (a file's name among them) within 1 KB: a name of ~900
        # characters is refused here, before any view.
        return error_response(f"The multipart body cannot be read: {exception}", status=400,
                              details="Send multipart/form-data with a boundary; each part's headers, its file "
                                      "name included, must fit in 1024 bytes.")
    return error_response("Bad request.", status=400)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception, template_name)
    return error_response("You may not do this.", status=403)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception, template_name)
    return error_response("Not found.", status=404)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.server_error(request, template_name)
    return error_response("Server error: it is logged and we will look into it.", status=500)


def csrf_failure(request, reason=""):
    if not is_api_request(request):
        return csrf.csrf_failure(request, reason)
    return error_response(f"CSRF check failed ({reason}): send the csrftoken cookie's value in the X-CSRFToken "
                          "header.", status=403)
