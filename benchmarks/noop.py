"""Loaded by the benchmark's worker (celery worker -I benchmarks.noop): the no-op task the
engine is compared with, and a signal that tells the benchmark when any task has run."""

import redis
from celery import shared_task
from celery.signals import task_postrun
from django.conf import settings

DONE_KEY = "bench:done"
_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.CELERY_BROKER_URL.replace("redis+socket", "unix"))
    return _client


@shared_task(name="benchmarks.noop")
def noop(n: int) -> None:
    """Does nothing: its round trip is Celery's own floor on this broker."""


@task_postrun.connect
def _tell(sender=None, args=None, **kwargs):
    client().rpush(DONE_KEY, f"{sender.name}:{args[0] if args else ''}")
