"""Rules the database itself holds, whatever code writes the rows."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from exchange_groups import services
from exchange_groups.models import Address, Delegation, Group, GroupManager, GroupMember

from .conftest import make_account, make_contact


def violates(**create):
    model = create.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**create)


@pytest.mark.django_db
def test_an_address_is_used_once_on_the_platform_whatever_its_case(domain):
    Address.objects.create(domain=domain, local_part="Sales", kind="group")
    violates(model=Address, domain=domain, local_part="sales", kind="alias")


@pytest.mark.django_db
@pytest.mark.parametrize("size", [0, 101])
def test_sizes_are_1_to_100_or_empty(group, size):
    for field in ("max_receive_size", "max_send_size"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Group.objects.filter(pk=group.pk).update(**{field: size})
    Group.objects.filter(pk=group.pk).update(max_receive_size=100, max_send_size=None)


@pytest.mark.django_db
def test_a_member_is_an_account_or_a_contact_once(group, service):
    account = make_account(service, "bob")
    contact = make_contact(service, "ext@partner.com")
    violates(model=GroupMember, group=group)
    violates(model=GroupMember, group=group, account=account, contact=contact)
    GroupMember.objects.create(group=group, account=account)
    violates(model=GroupMember, group=group, account=account)
    GroupMember.objects.create(group=group, contact=contact)
    violates(model=GroupMember, group=group, contact=contact)


@pytest.mark.django_db
def test_a_manager_is_an_account(group, service):
    violates(model=GroupManager, group=group)  # no account: refused
    account = make_account(service, "bob")
    GroupManager.objects.create(group=group, account=account)
    violates(model=GroupManager, group=group, account=account)


@pytest.mark.django_db
def test_send_as_and_send_on_behalf_are_exclusive(group, service):
    account = make_account(service, "bob")
    Delegation.objects.create(group=group, account=account, kind="send_as")
    violates(model=Delegation, group=group, account=account, kind="send_on_behalf")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creations_of_one_address_exactly_one_wins(service, customer, domain):
    """Two requests, each on its own database connection, race for one address."""
    barrier = threading.Barrier(2)
    outcomes = []

    def request():
        try:
            barrier.wait()
            group = services.create_group(service, user=customer, local_part="race", domain=domain)
            outcomes.append(("won", group.pk))
        except ValidationError as exc:
            outcomes.append(("lost", exc.error_dict["local_part"][0].code))
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0] for o in outcomes) == ["lost", "won"]
    assert ("lost", services.ADDRESS_TAKEN) in outcomes
    assert Group.objects.count() == 1
    assert Address.objects.filter(local_part="race").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_constraint_decides_when_both_passed_the_check(service, customer, domain, monkeypatch):
    """Even when both requests have checked the address before either wrote it, the
    unique constraint lets only one through, with the same message for the other."""
    barrier = threading.Barrier(2)
    real_check = services.check_address

    def check_then_wait(*args, **kwargs):
        result = real_check(*args, **kwargs)
        barrier.wait()  # both have seen the address free
        return result

    monkeypatch.setattr(services.groups, "check_address", check_then_wait)
    outcomes = []

    def request():
        try:
            services.create_group(service, user=customer, local_part="race", domain=domain)
            outcomes.append("won")
        except ValidationError as exc:
            outcomes.append(exc.error_dict["local_part"][0].code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [services.ADDRESS_TAKEN, "won"]
    assert Group.objects.count() == 1
