"""The heavy paths in process: the request creating a 10,000-member group, and a worker
applying its task (built-in backend, audit trail included)."""

import time

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext


def measure(table, size) -> None:
    from django.contrib.auth import get_user_model

    from benchmarks.data import BIG_GROUP_MEMBERS
    from exchange_groups import engine, services
    from exchange_groups.models import Account, ExchangeService, Group, GroupMember, Task

    service = ExchangeService.objects.get(name=f"scale-{size}")
    user = get_user_model().objects.get(username="bench")
    domain = service.domains.get()
    accounts = list(
        Account.objects.filter(service=service).order_by("pk").values_list("pk", flat=True)
    )[:BIG_GROUP_MEMBERS]
    sent = []
    real_enqueue, engine.enqueue = engine.enqueue, lambda ids, countdown=None, **_: sent.extend(ids)
    # Each task measured on its own: a worker would go on from the creation to the
    # members' task in the same call.
    drain, settings.TASK_DRAIN_SECONDS = settings.TASK_DRAIN_SECONDS, 0
    try:
        start = time.perf_counter()
        group = services.create_group(
            service, user=user, local_part=f"heavy{int(time.time())}", domain=domain,
            member_accounts=accounts,
        )  # fmt: skip
        request = time.perf_counter() - start
        table.add(f"create a group with {len(accounts)} members (request)",
                  f"{request * 1000:.0f} ms", "", "", "")  # fmt: skip
        for task in Task.objects.filter(group=group).order_by("pk"):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                engine.execute(task.pk)
                took = time.perf_counter() - start
            table.add(f"worker applies {task.function} ({task.items.count()} items)",
                      f"{took * 1000:.0f} ms", "", "", len(queries))  # fmt: skip
        assert GroupMember.objects.filter(group=group).count() == len(accounts)
        assert not Task.objects.filter(group=group).exclude(status="done").exists()
    finally:
        engine.enqueue, settings.TASK_DRAIN_SECONDS = real_enqueue, drain
    Group.objects.filter(pk=group.pk).update(state="deleting")  # out of the way
