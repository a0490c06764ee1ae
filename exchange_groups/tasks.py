"""Celery entry points. They take ids only; exchange_groups/engine.py does the work."""

from celery import shared_task

from . import engine


@shared_task(
    name="exchange_groups.tasks.execute_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def execute_task(self, task_id: int) -> None:
    try:
        engine.execute(task_id)
    except engine.DATABASE_LOST as exc:
        # A worker that cannot reach the database must not drop the message it could not
        # process: it is sent again, for this worker or another, once the database is back
        # (for the task it stopped at: the call may have gone on to its group's next ones).
        raise self.retry(
            args=(getattr(exc, "task_id", task_id),), exc=exc, countdown=5, max_retries=None
        ) from exc


@shared_task(name="exchange_groups.tasks.sweep_tasks")
def sweep_tasks() -> dict:
    return engine.sweep()


def _directory_platform() -> bool:
    from django.conf import settings

    return settings.PROVISIONING_BACKEND.endswith("DirectoryBackend")


@shared_task(name="exchange_groups.tasks.sync_accounts")
def sync_accounts() -> dict:
    """The mailboxes of the directory into the panel (platform_sync.py)."""
    from . import platform_sync

    return platform_sync.sync_accounts() if _directory_platform() else {}


@shared_task(name="exchange_groups.tasks.check_drift")
def check_drift() -> dict:
    """What the panel says is live, compared with the directory (platform_sync.py)."""
    from . import platform_sync

    return platform_sync.check_drift() if _directory_platform() else {}
