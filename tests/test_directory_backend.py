"""The directory backend against a real slapd: each task function applied, then the entry
read back with a plain LDAP search and compared with what the panel shows."""

import pytest
from django.utils import timezone

from exchange_groups import directory_tree, engine, platform_sync, services
from exchange_groups.models import Group, Task

from .conftest import make_group, run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(directory, service, domain, accounts):
    """The service's accounts exist as mailboxes in the directory."""
    platform_sync.publish_accounts(service, accounts)
    return directory


@pytest.fixture
def group(platform, service, customer, domain, accounts, contacts):
    return make_group(
        service,
        customer,
        "equipe",
        applied=True,
        display_name="Équipe",
        member_accounts=[accounts[0].pk, accounts[1].pk],
        member_contacts=[contacts[0].pk],
        manager_accounts=[accounts[2].pk],
    )


def apply_again(task):
    """Apply a done task once more, as a worker would after a crash."""
    task = Task.objects.get(pk=task.pk)
    method = getattr(engine.get_backend(), task.function)
    if task.function in engine.GROUP_FUNCTIONS:
        method(task)
    else:
        assert method(task, list(task.items.all())) == {}


def step(directory, group, task):
    """Run the task, check the entry, apply it again: the same entry."""
    run_all()
    task.refresh_from_db()
    assert task.status == "done", task.error
    directory.assert_matches(group)
    before = directory.group_entry(group)
    apply_again(task)
    assert directory.group_entry(group) == before


def test_every_function_lands_in_the_directory_exactly(
    group, platform, customer, accounts, contacts, domain
):
    platform.assert_matches(group)
    creation = Task.objects.get(function="addDistributionGroup")
    apply_again(creation)
    platform.assert_matches(group)
    # The member DNs point at real entries: the account's, and the contact's, created for it.
    entry = platform.group_entry(group)
    for dn in entry["member"] | entry["owner"]:
        assert platform.entry(dn) is not None, dn
    contact = platform.entry(directory_tree.contact_dn(group.service.name, contacts[0].email))
    assert contact["objectClass"] == {"inetOrgPerson", "exgMailRecipient"}

    task = services.update_group(
        group, user=customer, max_receive_size=5, max_send_size=2, hidden_from_gal=True,
        sender_authentication=True, display_name="Direction",
    )  # fmt: skip
    step(platform, group, task)
    assert platform.group_entry(group)["exgMaxReceiveSize"] == {"5242880"}

    step(
        platform,
        group,
        services.add_members(
            group, user=customer, accounts=[accounts[3].pk], contacts=[contacts[1].pk]
        ),
    )
    step(platform, group, services.add_managers(group, user=customer, accounts=[accounts[4].pk]))
    step(
        platform,
        group,
        services.add_delegations(group, user=customer, kind="send_as", accounts=[accounts[0].pk]),
    )
    step(
        platform,
        group,
        services.add_delegations(
            group, user=customer, kind="send_on_behalf", accounts=[accounts[1].pk]
        ),
    )
    alias = services.add_alias(group, user=customer, local_part="team", domain=domain)
    step(platform, group, Task.objects.filter(function="addDistributionGroupAlias").get())
    with directory_tree.connection() as conn:
        found = directory_tree.find_group(conn, "team@example.fr")
    assert found[0] == directory_tree.group_dn(group.service.name, group.email)

    step(
        platform,
        group,
        services.remove_members(
            group, user=customer, accounts=[accounts[0].pk], contacts=[contacts[0].pk]
        ),
    )
    step(platform, group, services.remove_managers(group, user=customer, accounts=[accounts[2].pk]))
    step(
        platform,
        group,
        services.remove_delegations(
            group, user=customer, kind="send_as", accounts=[accounts[0].pk]
        ),
    )
    alias.refresh_from_db()
    step(platform, group, services.remove_alias(alias, user=customer))

    # A new address moves the entry and keeps everything on it.
    members_before = platform.group_entry(group)["member"]
    old_dn = directory_tree.group_dn(group.service.name, group.email)
    task = services.update_group(group, user=customer, local_part="direction")
    step(platform, group, task)
    assert group.email == "direction@example.fr"
    assert platform.entry(old_dn) is None
    assert platform.group_entry(group)["member"] == members_before

    task = services.delete_group(group, user=customer)
    dn = directory_tree.group_dn(group.service.name, group.email)
    run_all()
    task.refresh_from_db()
    assert task.status == "done" and platform.entry(dn) is None
    assert not Group.objects.filter(pk=group.pk).exists()
    apply_again(task)  # deleting twice: still done, still gone


def test_one_missing_mailbox_fails_alone_and_a_retry_applies_only_it(
    group, platform, customer, accounts, settings
):
    settings.TASK_MAX_ATTEMPTS = 1
    gone_dn = directory_tree.account_dn(group.service.name, accounts[3].address.email)
    kept = platform.entry(gone_dn)
    platform.delete(gone_dn)  # deleted by hand in the directory
    task = services.add_members(group, user=customer, accounts=[accounts[3].pk, accounts[4].pk])
    run_all()
    task.refresh_from_db()
    assert task.status == "error"
    assert "user3@example.fr" in task.error and "user4@example.fr" not in task.error
    failed = task.items.get(status="error")
    applied = task.items.get(status="done")
    assert failed.label == "user3@example.fr" and "n’existe pas" in failed.error
    assert set(group.members.values_list("account_id", flat=True)) >= {accounts[4].pk}
    assert not group.members.filter(account=accounts[3]).exists()
    platform.assert_matches(group)

    platform.add(gone_dn, {k: sorted(v) for k, v in kept.items()})
    services.retry_task(task, user=customer)
    run_all()
    task.refresh_from_db()
    assert task.status == "done"
    assert task.items.get(pk=applied.pk).finished_at == applied.finished_at  # not applied again
    assert group.members.filter(account=accounts[3]).exists()
    platform.assert_matches(group)


def test_directory_down_the_task_retries_and_is_applied_once_it_is_back(
    group, platform, customer, accounts, settings
):
    settings.TASK_MAX_ATTEMPTS = 2
    platform.stop_server()
    task = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "todo" and task.attempts == 1
    assert task.error == "La plateforme n’a pas pu être jointe."
    assert task.items.get().status == "todo"
    Task.objects.filter(pk=task.pk).update(run_after=timezone.now())
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "error" and not group.members.filter(account=accounts[3]).exists()

    platform.start_server()
    services.retry_task(task, user=customer)
    run_all()
    task.refresh_from_db()
    assert task.status == "done"
    platform.assert_matches(group)


def test_values_are_added_in_one_modify_whatever_their_number(platform, service, customer, domain):
    from .conftest import make_account

    many = [make_account(service, f"bulk{i:04d}") for i in range(600)]
    platform_sync.publish_accounts(service, many)
    group = services.create_group(
        service, user=customer, local_part="tous", domain=domain,
        member_accounts=[a.pk for a in many],
    )  # fmt: skip
    run_all()
    group.refresh_from_db()
    assert group.members.count() == 600
    platform.assert_matches(group)
    task = services.remove_members(group, user=customer, accounts=[a.pk for a in many[:599]])
    run_all()
    task.refresh_from_db()
    assert task.status == "done"
    assert len(platform.group_entry(group)["member"]) == 1
    platform.assert_matches(group)


def test_a_deleted_contact_leaves_its_groups_in_the_directory(platform, group, customer, contacts):
    """Deleting an external contact in the panel takes it out of the group's entry too:
    its mail stops, and the directory matches the panel again."""
    friend = contacts[0]
    dn = directory_tree.contact_dn(group.service.name, friend.email).lower()
    assert dn in platform.group_entry(group)["member"]
    tasks = services.delete_contact(friend, user=customer)
    run_all()
    assert [Task.objects.get(pk=t.pk).status for t in tasks] == ["done"]
    assert dn not in platform.group_entry(group)["member"]
    platform.assert_matches(group)
