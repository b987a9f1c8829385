"""The ceiling for `python -m bench load`: the project's settings, middleware and ASGI stack, one "ok" view.

Served by the same gunicorn command as the app (`gunicorn bench.load.bare_asgi`); this module is its own URLconf,
so the project gains no URL. What a page costs beyond this is the page's own work (queries, templates).
"""

import os

from django.http import HttpResponse
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


def ok(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("", ok)]

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = __name__
from project.asgi import application  # noqa: E402, F401  the app's own ASGI stack
