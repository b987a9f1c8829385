from django.urls import path

from mockups import api, views

app_name = "mockups"

urlpatterns = []

# The image endpoints sit under /api/ beside the JSON: they answer for the same rows, and need no page of their own.
api_urlpatterns = [
    path("designs/<uuid:design_id>/mockups", api.mockup_create, name="mockup_create"),
    path("mockups/<uuid:mockup_id>", api.mockup_status, name="mockup_status"),
    path("mockups/images/<str:digest>-<int:size>.webp", views.mockup_preview, name="mockup_preview"),
    path("mockups/images/<str:digest>.webp", views.mockup_image, name="mockup_image"),
    path("templates", api.template_list, name="template_list"),
    path("templates/photos/<str:sha256>-<int:size>.webp", views.template_preview, name="template_preview"),
    path("templates/photos/<str:sha256>.<str:extension>", views.template_photo, name="template_photo"),
]
