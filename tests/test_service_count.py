"""A service's accounts and tasks are counted by the database (ServiceCount, migration
0017's triggers). A page typed by its number deep in the accounts tab or in recent tasks
reads that count to know whether to read the page from the end: a wrong count would show
the wrong rows, or the first page instead of the one asked."""

import importlib
import re

import pytest
from django.db import connection
from django.urls import reverse

from exchange_groups.models import Account, Address, ServiceCount, Task
from exchange_groups.paging import CountlessPaginator

from .conftest import make_account, make_group

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deep_from_20_rows(monkeypatch):
    monkeypatch.setattr(CountlessPaginator, "DEEP", 20)  # 1,000 rows in production


def accounts_shown(client, service, page) -> list[str]:
    html = client.get(reverse("panel:accounts", args=[service.name]), {"page": page})
    return re.findall(r"<tr><td>([^<@]+)@[^<]+</td>", html.content.decode())


def tasks_shown(client, service, page) -> list[str]:
    html = client.get(reverse("panel:tasks", args=[service.name]), {"page": page})
    return re.findall(r'data-label="[^"]* (team\d+)@', html.content.decode())


def test_a_deep_accounts_page_follows_the_accounts_added_and_removed(
    client, customer, service, domain, other_service
):
    client.force_login(customer)
    for i in range(60):  # one insert each
        make_account(service, f"user{i:02d}")
    addresses = Address.objects.bulk_create(  # one statement for 20
        Address(domain=domain, local_part=f"user{i:02d}", kind="account") for i in range(60, 80)
    )
    Account.objects.bulk_create(Account(service=service, address=a) for a in addresses)
    for i in range(30):  # another customer's accounts are not this service's
        make_account(other_service, f"zz{i:02d}")
    every = [f"user{i:02d}" for i in range(80)]
    assert accounts_shown(client, service, 4) == every[75:]  # read from the end
    assert accounts_shown(client, service, "last") == every[75:]

    # Support deletes ten accounts at once: the last page is now page 3.
    Account.objects.filter(service=service, address__local_part__lt="user10").delete()
    assert accounts_shown(client, service, 3) == every[60:]
    assert accounts_shown(client, service, 4) == every[10:35]  # past the end: the first
    assert ServiceCount.objects.get(service=service).accounts == 70


def test_a_deep_tasks_page_follows_the_tasks_added_and_removed(client, customer, service, domain):
    client.force_login(customer)
    for i in range(60):
        make_group(service, customer, f"team{i:02d}")  # a creation task each
    newest_first = [f"team{i:02d}" for i in range(59, -1, -1)]
    assert tasks_shown(client, service, 3) == newest_first[50:]  # read from the end

    # Support deletes the twenty oldest tasks: 40 are left, page 2 is the last.
    Task.objects.filter(pk__in=Task.objects.order_by("pk")[:20].values("pk")).delete()
    assert tasks_shown(client, service, 2) == newest_first[25:40]
    assert tasks_shown(client, service, 3) == newest_first[:25]  # past the end: the first


def test_the_migration_counts_the_accounts_and_tasks_already_there(
    client, customer, service, domain
):
    client.force_login(customer)
    for i in range(30):
        make_account(service, f"user{i:02d}")
    ServiceCount.objects.all().delete()  # as before the migration
    migration = importlib.import_module("exchange_groups.migrations.0017_service_count")
    with connection.cursor() as cursor:
        cursor.execute(migration.COUNT_EXISTING)
    assert accounts_shown(client, service, 2) == [f"user{i:02d}" for i in range(25, 30)]
