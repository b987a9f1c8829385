import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from core.body_limit import RequestBodyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = RequestBodyLimit(get_asgi_application(), max_bytes=settings.REQUEST_MAX_BYTES)
