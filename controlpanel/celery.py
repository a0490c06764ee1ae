import os
import sys

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings")

app = Celery("controlpanel")
# Every CELERY_* Django setting configures the app; see settings.py.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fix-up closes every database connection before and after each task, so
# each task opened a new one: about 9 ms on PostgreSQL, more than the task's own work. It
# is told to keep them (an old-style setting it reads itself), and Django's own rule
# decides instead, as for a web request: CONN_MAX_AGE, and health checks that replace a
# connection the server dropped (settings.py).
app.conf["CELERY_DB_REUSE_MAX"] = sys.maxsize


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs):
    from django.db import close_old_connections

    close_old_connections()
