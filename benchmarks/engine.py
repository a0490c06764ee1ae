"""Figures for the heavy paths, on the database configured (SQLite in a temporary folder
by default; set DATABASE_URL to measure PostgreSQL):

    .venv/bin/python benchmarks/engine.py [members]

- creating a group with N members (service function: rows and tasks in one transaction);
- a worker applying the N-member task (engine, built-in backend, audit trail included);
- streaming the N-member CSV export;
- rendering the groups list with 300 groups (SQL queries and time).
It prints what it measured; it asserts nothing.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # unreachable: nothing is sent
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def timed(label, function):
    start = time.perf_counter()
    result = function()
    print(f"{label:<55} {time.perf_counter() - start:8.2f} s")
    return result


def main(members: int) -> None:
    from django.contrib.auth import get_user_model

    from exchange_groups import engine, services
    from exchange_groups.models import Account, Address, Domain, ExchangeService, Group, Task

    call_command("migrate", verbosity=0)
    # Nothing listens on the broker: sending the wake-up messages is skipped.
    engine.enqueue = lambda ids, countdown=None, **_: None
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    service = ExchangeService.objects.create(organization_name="bench", name="bench-1")
    service.customers.add(user)
    domain = Domain.objects.create(service=service, name="bench.example")
    addresses = Address.objects.bulk_create(
        [Address(domain=domain, local_part=f"u{i:05d}", kind="account") for i in range(members)]
    )
    accounts = Account.objects.bulk_create([Account(service=service, address=a) for a in addresses])
    print(f"database: {connection.vendor}, {members} members")

    group = timed(
        f"create a group with {members} members (request)",
        lambda: services.create_group(
            service, user=user, local_part="big", domain=domain,
            member_accounts=[a.pk for a in accounts],
        ),
    )  # fmt: skip
    for task in group.tasks.order_by("pk"):
        timed(f"worker applies {task.function}", lambda t=task: engine.execute(t.pk))
    assert Group.objects.get(pk=group.pk).members.count() == members
    assert set(Task.objects.values_list("status", flat=True)) == {"done"}

    client = Client()
    client.force_login(user)

    def export():
        response = client.get(f"/services/{service.name}/groups/{group.pk}/members.csv")
        return sum(chunk.count(b"\n") for chunk in response.streaming_content)

    lines = timed(f"stream the member export ({members} rows)", export)
    print(f"{'':<55} {lines:8d} lines")

    for i in range(299):
        Group.objects.create(
            service=service,
            address=Address.objects.create(domain=domain, local_part=f"g{i}", kind="group"),
            state="ok",
        )
    with CaptureQueriesContext(connection) as queries:
        timed(
            "render the groups list (300 groups)",
            lambda: client.get(f"/services/{service.name}/groups/"),
        )
    print(f"{'':<55} {len(queries):8d} SQL queries")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
