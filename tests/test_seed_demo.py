"""The demo data: what a new user finds after the run command."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from exchange_groups.models import Account, ExchangeService, ExternalContact, Group, Task

pytestmark = pytest.mark.django_db


def seed():
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_data_covers_every_state_and_status():
    output = seed()
    assert "demo / demo-exchange-2026" in output
    support = authenticate(username="support", password="support-exchange-2026")
    assert support.is_staff and not support.is_superuser
    assert support.has_perm("exchange_groups.operate_task")
    assert not support.has_perm("exchange_groups.delete_exchangeservice")
    user = authenticate(username="demo", password="demo-exchange-2026")
    assert user is not None and not user.is_staff
    service = ExchangeService.objects.get(name="hosted-ab12345-1")
    assert list(service.customers.all()) == [user]
    assert list(ExchangeService.objects.granted_to(user)) == [service]
    assert set(service.domains.values_list("state", flat=True)) == {"ok", "creating"}
    assert Account.objects.filter(service=service).count() == 50
    assert ExternalContact.objects.filter(service=service).count() == 20
    assert set(Group.objects.filter(service=service).values_list("state", flat=True)) == {
        "ok", "creating", "deleting", "suspended"
    }  # fmt: skip
    assert set(Task.objects.filter(service=service).values_list("status", flat=True)) == {
        "todo", "doing", "done", "error", "cancelled"
    }  # fmt: skip
    statuses = {g.status for g in Group.objects.with_overview().filter(service=service)}
    assert {"ok", "pending", "error", "creating", "deleting", "suspended"} <= statuses


def test_demo_data_is_loaded_once():
    seed()
    counts = (Account.objects.count(), Group.objects.count(), Task.objects.count())
    output = seed()
    assert "already loaded" in output and "demo / demo-exchange-2026" in output
    assert (Account.objects.count(), Group.objects.count(), Task.objects.count()) == counts
