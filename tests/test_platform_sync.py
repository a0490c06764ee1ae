"""The account sync and the drift check against a real slapd: changes made by hand in the
directory are found, flagged, and support's repair (or adoption) settles them."""

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from exchange_groups import directory_tree, platform_sync, services
from exchange_groups.models import Account, Drift, Group
from exchange_groups.roles import ensure_support_role

from .conftest import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(directory, service, domain, accounts):
    platform_sync.publish_accounts(service, accounts)
    return directory


def make_group(service, customer, domain, local_part, accounts, contacts=()):
    group = services.create_group(
        service,
        user=customer,
        local_part=local_part,
        domain=domain,
        member_accounts=[a.pk for a in accounts],
        member_contacts=[c.pk for c in contacts],
    )
    run_all()
    group.refresh_from_db()
    return group


@pytest.fixture
def support(db):
    from django.test import Client

    client = Client()
    user = get_user_model().objects.create_user("agent", password="agent-password-1", is_staff=True)
    user.groups.add(ensure_support_role())
    client.force_login(user)
    return client


def test_sync_picks_up_a_mailbox_added_and_one_deleted_by_hand(
    platform, service, customer, domain, accounts, capsys
):
    group = make_group(service, customer, domain, "equipe", accounts[3:5])
    pending = services.create_group(
        service,
        user=customer,
        local_part="nouveau",
        domain=domain,
        member_accounts=[accounts[4].pk],
    )  # its tasks are not run: it stays being created
    platform.add(
        directory_tree.account_dn(service.name, "zoe.martin@example.fr"),
        {
            "objectClass": ["inetOrgPerson", "exgMailRecipient"],
            "mail": ["zoe.martin@example.fr"],
            "cn": ["Zoé Martin"],
            "sn": ["Martin"],
            "givenName": ["Zoé"],
            "displayName": ["Zoé Martin"],
        },
    )
    platform.delete(directory_tree.account_dn(service.name, accounts[4].address.email))

    call_command("sync_accounts")
    assert "1 added, 1 marked gone" in capsys.readouterr().out

    new = Account.objects.get(address__local_part="zoe.martin")
    assert (new.display_name, new.first_name, new.last_name) == ("Zoé Martin", "Zoé", "Martin")
    gone = Account.objects.get(pk=accounts[4].pk)
    assert gone.state == Account.State.GONE
    # Its membership is flagged on the live group, not dropped; the pending group is untouched.
    assert group.members.filter(account=gone).exists()
    assert list(group.drifts.values_list("kind", "name")) == [
        ("account_gone", accounts[4].address.email)
    ]
    pending.refresh_from_db()
    assert pending.state == Group.State.CREATING and not pending.drifts.exists()
    # The pickers offer what exists: the new mailbox, not the deleted one.
    from exchange_groups.queries import directory as picker

    offered = {row[2] for row in picker(service)}
    assert "zoe.martin@example.fr" in offered and accounts[4].address.email not in offered

    # Support's repair takes the deleted mailbox out of the group.
    services.repair_drift(group, user=None)
    run_all()
    assert not group.members.filter(account=gone).exists()
    platform.assert_matches(group)

    # The mailbox comes back: so does the account.
    platform_sync.publish_accounts(service, [gone])
    assert platform_sync.sync_accounts()["back"] == 1
    assert Account.objects.get(pk=gone.pk).state == Account.State.OK


def test_drift_finds_a_member_removed_and_a_group_deleted_by_hand_and_repair_puts_them_back(
    platform, service, customer, domain, accounts, contacts, client, support
):
    team = make_group(service, customer, domain, "equipe", accounts[:3], contacts[:1])
    board = make_group(service, customer, domain, "direction", accounts[3:5])
    services.add_alias(board, user=customer, local_part="board", domain=domain)
    run_all()
    untouched = make_group(service, customer, domain, "calme", accounts[:1])

    removed_dn = directory_tree.account_dn(service.name, accounts[1].address.email)
    platform.modify(
        directory_tree.group_dn(service.name, team.email),
        [(ldap.MOD_DELETE, "member", [removed_dn.encode()])],
    )
    platform.delete(directory_tree.group_dn(service.name, board.email))

    call_command("check_drift")
    assert list(team.drifts.values_list("kind", "subject", "name")) == [
        ("missing", "member", accounts[1].address.email)
    ]
    assert list(board.drifts.values_list("kind")) == [("group_missing",)]
    assert not untouched.drifts.exists()

    # The customer sees a short notice on the groups list and on the group's pages.
    client.force_login(customer)
    page = client.get(reverse("panel:groups", args=[service.name])).content.decode()
    assert page.count("data-drift-notice") == 2
    users = client.get(reverse("panel:group-users", args=[service.name, team.pk]))
    assert "data-drift-notice" in users.content.decode()
    calm = client.get(reverse("panel:group-users", args=[service.name, untouched.pk]))
    assert "data-drift-notice" not in calm.content.decode()

    # Support sees them on the group in the admin and repairs both in one action.
    change = support.get(reverse("admin:exchange_groups_group_change", args=[team.pk]))
    assert accounts[1].address.email in change.content.decode()
    support.post(
        reverse("admin:exchange_groups_group_changelist"),
        {"action": "repair_drift", "_selected_action": [team.pk, board.pk]},
    )
    assert not Drift.objects.exists()
    run_all()
    platform.assert_matches(team)
    platform.assert_matches(board)
    assert platform.group_entry(board)["mailLocalAddress"] == {"board@example.fr"}
    assert platform_sync.check_drift()["differences"] == 0


def test_support_can_adopt_the_platforms_version(platform, service, customer, domain, accounts):
    group = make_group(service, customer, domain, "equipe", accounts[:2])
    dn = directory_tree.group_dn(service.name, group.email)
    extra = directory_tree.account_dn(service.name, accounts[2].address.email)
    platform.modify(
        dn,
        [
            (ldap.MOD_REPLACE, "displayName", [b"Renamed by hand"]),
            (ldap.MOD_REPLACE, "exgMaxReceiveSize", [b"10485760"]),
            (ldap.MOD_ADD, "member", [extra.encode()]),
            (ldap.MOD_ADD, "mailLocalAddress", [b"team@example.fr"]),
        ],
    )
    counts = platform_sync.check_drift()
    assert counts == {"groups": 1, "differences": 4, "groups_differing": 1}
    services.adopt_drift(group, user=None)
    group.refresh_from_db()
    assert group.display_name == "Renamed by hand" and group.max_receive_size == 10
    assert group.members.filter(account=accounts[2]).exists()
    assert [str(a) for a in group.aliases.all()] == ["team@example.fr"]
    assert platform_sync.check_drift()["differences"] == 0
