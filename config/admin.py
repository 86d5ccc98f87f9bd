"""The project's admin site: Django's, plus the staff pages that belong to no single model."""

from django.contrib import admin

from bookings.quarantine.urls import admin_urls as quarantine_urls


class ViewingBridgeAdminSite(admin.AdminSite):
    def get_urls(self):
        return [*quarantine_urls(self), *super().get_urls()]
