from django.urls import path

from marketplace import api, views

app_name = "marketplace"

urlpatterns = [
    path("", views.index, name="index"),
    path("shops/<uuid:connection_id>/disconnect", views.disconnect, name="disconnect"),
    path("designs/<uuid:design_id>/publish", views.publish, name="publish"),
]

api_urlpatterns = [
    path("designs/<uuid:design_id>/listings", api.listing_create, name="listing_create"),
    path("listings/<uuid:listing_id>", api.listing_detail, name="listing_detail"),
]
