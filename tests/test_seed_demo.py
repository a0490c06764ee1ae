"""The demo data: what a new user finds after the run command."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from exchange_groups import engine
from exchange_groups.models import (
    Account,
    Alias,
    ExchangeService,
    ExternalContact,
    Group,
    Task,
    TaskItem,
)

pytestmark = pytest.mark.django_db

SERVICE = "hosted-ab12345-1"


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--any-database", *args, stdout=out)
    return out.getvalue()


def counts():
    return (
        ExchangeService.objects.count(),
        Account.objects.count(),
        ExternalContact.objects.count(),
        Group.objects.count(),
        Task.objects.count(),
        TaskItem.objects.count(),
    )


def test_the_demo_customer_logs_in_and_sees_only_its_service(client):
    output = seed()
    assert "Demo login: demo / demo-exchange-2026" in output
    assert client.login(username="demo", password="demo-exchange-2026")
    user = authenticate(username="demo", password="demo-exchange-2026")
    assert not user.is_staff
    service = ExchangeService.objects.get(name=SERVICE)
    assert list(service.customers.all()) == [user]
    assert list(ExchangeService.objects.granted_to(user)) == [service]
    # The second customer sees its own service, not the demo's.
    other = authenticate(username="autre", password="autre-exchange-2026")
    assert [s.name for s in ExchangeService.objects.granted_to(other)] == ["hosted-cd67890-1"]
    assert Group.objects.granted_to(other).count() == 1


def test_support_staff_may_operate_tasks_but_not_delete_services():
    seed()
    support = authenticate(username="support", password="support-exchange-2026")
    assert support.is_staff and not support.is_superuser
    assert support.has_perm("exchange_groups.operate_task")
    assert not support.has_perm("exchange_groups.delete_exchangeservice")


def test_demo_data_covers_every_state_and_status():
    seed()
    service = ExchangeService.objects.get(name=SERVICE)
    assert dict(service.domains.values_list("name", "state")) == {
        "demo-sarl.fr": "ok", "demo-sarl.com": "ok", "nouveau-demo.fr": "creating"
    }  # fmt: skip
    assert Account.objects.filter(service=service).count() == 50
    assert ExternalContact.objects.filter(service=service).count() == 20
    assert set(Group.objects.filter(service=service).values_list("state", flat=True)) == {
        "ok", "creating", "deleting", "suspended"
    }  # fmt: skip
    assert set(Task.objects.filter(service=service).values_list("status", flat=True)) == set(
        Task.Status.values
    )
    # What the groups list shows, one status per group.
    statuses = {
        g.address.local_part: g.status
        for g in Group.objects.with_overview().filter(service=service)
    }
    assert statuses == {
        "direction": "ok",
        "commercial": "pending",
        "projet-alpha": "error",
        "archives": "suspended",
        "ancien-service": "deleting",
        "support": "creating",
    }


def test_the_live_group_has_what_its_done_tasks_applied():
    seed()
    direction = Group.objects.get(address__local_part="direction")
    assert direction.members.count() == 6
    assert direction.managers.count() == 2
    assert set(direction.delegations.values_list("kind", flat=True)) == {
        "send_as", "send_on_behalf"
    }  # fmt: skip
    assert [(str(a), a.state) for a in direction.aliases.all()] == [
        ("direction@demo-sarl.com", Alias.State.OK)
    ]
    done = direction.tasks.filter(status="done")
    assert set(done.values_list("function", flat=True)) >= {
        "addDistributionGroup", "addDistributionGroupMember", "addDistributionGroupManager",
        "addDistributionGroupSendAs", "addDistributionGroupSendOnBehalfTo",
        "addDistributionGroupAlias",
    }  # fmt: skip
    assert not done.filter(started_at=None).exists() and not done.filter(finished_at=None).exists()
    assert not TaskItem.objects.filter(task__in=done).exclude(status="done").exists()
    cancelled = direction.tasks.get(status="cancelled")
    assert cancelled.function == "setDistributionGroup"


def test_the_failed_task_reads_in_french_and_can_be_retried():
    seed()
    task = Task.objects.get(status="error")
    assert task.function == "addDistributionGroupMember" and task.can_retry
    assert task.error.startswith("1 élément n’a pas pu être appliqué.")
    assert task.items.get().status == "error"


def test_the_interrupted_deletion_is_resumed_by_the_sweep():
    seed()
    deletion = Task.objects.get(status="doing")
    assert deletion.function == "deleteDistributionGroup"
    assert engine.sweep()["freed"] == 1
    deletion.refresh_from_db()
    assert deletion.status == "todo"


def test_demo_data_is_loaded_once():
    seed()
    before = counts()
    output = seed()
    assert "already loaded" in output
    assert "Demo login: demo / demo-exchange-2026" in output
    assert counts() == before


def test_another_login_can_be_chosen():
    output = seed("--username", "essai", "--password", "essai-mot-de-passe-1")
    assert "Demo login: essai / essai-mot-de-passe-1" in output
    user = authenticate(username="essai", password="essai-mot-de-passe-1")
    assert list(ExchangeService.objects.granted_to(user).values_list("name", flat=True)) == [
        SERVICE
    ]
    # Run again with the defaults: the login printed is still the one that works.
    output = seed()
    assert "Demo login: essai (" in output and "demo-exchange-2026" not in output


def test_the_demo_refuses_a_database_that_is_not_the_embedded_default(monkeypatch):
    """Its logins are public: DATABASE_URL may name a production database."""
    monkeypatch.setenv("DATABASE_URL", "postgres://panel@db.internal:5432/panel")
    with pytest.raises(CommandError, match="--any-database"):
        call_command("seed_demo", stdout=StringIO())
    assert counts() == (0, 0, 0, 0, 0, 0)
    assert "Demo login" in seed()  # asked for explicitly
