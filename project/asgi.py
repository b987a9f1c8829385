import os

import django
from django.conf import settings

from core.asgi_handler import StreamingASGIHandler
from core.body_limit import RequestBodyLimit
from core.one_request_per_connection import OneRequestPerConnection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
application = OneRequestPerConnection(RequestBodyLimit(StreamingASGIHandler(), max_bytes=settings.REQUEST_MAX_BYTES))
