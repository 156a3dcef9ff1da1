"""The shop's URLs: its own pages, the admin, and runs under /runs/."""

from django.contrib import admin
from django.urls import include, path
from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.place_order_view, name="place-order"),
    path("orders/<int:order_id>/pay/", views.pay_order_view, name="pay-order"),
    path("admin/", admin.site.urls),
    path("runs/", include("runs.urls")),
]
