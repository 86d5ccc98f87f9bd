from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class ViewingBridgeAdminConfig(AdminConfig):
    default_site = "config.admin.ViewingBridgeAdminSite"


class TasksDatabaseConfig(TasksAppConfig):
    # The app names itself in English only, as the admin's heading of its task results.
    verbose_name = _("Background tasks")
