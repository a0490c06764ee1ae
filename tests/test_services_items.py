"""Members, managers, delegations, aliases and task operations through the services."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Max
from django.utils import translation

from exchange_groups import services
from exchange_groups.models import (
    Account,
    Address,
    Alias,
    Delegation,
    ExternalContact,
    Group,
    GroupMember,
    Task,
    TaskItem,
)
from exchange_groups.models import group as group_rules

from .conftest import make_account, run_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """These tests read the rules' messages in their source language."""
    with translation.override("en"):
        yield


def written():
    return (Task.objects.count(), TaskItem.objects.count(), Address.objects.count(),
            Alias.objects.count())  # fmt: skip


def test_add_members_is_one_task_with_all_items(group, customer, accounts, contacts):
    task = services.add_members(
        group, user=customer, accounts=[a.pk for a in accounts], contacts=[contacts[0].pk]
    )
    assert task.function == "addDistributionGroupMember"
    assert task.items.count() == 6
    assert Task.objects.filter(function="addDistributionGroupMember").count() == 1


def test_add_members_rules(group, customer, accounts, other_service):
    GroupMember.objects.create(group=group, account=accounts[0])
    services.add_members(group, user=customer, accounts=[accounts[1].pk])  # pending
    stranger = make_account(other_service, "stranger")
    before = written()
    for kwargs, text in (
        ({"accounts": [accounts[0].pk]}, "Already a member: user0@example.fr"),
        ({"accounts": [accounts[1].pk]}, "Already a member"),
        ({"accounts": [stranger.pk]}, "accounts of this service"),
        ({"accounts": ["nope"]}, "accounts of this service"),
        ({}, "at least one"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.add_members(group, user=customer, **kwargs)
        assert text in " ".join(exc.value.message_dict["members"])
    assert written() == before


def test_member_limit_counts_live_and_pending(group, customer, accounts, monkeypatch):
    monkeypatch.setattr(group_rules, "MAX_MEMBERS", 3)
    GroupMember.objects.create(group=group, account=accounts[0])
    services.add_members(group, user=customer, accounts=[accounts[1].pk])
    before = written()
    with pytest.raises(ValidationError) as exc:
        services.add_members(group, user=customer, accounts=[accounts[2].pk, accounts[3].pk])
    assert "at most 3 members; it would have 4" in exc.value.message_dict["members"][0]
    assert written() == before


def test_remove_members(group, customer, accounts, contacts):
    GroupMember.objects.create(group=group, contact=contacts[0])
    task = services.remove_members(group, user=customer, contacts=[contacts[0].pk])
    assert task.function == "deleteDistributionGroupMember"
    before = written()
    with pytest.raises(ValidationError) as exc:
        services.remove_members(group, user=customer, accounts=[accounts[0].pk])
    assert "Not a member: user0@example.fr" in exc.value.message_dict["members"][0]
    # Already pending removal: removing again is refused too.
    with pytest.raises(ValidationError):
        services.remove_members(group, user=customer, contacts=[contacts[0].pk])
    assert written() == before


def test_managers_are_accounts_only(group, customer, accounts, contacts):
    task = services.add_managers(group, user=customer, accounts=[accounts[0].pk])
    assert task.function == "addDistributionGroupManager"
    before = written()
    # An id that is no account's is refused. (Not "a contact's id + 1000": the two
    # sequences run apart, and after bigger tests that id can be an account's.)
    not_an_account = max(contacts[2].pk, Account.objects.aggregate(last=Max("pk"))["last"]) + 1
    with pytest.raises(ValidationError) as exc:
        services.add_managers(group, user=customer, accounts=[not_an_account])
    assert "managers" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.add_managers(group, user=customer, accounts=[accounts[0].pk])
    assert "Already an administrator" in exc.value.message_dict["managers"][0]
    with pytest.raises(ValidationError) as exc:
        services.remove_managers(group, user=customer, accounts=[accounts[1].pk])
    assert "Not an administrator" in exc.value.message_dict["managers"][0]
    assert written() == before
    assert services.remove_managers(group, user=customer, accounts=[accounts[0].pk]).function == (
        "deleteDistributionGroupManager"
    )


@pytest.mark.parametrize(
    ("kind", "add", "delete"),
    [
        ("send_as", "addDistributionGroupSendAs", "deleteDistributionGroupSendAs"),
        (
            "send_on_behalf",
            "addDistributionGroupSendOnBehalfTo",
            "deleteDistributionGroupSendOnBehalfTo",
        ),
    ],
)
def test_delegations(group, customer, accounts, kind, add, delete):
    assert (
        services.add_delegations(
            group, user=customer, kind=kind, accounts=[accounts[0].pk]
        ).function
        == add
    )
    Delegation.objects.create(group=group, account=accounts[1], kind=kind)
    assert (
        services.remove_delegations(
            group, user=customer, kind=kind, accounts=[accounts[1].pk]
        ).function
        == delete
    )


def test_send_as_and_send_on_behalf_exclude_each_other(group, customer, accounts):
    Delegation.objects.create(group=group, account=accounts[0], kind="send_as")
    services.add_delegations(
        group, user=customer, kind="send_on_behalf", accounts=[accounts[1].pk]
    )  # pending
    before = written()
    for account in accounts[:2]:
        other = "send_on_behalf" if account == accounts[0] else "send_as"
        with pytest.raises(ValidationError) as exc:
            services.add_delegations(group, user=customer, kind=other, accounts=[account.pk])
        assert exc.value.error_dict["accounts"][0].code == "delegation_exclusive"
    with pytest.raises(ValidationError) as exc:
        services.remove_delegations(
            group, user=customer, kind="send_on_behalf", accounts=[accounts[0].pk]
        )
    assert "Not granted to: user0@example.fr" in exc.value.message_dict["accounts"][0]
    assert written() == before


def test_add_and_remove_alias(group, customer, domain):
    alias = services.add_alias(group, user=customer, local_part="equipe", domain=domain)
    assert alias.state == Alias.State.CREATING and alias.address.email == "equipe@example.fr"
    task = group.tasks.get(function="addDistributionGroupAlias")
    assert task.items.get().alias == alias
    with pytest.raises(ValidationError) as exc:
        services.remove_alias(alias, user=customer)
    assert "not active yet" in exc.value.message_dict[NON_FIELD_ERRORS][0]
    Alias.objects.filter(pk=alias.pk).update(state=Alias.State.OK)
    alias.refresh_from_db()
    assert services.remove_alias(alias, user=customer).function == "deleteDistributionGroupAlias"
    alias.refresh_from_db()
    assert alias.state == Alias.State.DELETING


def test_alias_rules(group, customer, domain, accounts, monkeypatch):
    before = written()
    for local_part, text in (
        ("user0", "already used"),
        ("team", "already used"),
        ("x" * 65, "At most 64"),
        ("a..b", "single"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.add_alias(group, user=customer, local_part=local_part, domain=domain)
        assert text in exc.value.message_dict["local_part"][0]
    monkeypatch.setattr(group_rules, "MAX_ALIASES", 1)
    services.add_alias(group, user=customer, local_part="one", domain=domain)
    before = written()
    with pytest.raises(ValidationError) as exc:
        services.add_alias(group, user=customer, local_part="two", domain=domain)
    assert "at most 1 aliases" in exc.value.message_dict["local_part"][0]
    assert written() == before


def test_retry_only_from_error(group, customer, accounts):
    task = services.add_members(group, user=customer, accounts=[a.pk for a in accounts[:2]])
    with pytest.raises(ValidationError) as exc:
        services.retry_task(task, user=customer)
    assert "Only a task in error" in exc.value.message_dict[NON_FIELD_ERRORS][0]
    Task.objects.filter(pk=task.pk).update(status="error", error="boom", attempts=3)
    first, second = task.items.all()
    TaskItem.objects.filter(pk=first.pk).update(status="done")
    TaskItem.objects.filter(pk=second.pk).update(status="error", error="refused")
    services.retry_task(task, user=customer)
    task.refresh_from_db()
    assert (task.status, task.error, task.attempts) == ("todo", "", 0)
    assert list(task.items.values_list("status", flat=True)) == ["done", "todo"]


def test_cancel_only_from_todo_and_gives_back_reservations(group, customer, domain):
    task = services.update_group(group, user=customer, local_part="renamed")
    assert Address.objects.filter(local_part="renamed").exists()
    services.cancel_task(task, user=customer)
    task.refresh_from_db()
    assert task.status == "cancelled" and task.finished_at
    assert not Address.objects.filter(local_part="renamed").exists()
    with pytest.raises(ValidationError) as exc:
        services.cancel_task(task, user=customer)
    assert "Only a scheduled task" in exc.value.message_dict[NON_FIELD_ERRORS][0]


def test_cancel_group_creation_removes_the_group_and_queued_tasks(
    service, customer, domain, accounts
):
    group = services.create_group(
        service, user=customer, local_part="new", domain=domain, member_accounts=[accounts[0].pk]
    )
    creation = group.tasks.get(function="addDistributionGroup")
    services.cancel_task(creation, user=customer)
    assert not Group.objects.filter(pk=group.pk).exists()
    assert not Address.objects.filter(local_part="new").exists()
    assert set(Task.objects.values_list("status", flat=True)) == {"cancelled"}


def test_cancel_delete_and_alias_tasks_restore_state(group, customer, domain):
    deletion = services.delete_group(group, user=customer)
    services.cancel_task(deletion, user=customer)
    group.refresh_from_db()
    assert group.state == Group.State.OK
    alias = services.add_alias(group, user=customer, local_part="tmp", domain=domain)
    services.cancel_task(group.tasks.get(function="addDistributionGroupAlias"), user=customer)
    assert not Alias.objects.filter(pk=alias.pk).exists()
    assert not Address.objects.filter(local_part="tmp").exists()


def test_pending_changes_count_in_the_order_they_were_asked(group, customer, accounts):
    """Removing someone and adding them back, before a worker ran either task: the panel
    shows them in (and the other way round, out), as the worker will leave it."""
    someone = accounts[0]
    GroupMember.objects.create(group=group, account=someone)
    services.remove_members(group, user=customer, accounts=[someone.pk])
    services.add_members(group, user=customer, accounts=[someone.pk])
    assert ("account", someone.pk) in services.expected_members(group)

    other = accounts[1]
    services.add_managers(group, user=customer, accounts=[other.pk])
    services.remove_managers(group, user=customer, accounts=[other.pk])
    assert other.pk not in services.expected_managers(group)

    services.add_delegations(group, user=customer, kind="send_as", accounts=[other.pk])
    services.remove_delegations(group, user=customer, kind="send_as", accounts=[other.pk])
    services.add_delegations(group, user=customer, kind="send_on_behalf", accounts=[other.pk])
    assert services.expected_delegations(group) == {other.pk: "send_on_behalf"}


def test_deleting_a_contact_takes_it_out_of_its_groups_on_the_platform(
    group, customer, contacts, service
):
    """The panel forgets the contact at once; each group it was in gets a task that
    removes it on the platform, named by its address. Refused while a change to it is
    still to be applied."""
    friend = contacts[0]
    services.add_members(group, user=customer, contacts=[friend.pk])
    with pytest.raises(ValidationError, match="still being applied"):
        services.delete_contact(friend, user=customer)
    Task.objects.filter(group=group).update(status="done")
    GroupMember.objects.create(group=group, contact=friend)

    tasks = services.delete_contact(friend, user=customer)
    assert [(t.function, t.group) for t in tasks] == [("deleteDistributionGroupMember", group)]
    assert list(tasks[0].items.values_list("label", "contact")) == [(friend.email, None)]
    assert not ExternalContact.objects.filter(pk=friend.pk).exists()
    assert not group.members.filter(contact=friend.pk).exists()
    run_all()  # the built-in platform applies it too (the directory: test_directory_backend)
    assert Task.objects.get(pk=tasks[0].pk).status == "done"
    assert services.delete_contact(contacts[1], user=customer) == []  # in no group
