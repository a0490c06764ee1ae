"""Celery entry points. They take ids only; exchange_groups/engine.py does the work."""

from celery import shared_task

from . import engine


@shared_task(name="exchange_groups.tasks.execute_task", acks_late=True, reject_on_worker_lost=True)
def execute_task(task_id: int) -> None:
    engine.execute(task_id)


@shared_task(name="exchange_groups.tasks.sweep_tasks")
def sweep_tasks() -> dict:
    return engine.sweep()
