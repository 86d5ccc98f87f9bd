from django.contrib import admin
from django.urls import include, path

from bookings.monitoring import views as monitoring

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", monitoring.healthz, name="healthz"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("", include("bookings.intake.urls")),
]
