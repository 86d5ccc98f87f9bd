"""The quarantine mirror's pages, registered by the admin site (config/admin.py) under
/admin/quarantine/: staff only, like every admin page."""

from django.urls import path

from bookings.quarantine import views


def admin_urls(site):
    return [
        path("quarantine/", site.admin_view(views.mirror), name="quarantine_mirror"),
        path("quarantine/decide/", site.admin_view(views.decide), name="quarantine_decide"),
    ]
