from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from bookings.monitoring import views as monitoring
from bookings.viewing_import.webhooks import mspecs_webhook

urlpatterns = [
    # Staff come here; buyers arrive at a viewing's own booking link.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", monitoring.healthz, name="healthz"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("webhooks/mspecs/", mspecs_webhook, name="mspecs-webhook"),
    path("", include("bookings.intake.urls")),
    path("", include("bookings.buyer.urls")),
]
