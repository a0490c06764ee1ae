"""Faults around a real worker: crashes, a database that goes away, a backlog of tasks.
Nothing may be lost, and a crash is not the task's failure."""

import random
import re
import socket
import time

import pytest
from django.db import connection

from exchange_groups.models import Account, Address, Group, GroupMember, Task

from .conftest import postgresql_only
from .test_worker import create, status, wait_for

pytestmark = pytest.mark.worker


def unreachable_database_url() -> str:
    if connection.vendor == "postgresql":
        with socket.socket() as s:  # a free port: nothing listens there
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"postgres://postgres@127.0.0.1:{port}/nothing"
    return "sqlite:////nonexistent-folder/db.sqlite3"


def test_a_task_longer_than_its_lease_is_applied_once(worker, service, customer, domain):
    """The worker renews its lease while the backend works: a short lease does not hand a
    running task to a second worker."""
    worker.start(PROVISIONING_DELAY="5", TASK_LEASE_SECONDS="1.5")
    group = create(service, customer, domain)
    task = group.tasks.get()
    wait_for(lambda: status(task) == "done", what="task done")
    task.refresh_from_db()
    assert task.attempts == 1
    assert "claim lost" not in worker.log


def test_a_worker_without_database_does_not_drop_its_message(worker, service, customer, domain):
    """The message a worker could not process (no database) is not acknowledged: a worker
    that reaches the database applies the change, with no sweep to rescue it."""
    group = create(service, customer, domain)
    task = group.tasks.get()
    worker.start(beat=False, DATABASE_URL=unreachable_database_url())
    wait_for(lambda: "execute_task" in worker.log and "OperationalError" in worker.log)
    worker.stop()
    assert status(task) == "todo"

    worker.start(beat=False)
    wait_for(lambda: status(task) == "done", timeout=30, what="task done")
    assert Group.objects.get(pk=group.pk).state == "ok"


def test_the_sweep_does_not_wait_behind_the_backlog(worker, service, customer, domain):
    for i in range(8):
        create(service, customer, domain, local_part=f"backlog{i}")
    worker.start(PROVISIONING_DELAY="1")
    wait_for(lambda: not Task.objects.exclude(status="done").exists(), what="backlog done")
    received = re.findall(r"Task exchange_groups\.tasks\.(\w+)\[[^]]+\] received", worker.log)
    first_sweep = received.index("sweep_tasks")
    last_task = len(received) - 1 - received[::-1].index("execute_task")
    assert first_sweep < last_task, received


def cut_database_connections():
    """Every connection to the test database but this one is terminated, as a failover or
    a restarted server would do to the worker."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@postgresql_only("pg_terminate_backend needs PostgreSQL")
def test_no_change_is_lost_through_crashes_and_cut_connections(worker, service, customer, domain):
    members = 2500
    Address.objects.bulk_create(
        Address(domain=domain, local_part=f"m{i}", kind="account") for i in range(members)
    )
    Account.objects.bulk_create(
        Account(service=service, address=address, display_name=address.local_part)
        for address in Address.objects.filter(domain=domain, local_part__startswith="m")
    )
    everyone = list(Account.objects.values_list("pk", flat=True))
    groups = [
        create(service, customer, domain, local_part=f"big{i}", member_accounts=everyone)
        for i in range(3)
    ]
    env = {"PROVISIONING_DELAY": "0.3", "TASK_LEASE_SECONDS": "2"}
    rng = random.Random(9)
    for round_ in range(6):
        worker.start(**env)
        time.sleep(rng.uniform(0.5, 2.0))
        cut_database_connections()
        if round_ % 2:
            time.sleep(rng.uniform(0.2, 1.0))
            worker.kill()
        else:
            time.sleep(rng.uniform(0.5, 1.5))
            worker.kill()
            cut_database_connections()
    worker.start(**env)
    wait_for(lambda: not Task.objects.exclude(status="done").exists(), timeout=60, what="all done")
    for group in groups:
        live = GroupMember.objects.filter(group=group)
        assert live.count() == members
        assert live.values("account").distinct().count() == members
    assert set(Task.objects.values_list("attempts", flat=True)) == {1}
