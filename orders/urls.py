from django.urls import path

from orders import api, views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="new"),
    path("<uuid:order_id>/", views.order_detail, name="detail"),
    path("<uuid:order_id>/proof/", views.order_proof_decide, name="proof_decide"),
    path("<uuid:order_id>/address/", views.order_address, name="address"),
]

api_urlpatterns = [
    path("products", api.product_list, name="product_list"),
    path("orders", api.order_create, name="order_create"),
    path("orders/<uuid:order_id>", api.order_detail, name="order_detail"),
    path("stats", api.stats, name="stats"),
]
