"""Creating, changing and deleting groups through the service functions."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation

from exchange_groups import services
from exchange_groups.models import Address, Domain, Group, Task, TaskItem
from exchange_groups.models import group as group_rules

from .conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """These tests read the rules' messages in their source language."""
    with translation.override("en"):
        yield


def counts():
    return (Group.objects.count(), Address.objects.count(), Task.objects.count(),
            TaskItem.objects.count())  # fmt: skip


def create(service, customer, domain, **kwargs):
    return services.create_group(
        service, user=customer, local_part=kwargs.pop("local_part", "team"), domain=domain, **kwargs
    )


def test_create_group_writes_group_and_one_task_per_function(
    service, customer, domain, accounts, contacts
):
    group = create(
        service,
        customer,
        domain,
        display_name="Équipe",
        max_receive_size=20,
        member_accounts=[a.pk for a in accounts[:3]],
        member_contacts=[c.pk for c in contacts],
        manager_accounts=[accounts[0].pk],
    )
    assert group.email == "team@example.fr"
    assert group.state == Group.State.CREATING
    assert group.display_name == "Équipe"
    assert group.max_receive_size == 20 and group.max_send_size is None
    # The rows show what is live: no member until the worker has applied the task.
    assert group.members.count() == 0
    tasks = list(group.tasks.order_by("pk"))
    assert [t.function for t in tasks] == [
        "addDistributionGroup",
        "addDistributionGroupMember",
        "addDistributionGroupManager",
    ]
    assert all(t.status == "todo" and t.requested_by == customer for t in tasks)
    # Each item names its account or its contact, and says its address.
    items = tasks[1].items.values_list("account_id", "contact_id", "label", "status")
    assert sorted(items, key=str) == sorted(
        [(a.pk, None, a.address.email, "todo") for a in accounts[:3]]
        + [(None, c.pk, c.email, "todo") for c in contacts],
        key=str,
    )
    assert [i.account for i in tasks[2].items.all()] == [accounts[0]]


def test_create_group_with_defaults(service, customer, domain):
    group = create(service, customer, domain)
    assert group.max_receive_size is None and group.max_send_size is None
    assert group.join_restriction == "closed" and group.depart_restriction == "closed"
    assert not group.hidden_from_gal and not group.sender_authentication
    assert group.tasks.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"local_part": ""}, "local_part", "before the “@”"),
        ({"local_part": "a" * 65}, "local_part", "At most 64 characters"),
        ({"local_part": "bad..dots"}, "local_part", "single “.” or “+”"),
        ({"local_part": ".start"}, "local_part", "single “.” or “+”"),
        ({"local_part": "with space"}, "local_part", "single “.” or “+”"),
        ({"local_part": "user0"}, "local_part", "already used"),
        ({"local_part": "USER0"}, "local_part", "already used"),
        ({"display_name": "x" * 257}, "display_name", "At most 256"),
        ({"max_receive_size": 0}, "max_receive_size", "from 1 to 100"),
        ({"max_receive_size": 101}, "max_receive_size", "from 1 to 100"),
        ({"max_send_size": "abc"}, "max_send_size", "from 1 to 100"),
        ({"join_restriction": "open"}, "join_restriction", "Disabled by the provider"),
        ({"depart_restriction": "open"}, "depart_restriction", "Disabled by the provider"),
        ({"member_accounts": [999999]}, "members", "accounts of this service"),
        ({"member_contacts": [999999]}, "members", "external contacts of this service"),
        ({"manager_accounts": [999999]}, "managers", "accounts of this service"),
    ],
)
def test_create_group_rule_broken_names_field_and_writes_nothing(
    service, customer, domain, accounts, kwargs, field, text
):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        create(service, customer, domain, **kwargs)
    assert field in exc.value.message_dict
    assert any(text in m for m in exc.value.message_dict[field])
    assert counts() == before


def test_taken_address_has_a_code_for_the_api(service, customer, domain, accounts):
    with pytest.raises(ValidationError) as exc:
        create(service, customer, domain, local_part="user1")
    assert exc.value.error_dict["local_part"][0].code == services.ADDRESS_TAKEN


def test_address_of_a_group_alias_or_pending_change_is_taken(service, customer, domain):
    group = create(service, customer, domain, local_part="sales")
    Group.objects.filter(pk=group.pk).update(state="ok")
    group.refresh_from_db()
    services.add_alias(group, user=customer, local_part="ventes", domain=domain)
    services.update_group(group, user=customer, local_part="commercial")
    for taken in ("sales", "ventes", "commercial"):
        with pytest.raises(ValidationError) as exc:
            create(service, customer, domain, local_part=taken)
        assert exc.value.error_dict["local_part"][0].code == services.ADDRESS_TAKEN


def test_domain_rules(service, customer, domain, other_service):
    not_ready = Domain.objects.create(service=service, name="new.fr", state="creating")
    foreign = other_service.domains.get()
    before = counts()
    for bad, text in ((not_ready, "not ready"), (foreign, "this service's domains"), (None, "")):
        with pytest.raises(ValidationError) as exc:
            create(service, customer, bad)
        assert text in " ".join(exc.value.message_dict["domain"])
    assert counts() == before


def test_members_of_another_service_are_refused(service, customer, domain, other_service):
    stranger = make_account(other_service, "stranger")
    with pytest.raises(ValidationError) as exc:
        create(service, customer, domain, member_accounts=[stranger.pk])
    assert "members" in exc.value.message_dict
    assert not Group.objects.exists()


def test_member_limit(service, customer, domain, settings, monkeypatch, accounts):
    monkeypatch.setattr(group_rules, "MAX_MEMBERS", 4)
    with pytest.raises(ValidationError) as exc:
        create(service, customer, domain, member_accounts=[a.pk for a in accounts])
    assert "at most 4 members" in exc.value.message_dict["members"][0]
    assert not Group.objects.exists()


def test_update_group_records_changes_and_keeps_live_values(group, customer):
    task = services.update_group(group, user=customer, display_name="Équipe", max_send_size=10)
    assert task.function == "setDistributionGroup"
    assert task.params["changes"] == {"display_name": "Équipe", "max_send_size": 10}
    assert task.params["previous"] == {"display_name": "Team", "max_send_size": None}
    group.refresh_from_db()
    assert group.display_name == "Team"  # live until applied


def test_update_group_address_reserves_the_new_one(group, customer, domain):
    task = services.update_group(group, user=customer, local_part="equipe")
    assert task.reserved_address.email == "equipe@example.fr"
    assert task.params["changes"]["address"] == "equipe@example.fr"
    assert group.email == "team@example.fr"


def test_update_group_rules(group, customer, accounts):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.update_group(group, user=customer, max_receive_size=101, local_part="user0")
    assert set(exc.value.message_dict) == {"max_receive_size", "local_part"}
    with pytest.raises(ValidationError) as exc:
        services.update_group(group, user=customer, display_name="Team", local_part="TEAM")
    assert "Nothing to change" in exc.value.message_dict[NON_FIELD_ERRORS][0]
    assert counts() == before


def test_changes_need_an_operational_group(group, customer, accounts):
    Group.objects.filter(pk=group.pk).update(state=Group.State.CREATING)
    group.refresh_from_db()
    before = counts()
    calls = [
        lambda: services.update_group(group, user=customer, display_name="x"),
        lambda: services.delete_group(group, user=customer),
        lambda: services.add_members(group, user=customer, accounts=[accounts[0].pk]),
        lambda: services.add_managers(group, user=customer, accounts=[accounts[0].pk]),
        lambda: services.add_delegations(
            group, user=customer, kind="send_as", accounts=[accounts[0].pk]
        ),
        lambda: services.add_alias(
            group, user=customer, local_part="x", domain=group.address.domain
        ),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as exc:
            call()
        assert "not operational" in exc.value.message_dict[NON_FIELD_ERRORS][0]
    assert counts() == before


def test_delete_group(group, customer):
    task = services.delete_group(group, user=customer)
    assert task.function == "deleteDistributionGroup"
    group.refresh_from_db()
    assert group.state == Group.State.DELETING
    with pytest.raises(ValidationError):
        services.delete_group(group, user=customer)
    assert group.tasks.filter(function="deleteDistributionGroup").count() == 1
