#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings, which refuse unsafe values
    except ImproperlyConfigured as error:
        sys.exit(f"ImproperlyConfigured: {error}")  # the one sentence, without a traceback
    execute_from_command_line(sys.argv)
