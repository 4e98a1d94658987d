import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_asgi_application()

# A web process: its primary connections get DB_STATEMENT_TIMEOUT_MS (core/process_role.py). Set
# before the first request opens a connection (gunicorn and runserver import this module first).
from core.process_role import WEB, set_role  # noqa: E402

set_role(WEB)
