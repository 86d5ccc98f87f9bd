from django.contrib import admin
from django.urls import path

from bookings import quarantine_views

urlpatterns = [
    path(
        "admin/quarantine/",
        admin.site.admin_view(quarantine_views.mirror),
        name="quarantine_mirror",
    ),
    path(
        "admin/quarantine/decide/",
        admin.site.admin_view(quarantine_views.decide),
        name="quarantine_decide",
    ),
    path("admin/", admin.site.urls),
]
