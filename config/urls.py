from django.contrib import admin
from django.urls import include, path

from bookings.quarantine import views as quarantine_views

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
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("bookings.intake.urls")),
]
