"""WSGI entry point (gunicorn seedance_saas.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedance_saas.settings")
application = get_wsgi_application()
