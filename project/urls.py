from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import views as core_views
from designs import urls as design_urls
from marketplace import urls as marketplace_urls
from mockups import urls as mockup_urls
from ops import health, metrics
from orders import urls as order_urls
from project import views

admin.site.login_form = views.AdminLoginForm  # the same limit on failed log-ins as the customer page

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", core_views.favicon),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("designs/", include("designs.urls")),
    path("orders/", include("orders.urls")),
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
