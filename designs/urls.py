from django.urls import path

from designs import api, views

app_name = "designs"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("upload/", views.upload, name="upload"),
    path("<uuid:design_id>/", views.detail, name="detail"),
    path("<uuid:design_id>/rename", views.rename, name="rename"),
    path("<uuid:design_id>/delete", views.delete, name="delete"),
    path("<uuid:design_id>/original", views.original, name="original"),
    path("<uuid:design_id>/not-duplicate", views.not_duplicate, name="not_duplicate"),
    path("thumbs/<str:sha256>-<int:size>.webp", views.thumbnail, name="thumbnail"),
]

api_urlpatterns = [
    path("uploads", api.upload_create, name="upload_create"),
    path("uploads/<uuid:batch_id>", api.upload_status, name="upload_status"),
    path("uploads/<uuid:batch_id>/files", api.upload_add_files, name="upload_add_files"),
    path("designs", api.design_list, name="design_list"),
    path("designs/<uuid:design_id>", api.design_detail, name="design_detail"),
]
