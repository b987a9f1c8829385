"""What django-axes counts failed log-ins by, and how a locked log-in is answered (settings AXES_*).

Failures are counted per user name and client address together, so one user's lockout locks no one else out from
behind the same proxy, and guessing from many addresses is slowed per address.
"""

import ipaddress
import math
import unicodedata

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.db.models import Max
from django.shortcuts import render

from core.ratelimit import client_address

USERNAME_MAX_LENGTH = 255  # axes' AccessAttempt.username


def normalised_username(name):
    """The name as Django compares it (NFKC, as UsernameField does), case-folded, then NFKC again since case folding
    can leave a string unnormalised: `ｓｅｃ-ｂｏｂ`, `𝐬𝐞𝐜-𝐛𝐨𝐛` and `Sec-Bob` all count as `sec-bob`."""
    name = unicodedata.normalize("NFKC", name.strip())
    return unicodedata.normalize("NFKC", name.casefold())[:USERNAME_MAX_LENGTH]


def username_key(request, credentials):
    """AXES_USERNAME_CALLABLE: the normalised name from the credentials, or from the form when there are none."""
    field = settings.AXES_USERNAME_FORM_FIELD
    name = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return normalised_username(name) if isinstance(name, str) else None


def client_ip(request):
    """AXES_CLIENT_IP_CALLABLE: the client address (core.ratelimit.client_address); an IPv6 client counts by its
    /64, the smallest block a site is usually given, or every address of it would have its own tries."""
    address = client_address(request)
    if not address:
        return None
    if ":" in address:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return address


def retry_after_s(request, credentials):
    """Seconds until the most recent failure counted against this log-in leaves the cool-off window."""
    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request, credentials)
    times = [latest for queryset in attempts if (latest := queryset.aggregate(latest=Max("attempt_time"))["latest"])]
    if not times:
        return 1
    remaining = max(times) + get_cool_off(request) - request.axes_attempt_time
    return max(1, math.ceil(remaining.total_seconds()))


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the same answer on the customer and the admin log-in page, 429 with Retry-After."""
    wait = retry_after_s(request, credentials)
    minutes = math.ceil(wait / 60)
    response = render(request, "accounts/locked_out.html",
                      {"wait": f"{wait} second{'s' if wait > 1 else ''}" if wait < 60
                       else f"{minutes} minute{'s' if minutes > 1 else ''}"},
                      status=429)
    response["Retry-After"] = str(wait)
    return response
