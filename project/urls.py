from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from core import views as core_views
from designs import urls as design_urls
from marketplace import urls as marketplace_urls
from mockups import urls as mockup_urls
from ops import health, metrics
from orders import urls as order_urls

# JSON under /api/, Django's own pages elsewhere.
handler400 = "core.api.bad_request"
handler403 = "core.api.permission_denied"
handler404 = "core.api.page_not_found"
handler500 = "core.api.server_error"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("favicon.ico", core_views.favicon),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("designs/", include("designs.urls")),
    path("orders/", include("orders.urls")),
    path("api/openapi.json", core_views.openapi_json, name="openapi"),
    path("api/docs/", core_views.api_docs, name="api_docs"),
    path("api/", include((design_urls.api_urlpatterns, "designs_api"))),
    path("api/", include((order_urls.api_urlpatterns, "orders_api"))),
    path("api/", include((mockup_urls.api_urlpatterns, "mockups_api"))),
    path("api/", include((marketplace_urls.api_urlpatterns, "marketplace_api"))),
    path("marketplace/", include(marketplace_urls)),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
