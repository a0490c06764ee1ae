"""A group's member count is kept by the database (GroupMemberCount, migration 0016's
triggers): whatever adds or removes members, the groups list must show the right number."""

import importlib

import pytest
from django.db import connection
from django.urls import reverse

from exchange_groups import services
from exchange_groups.models import Group, GroupMember, GroupMemberCount

from .conftest import make_account, make_group, run_all

pytestmark = pytest.mark.django_db


def shown_count(client, service, group) -> int:
    """The group's Contacts column, as the groups list shows it."""
    html = client.get(reverse("panel:groups", args=[service.name])).content.decode()
    row = html[html.index(f'id="group-{group.pk}"') :]
    row = row[: row.index("</tr>")]
    users = reverse("panel:group-users", args=[service.name, group.pk])
    return int(row.split(f'href="{users}"')[2].split(">")[1].split("<")[0])


def test_the_count_follows_the_members_the_engine_adds_and_removes(
    client, service, customer, domain, accounts, contacts
):
    client.force_login(customer)
    group = make_group(service, customer)
    assert shown_count(client, service, group) == 0
    services.add_members(
        group, user=customer, accounts=[a.pk for a in accounts], contacts=[contacts[0].pk]
    )
    run_all()
    assert shown_count(client, service, group) == 6
    services.remove_members(group, user=customer, accounts=[a.pk for a in accounts[:2]])
    run_all()
    assert shown_count(client, service, group) == 4
    assert group.members.count() == 4


def test_a_deleted_account_leaves_every_group_it_was_in(client, service, customer, domain):
    client.force_login(customer)
    leaving, staying = make_account(service, "leaving"), make_account(service, "staying")
    first, second = make_group(service, customer, "first"), make_group(service, customer, "second")
    for group in (first, second):
        GroupMember.objects.create(group=group, account=leaving)
    GroupMember.objects.create(group=first, account=staying)
    assert (shown_count(client, service, first), shown_count(client, service, second)) == (2, 1)
    leaving.delete()  # its memberships go with it (a cascade)
    assert (shown_count(client, service, first), shown_count(client, service, second)) == (1, 0)


def test_a_group_deleted_with_its_members_leaves_no_count_behind(service, customer, accounts):
    group = make_group(service, customer)
    GroupMember.objects.bulk_create([GroupMember(group=group, account=a) for a in accounts])
    assert GroupMemberCount.objects.get(group=group).members == 5
    Group.objects.filter(pk=group.pk).delete()
    assert not GroupMemberCount.objects.exists()
    assert Group.objects.with_overview().count() == 0


def test_the_migration_counts_the_members_already_there(service, customer, accounts):
    group = make_group(service, customer)
    GroupMember.objects.bulk_create([GroupMember(group=group, account=a) for a in accounts[:3]])
    GroupMemberCount.objects.all().delete()  # as before the migration
    migration = importlib.import_module("exchange_groups.migrations.0016_group_member_count")
    with connection.cursor() as cursor:
        cursor.execute(migration.COUNT_EXISTING)
    assert Group.objects.with_overview().get(pk=group.pk).member_count == 3
