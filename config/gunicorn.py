"""gunicorn's settings file (`gunicorn -c config/gunicorn.py config.wsgi`): its own log
lines (start, workers booted and lost) in the app's LOG_FORMAT, with the app's times,
rather than gunicorn's format and clock. The settings are the same module the workers load."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

logconfig_dict = settings.LOGGING
