"""The engine at work: a real Celery worker process on the real broker and database."""

import time

import pytest

from exchange_groups import services
from exchange_groups.models import Group, GroupMember, Task

from .conftest import wait_for

pytestmark = pytest.mark.worker


def status(task):
    return Task.objects.values_list("status", flat=True).get(pk=task.pk)


def create(service, customer, domain, **kwargs):
    return services.create_group(
        service, user=customer, local_part=kwargs.pop("local_part", "team"), domain=domain, **kwargs
    )


def test_a_created_group_becomes_operational(worker, service, customer, domain, accounts):
    worker.start(PROVISIONING_DELAY="1")
    group = create(service, customer, domain, member_accounts=[a.pk for a in accounts[:3]])
    creation = group.tasks.get(function="addDistributionGroup")
    seen = [status(creation)]
    start = time.monotonic()
    while seen[-1] != "done" and time.monotonic() - start < 30:
        if (now := status(creation)) != seen[-1]:
            seen.append(now)
        time.sleep(0.05)
    assert seen == ["todo", "doing", "done"]
    wait_for(lambda: Group.objects.get(pk=group.pk).state == "ok", what="group ok")
    wait_for(lambda: group.members.count() == 3, what="members live")
    # The members are live before the worker records their task as done: wait for it.
    wait_for(
        lambda: set(group.tasks.values_list("status", flat=True)) == {"done"}, what="tasks done"
    )


def test_a_failure_is_retried_ends_in_error_and_a_retry_succeeds(worker, service, customer, domain):
    worker.start(PROVISIONING_FAILURE_RATE="1")
    group = create(service, customer, domain)
    task = group.tasks.get()
    wait_for(lambda: status(task) == "error", what="task in error")
    task.refresh_from_db()
    assert task.attempts == 3
    assert task.error == "La plateforme Exchange n’a pas pu appliquer cette modification."
    assert Group.objects.get(pk=group.pk).state == "creating"
    worker.stop()

    worker.start(PROVISIONING_FAILURE_RATE="0")
    services.retry_task(task, user=customer)
    wait_for(lambda: status(task) == "done", what="retried task done")
    assert Group.objects.get(pk=group.pk).state == "ok"


def test_a_lost_message_is_picked_up_by_the_sweep(worker, service, customer, domain):
    from controlpanel.celery import app

    group = create(service, customer, domain)
    # The message was sent on commit; Redis loses it (flushed, restarted empty...).
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
    worker.start()
    wait_for(lambda: status(group.tasks.get()) == "done", what="task done")
    assert "re-sent" in worker.log


def test_a_worker_killed_mid_task_is_applied_once_after_restart(
    worker, service, customer, domain, accounts
):
    worker.start()
    group = create(service, customer, domain)
    wait_for(lambda: Group.objects.get(pk=group.pk).state == "ok", what="group ok")
    worker.stop()

    worker.start(PROVISIONING_DELAY="30")
    group.refresh_from_db()
    task = services.add_members(group, user=customer, accounts=[a.pk for a in accounts])
    wait_for(lambda: status(task) == "doing", what="task doing")
    worker.kill()
    time.sleep(1)
    assert status(task) == "doing" and not group.members.exists()

    worker.start()
    wait_for(lambda: status(task) == "done", timeout=60, what="task done after restart")
    task.refresh_from_db()
    assert task.attempts == 1  # the crash did not use up an attempt
    assert GroupMember.objects.filter(group=group).count() == len(accounts)
    assert set(task.items.values_list("status", flat=True)) == {"done"}


def test_changes_to_one_group_are_applied_in_the_order_requested(worker, service, customer, domain):
    worker.start()
    group = create(service, customer, domain)
    wait_for(lambda: Group.objects.get(pk=group.pk).state == "ok", what="group ok")
    worker.stop()
    # Two worker processes, a little delay: without ordering, the changes would race.
    worker.start(PROVISIONING_DELAY="0.3")
    group.refresh_from_db()
    tasks = [
        services.update_group(group, user=customer, display_name=name)
        for name in ("First", "Second", "Third")
    ]
    wait_for(lambda: all(status(t) == "done" for t in tasks), what="all done")
    done = list(Task.objects.filter(pk__in=[t.pk for t in tasks]).order_by("pk"))
    for earlier, later in zip(done, done[1:], strict=False):
        assert earlier.finished_at <= later.started_at
    assert Group.objects.get(pk=group.pk).display_name == "Third"
