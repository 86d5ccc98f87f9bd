from django.contrib import admin
from django.urls import include, path

from bookings.viewing_import.webhooks import mspecs_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("webhooks/mspecs/<slug:agency_slug>/", mspecs_webhook, name="mspecs-webhook"),
    path("", include("bookings.intake.urls")),
]
