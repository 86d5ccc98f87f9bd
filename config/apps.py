from django.contrib.admin.apps import AdminConfig


class ViewingBridgeAdminConfig(AdminConfig):
    default_site = "config.admin.ViewingBridgeAdminSite"
