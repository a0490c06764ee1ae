import os
import sys

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

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


@worker_init.connect
def _commit_asynchronously(**kwargs):
    """A worker's commits do not wait for PostgreSQL to flush them to disk (asynchronous
    commit), which was a fifth of a one-item task's time. Nothing is lost that matters: a
    commit lost in a database crash (the last fraction of a second) takes the task back to
    where it was before, its changes with it (they are one transaction), and it is applied
    again (backends are idempotent; the sweep sends it again). The customer's request, in
    the web process, still waits: a task it committed is never lost. Off with
    TASK_ASYNCHRONOUS_COMMIT=0."""
    from django.conf import settings
    from django.db.backends.signals import connection_created

    if settings.TASK_ASYNCHRONOUS_COMMIT:
        connection_created.connect(_no_flush_wait, dispatch_uid="worker-asynchronous-commit")


def _no_flush_wait(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
