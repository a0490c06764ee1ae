"""The worker side, run in this process: claiming, applying, recording, the sweep.
(tests/test_worker.py shows the same with a real worker process on the real broker.)"""

import json
import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from controlpanel.celery import app as celery_app
from exchange_groups import engine, reasons, services
from exchange_groups.backends.base import BackendError
from exchange_groups.models import Address, Alias, Delegation, Group, Task, TaskItem

from .conftest import make_group, run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing(settings):
    def set_rate(rate):
        settings.PROVISIONING_OPTIONS = {"delay": 0, "failure_rate": rate}
        engine.get_backend.cache_clear()

    return set_rate


@pytest.fixture
def group(service, customer, domain, accounts, contacts):
    return make_group(
        service,
        customer,
        applied=True,
        member_accounts=[a.pk for a in accounts[:3]],
        member_contacts=[contacts[0].pk],
        manager_accounts=[accounts[0].pk],
    )


def test_creation_is_applied_and_the_group_becomes_operational(group, accounts, contacts):
    assert group.state == Group.State.OK
    assert set(group.tasks.values_list("status", flat=True)) == {"done"}
    assert {m.account or m.contact for m in group.members.all()} == {
        *accounts[:3],
        contacts[0],
    }
    assert [m.account for m in group.managers.all()] == [accounts[0]]
    task = group.tasks.get(function="addDistributionGroupMember")
    assert task.started_at <= task.finished_at and task.attempts == 1
    assert set(task.items.values_list("status", flat=True)) == {"done"}


def test_a_claim_is_won_once(service, customer, domain):
    group = services.create_group(service, user=customer, local_part="x", domain=domain)
    task = group.tasks.get()
    assert engine.claim(task.pk) is not None
    assert engine.claim(task.pk) is None
    assert Task.objects.get(pk=task.pk).status == "doing"


def test_tasks_of_one_group_wait_for_the_earlier_ones(service, customer, domain, accounts):
    group = services.create_group(
        service, user=customer, local_part="x", domain=domain, member_accounts=[accounts[0].pk]
    )
    creation, members = group.tasks.order_by("pk")
    engine.execute(members.pk)  # its message came first: it must wait
    assert Task.objects.get(pk=members.pk).status == "todo"
    assert not group.members.exists()
    engine.execute(creation.pk)
    engine.execute(members.pk)
    assert Task.objects.get(pk=members.pk).status == "done"
    assert group.members.count() == 1


def queued_messages() -> list[int]:
    """The task ids of the wake-up messages waiting on the real broker's queue."""
    with celery_app.connection_for_read() as connection:
        client = connection.default_channel.client
        raw = client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)
    return sorted(int(json.loads(m)["headers"]["argsrepr"].strip("(,)")) for m in raw)


def empty_queue():
    with celery_app.connection_for_write() as connection:
        connection.default_channel.client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_a_group_s_queued_changes_are_applied_by_one_call_in_order(group, customer, accounts):
    """The worker that finishes a task goes on with its group's next ones: a customer's
    burst of changes costs one message, and is applied in the order it was asked."""
    add = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    remove = services.remove_members(group, user=customer, accounts=[accounts[3].pk])
    again = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    engine.execute(add.pk)
    tasks = Task.objects.filter(pk__in=[add.pk, remove.pk, again.pk])
    assert set(tasks.values_list("status", flat=True)) == {"done"}
    members = set(group.members.values_list("account_id", flat=True))
    assert accounts[4].pk in members and accounts[3].pk not in members


def test_a_wake_up_for_a_group_s_queue_is_one_message(group, customer, accounts, service):
    """Sending several tasks of one group wakes only the first (the others could not be
    claimed before it); a task of another group gets its own."""
    other = make_group(service, customer, applied=True, local_part="other")
    first = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    second = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    elsewhere = services.add_members(other, user=customer, accounts=[accounts[4].pk])
    empty_queue()
    engine.enqueue([second.pk, first.pk, elsewhere.pk])
    assert queued_messages() == [first.pk, elsewhere.pk]


def test_a_long_queue_is_handed_on_after_a_while(group, customer, accounts, settings):
    """One call does not keep a worker on one group for long: past TASK_DRAIN_SECONDS it
    sends a message for the group's next task and stops."""
    settings.TASK_DRAIN_SECONDS = 0
    first = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    second = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    empty_queue()
    engine.execute(first.pk)
    assert Task.objects.get(pk=first.pk).status == "done"
    assert Task.objects.get(pk=second.pk).status == "todo"
    assert queued_messages() == [second.pk]


def test_a_failure_is_retried_then_ends_in_error_naming_the_items(
    group, customer, accounts, failing, settings
):
    settings.TASK_MAX_ATTEMPTS = 2
    failing(1.0)
    task = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    engine.execute(task.pk)
    task.refresh_from_db()
    # First failure: scheduled again after a backoff, the reason kept.
    assert task.status == "todo" and task.attempts == 1
    assert task.run_after > timezone.now()
    assert "user3@example.fr" in task.error
    Task.objects.filter(pk=task.pk).update(run_after=timezone.now())
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "error" and task.attempts == 2 and task.finished_at
    assert task.error.startswith("1 élément n’a pas pu être appliqué")
    assert "user3@example.fr" in task.error
    assert not group.members.filter(account=accounts[3]).exists()
    # Once the platform is back, a retry applies it.
    failing(0.0)
    services.retry_task(task, user=customer)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "done" and task.error == ""
    assert task.error_detail == []  # no reason left over from the failed attempts
    assert group.members.filter(account=accounts[3]).exists()


def test_a_retry_applies_only_the_items_that_failed(group, customer, service, failing, settings):
    from .conftest import make_account

    settings.TASK_MAX_ATTEMPTS = 1
    many = [make_account(service, f"bulk{i}") for i in range(40)]
    random.seed(7)
    failing(0.5)
    task = services.add_members(group, user=customer, accounts=[a.pk for a in many])
    engine.execute(task.pk)
    task.refresh_from_db()
    failed = set(task.items.filter(status="error").values_list("pk", flat=True))
    done = dict(task.items.filter(status="done").values_list("pk", "finished_at"))
    assert task.status == "error" and failed and done
    assert f"{len(failed)} éléments n’ont pas pu être appliqués" in task.error
    failing(0.0)
    services.retry_task(task, user=customer)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "done"
    assert group.members.count() == 4 + 40
    # Items done the first time were not applied again: their time is unchanged.
    assert dict(task.items.filter(pk__in=done).values_list("pk", "finished_at")) == done
    assert task.items.filter(pk__in=failed, finished_at__gt=max(done.values())).count() == len(
        failed
    )


def test_a_group_level_failure_ends_in_error_and_keeps_the_group(
    service, customer, domain, failing, settings
):
    settings.TASK_MAX_ATTEMPTS = 1
    failing(1.0)
    group = services.create_group(service, user=customer, local_part="x", domain=domain)
    run_all(group)
    task = group.tasks.get()
    assert task.status == "error"
    assert task.error == "La plateforme Exchange n’a pas pu appliquer cette modification."
    group.refresh_from_db()
    assert group.state == Group.State.CREATING


def test_changes_wait_while_the_creation_has_failed(
    service, customer, domain, accounts, failing, settings
):
    settings.TASK_MAX_ATTEMPTS = 1
    failing(1.0)
    group = services.create_group(
        service, user=customer, local_part="x", domain=domain, member_accounts=[accounts[0].pk]
    )
    creation, members = group.tasks.order_by("pk")
    engine.execute(creation.pk)
    engine.execute(members.pk)
    assert Task.objects.get(pk=creation.pk).status == "error"
    # Not applied to a group the platform does not have: it waits for the creation.
    assert Task.objects.get(pk=members.pk).status == "todo"
    assert not group.members.exists()
    failing(0.0)
    services.retry_task(creation, user=customer)
    run_all(group)
    assert Task.objects.get(pk=members.pk).status == "done"
    assert group.members.count() == 1


def test_settings_change_with_new_address_is_applied(group, customer):
    old = group.address_id
    services.update_group(group, user=customer, local_part="equipe", display_name="Équipe")
    run_all(group)
    group.refresh_from_db()
    assert group.email == "equipe@example.fr" and group.display_name == "Équipe"
    assert not Address.objects.filter(pk=old).exists()
    assert group.address.kind == "group"


def test_delete_is_applied_and_frees_the_addresses(group, customer, domain):
    services.add_alias(group, user=customer, local_part="alias1", domain=domain)
    run_all(group)
    services.delete_group(group, user=customer)
    run_all(group)
    assert not Group.objects.filter(pk=group.pk).exists()
    assert not Address.objects.filter(local_part__in=["team", "alias1"]).exists()
    deletion = Task.objects.get(function="deleteDistributionGroup")
    assert deletion.status == "done" and deletion.group is None
    assert deletion.object_label == "team@example.fr"


def test_failed_delete_makes_the_group_operational_again(group, customer, failing, settings):
    settings.TASK_MAX_ATTEMPTS = 1
    failing(1.0)
    services.delete_group(group, user=customer)
    run_all(group)
    group.refresh_from_db()
    assert group.state == Group.State.OK


def test_aliases_and_delegations_are_applied(group, customer, domain, accounts):
    alias = services.add_alias(group, user=customer, local_part="alias1", domain=domain)
    services.add_delegations(group, user=customer, kind="send_as", accounts=[accounts[1].pk])
    run_all(group)
    alias.refresh_from_db()
    assert alias.state == Alias.State.OK
    assert group.delegations.get().kind == "send_as"
    services.remove_alias(alias, user=customer)
    services.remove_delegations(group, user=customer, kind="send_as", accounts=[accounts[1].pk])
    run_all(group)
    assert not Alias.objects.exists() and not group.delegations.exists()
    assert not Address.objects.filter(local_part="alias1").exists()


def test_applying_twice_gives_the_same_result(group, customer, accounts):
    task = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    engine.execute(task.pk)
    # As if a worker died after applying but before recording: the task runs again.
    Task.objects.filter(pk=task.pk).update(status="todo")
    TaskItem.objects.filter(task=task).update(status="todo")
    engine.execute(task.pk)
    assert group.members.filter(account=accounts[4]).count() == 1
    assert Task.objects.get(pk=task.pk).status == "done"


def test_backend_refuses_a_delegation_conflicting_with_a_live_one(
    group, customer, accounts, settings
):
    settings.TASK_MAX_ATTEMPTS = 1
    task = services.add_delegations(group, user=customer, kind="send_as", accounts=[accounts[2].pk])
    # Meanwhile the other right appeared on the platform (by support, say).
    Delegation.objects.create(group=group, account=accounts[2], kind="send_on_behalf")
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "error" and "exclude each other" not in task.error
    assert "s’excluent" in task.error


def test_a_worker_that_lost_its_claim_does_not_record(group, customer, accounts):
    task = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    token = engine.claim(task.pk)
    # Its lease expired and another worker took the task over.
    Task.objects.filter(pk=task.pk).update(claim=None)
    engine._record(Task.objects.get(pk=task.pk), token, {}, "")
    assert Task.objects.get(pk=task.pk).status == "doing"


def test_a_worker_whose_task_was_sent_again_records_no_failure(group, customer, accounts):
    """Support sent a stuck task again (its claim withdrawn): the first worker's late
    failure is discarded, the task stays scheduled for the next worker, and then only
    that worker's outcome counts."""
    task = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    token = engine.claim(task.pk)
    services.requeue_task(task, user=customer)
    stale = Task.objects.get(pk=task.pk)
    engine._record(stale, token, {}, [reasons.part("The platform is unreachable.")])
    task.refresh_from_db()
    assert (task.status, task.error) == ("todo", "")
    assert not Task.objects.renew(task.pk, token, until=timezone.now())
    assert not Task.objects.release(task.pk, token)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "done"
    assert group.members.filter(account=accounts[4]).exists()


def test_sweep_frees_expired_leases_and_resends_stale_tasks(group, customer, accounts, settings):
    settings.TASK_STALE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    stuck = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    engine.claim(stuck.pk)
    Task.objects.filter(pk=stuck.pk).update(lease_expires_at=long_ago)
    lost = services.add_managers(group, user=customer, accounts=[accounts[1].pk])
    Task.objects.filter(pk=lost.pk).update(run_after=long_ago, enqueued_at=long_ago)
    fresh = services.add_managers(group, user=customer, accounts=[accounts[2].pk])

    assert engine.sweep() == {"freed": 1, "resent": 1, "failed": 0}
    stuck.refresh_from_db()
    lost.refresh_from_db()
    assert stuck.status == "todo" and stuck.claim is None
    assert lost.enqueued_at > long_ago
    assert Task.objects.get(pk=fresh.pk).enqueued_at == fresh.enqueued_at


def test_a_dead_worker_does_not_use_up_the_task_s_attempts(group, customer, accounts, settings):
    """Attempts count the backend's refusals: a task whose worker died on every try is
    taken back each time, never put in error for it (up to TASK_MAX_CRASHES)."""
    settings.TASK_MAX_ATTEMPTS = 2
    settings.TASK_MAX_CRASHES = 10
    long_ago = timezone.now() - timedelta(minutes=5)
    task = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    for _crash in range(4):
        assert engine.claim(task.pk)
        Task.objects.filter(pk=task.pk).update(lease_expires_at=long_ago)
        assert engine.sweep()["freed"] == 1
    task.refresh_from_db()
    assert (task.status, task.attempts, task.error) == ("todo", 0, "")
    engine.execute(task.pk)
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("done", 1)


def test_a_task_that_kills_its_worker_every_time_fails_and_lets_the_next_run(
    group, customer, accounts, settings
):
    """After TASK_MAX_CRASHES dead workers the task fails for good, saying why, and the
    group's next task runs instead of waiting behind it without end."""
    settings.TASK_MAX_CRASHES = 3
    long_ago = timezone.now() - timedelta(minutes=5)
    poison = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    after = services.add_managers(group, user=customer, accounts=[accounts[1].pk])
    results = []
    for _crash in range(3):
        assert engine.claim(poison.pk)
        Task.objects.filter(pk=poison.pk).update(lease_expires_at=long_ago)
        results.append(engine.sweep())
    assert [(r["freed"], r["failed"]) for r in results] == [(1, 0), (1, 0), (0, 1)]
    poison.refresh_from_db()
    assert (poison.status, poison.crashes) == ("error", 3)
    assert poison.error_message == (
        "Le traitement de cette tâche s’est arrêté 3 fois ; le support a été prévenu."
    )
    engine.execute(after.pk)
    assert Task.objects.get(pk=after.pk).status == "done"
    # A retry by the customer starts afresh.
    services.retry_task(poison, user=customer)
    poison.refresh_from_db()
    assert (poison.status, poison.crashes) == ("todo", 0)


@pytest.mark.parametrize(
    "failure",
    [BackendError("La plateforme est injoignable."), RuntimeError("unexpected")],
    ids=["backend-error", "any-exception"],
)
def test_a_task_failing_as_a_whole_loses_no_item(group, customer, service, failure, monkeypatch):
    """The backend raised for the whole task (platform unreachable, a dropped database
    connection...): no item was applied, so none may be marked done, and the retry applies
    every one of them."""
    from .conftest import make_account

    many = [make_account(service, f"whole{i}") for i in range(5)]
    task = services.add_members(group, user=customer, accounts=[a.pk for a in many])
    backend = engine.get_backend()
    real = backend.addDistributionGroupMember
    calls = []

    def fail_once(task, items):
        calls.append(len(items))
        if len(calls) == 1:
            raise failure
        return real(task, items)

    monkeypatch.setattr(backend, "addDistributionGroupMember", fail_once)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "todo" and task.attempts == 1
    assert set(task.items.values_list("status", flat=True)) == {"todo"}
    Task.objects.filter(pk=task.pk).update(run_after=timezone.now())
    engine.execute(task.pk)
    task.refresh_from_db()
    assert calls == [5, 5]
    assert task.status == "done"
    assert group.members.filter(account__in=many).count() == 5


def test_a_lost_database_connection_gives_the_task_back_uncounted(
    group, customer, accounts, monkeypatch
):
    """The database went away while the backend worked: the task goes back to the queue
    without using an attempt, and the error reaches the worker so that it does not
    acknowledge the message."""
    task = services.add_members(group, user=customer, accounts=[accounts[4].pk])
    backend = engine.get_backend()

    def cut(task, items):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(backend, "addDistributionGroupMember", cut)
    with pytest.raises(OperationalError):
        engine.execute(task.pk)
    task.refresh_from_db()
    assert (task.status, task.attempts, task.claim) == ("todo", 0, None)
