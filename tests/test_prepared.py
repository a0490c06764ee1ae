"""Queries compiled once per process (exchange_groups/prepared.py): each run must read what
the ORM would have read, for any number of ids, on the connection of the thread running
it, and a query whose values a lookup rewrites is refused rather than run wrong."""

import threading

import pytest
from django.db import connections
from django.urls import reverse

from exchange_groups.models import Account, ExchangeService, Group, Task
from exchange_groups.prepared import Contains, Ids, Prepared
from exchange_groups.queries import GROUPS_PAGE, groups_overview, overview_of

from .conftest import make_group


def _shown(groups):
    """What the groups list shows of each group."""
    return sorted(
        (g.pk, g.email, g.display_name, g.member_count, g.manager_count, g.alias_count, g.status)
        for g in groups
    )


@pytest.fixture
def groups(service, customer, domain, accounts):
    made = []
    for i in range(GROUPS_PAGE + 1):
        members = [a.pk for a in accounts[: i % 4]]
        made.append(make_group(service, customer, f"list{i:02}", member_accounts=members))
    # One with a task pending, one in error: their statuses come from the subqueries.
    Task.objects.filter(group=made[1]).update(status="todo")
    Task.objects.filter(group=made[2]).update(status="error")
    return made


@pytest.mark.django_db
def test_the_prepared_overview_reads_what_the_orm_reads_for_any_number_of_ids(groups):
    ids = [g.pk for g in groups]
    # Each compiled size (4, 16, 20 ids), filled or not, and more ids than a page.
    for some in ([ids[0]], ids[1:4], ids[:4], ids[:5], ids[:17], ids[:GROUPS_PAGE], ids):
        expected = _shown(groups_overview().filter(pk__in=some))
        assert _shown(overview_of(ids=some)) == expected
        assert len(expected) == len(some)
    assert {g.status for g in overview_of(ids=ids[:3])} == {"ok", "pending", "error"}
    assert overview_of(ids=[]) == []
    assert overview_of(ids=[-1, ids[0]])[0].pk == ids[0]  # an id no group has: no row


@pytest.mark.django_db(transaction=True)
def test_a_prepared_query_runs_on_the_connection_of_the_thread_running_it(
    service, customer, domain
):
    group = make_group(service, customer, "team")
    overview_of(ids=[group.pk])  # compiled (if not yet) on this thread's connection
    found, errors = [], []

    def read():
        try:
            found.extend(overview_of(ids=[group.pk]))
        except Exception as exc:  # noqa: BLE001 - reported below, with its type
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert errors == [] and [g.email for g in found] == ["team@example.fr"]


@pytest.mark.django_db
def test_a_stand_in_that_a_lookup_rewrites_is_refused(service):
    # icontains sends "%value%": the stand-in is not among the parameters as given.
    search = Prepared(lambda name: ExchangeService.objects.filter(name__icontains=name), name=str)
    with pytest.raises(ValueError, match="name: not a parameter"):
        search(name="hosted")
    by_name = Prepared(lambda name: ExchangeService.objects.filter(name=name), name=str)
    assert by_name(name=service.name) == [service]
    assert by_name(name="nobody") == []
    of_ids = Prepared(lambda ids: Account.objects.filter(pk__in=ids), ids=Ids(2))
    assert of_ids(ids=[]) == []


@pytest.mark.django_db
def test_a_text_looked_up_by_contains_finds_what_the_orm_finds(
    client, service, customer, domain, other_service
):
    """The text's "%", "_" and backslash are escaped as the lookup escapes them: a search
    for "sales_" is not a search for "sales" followed by any character."""
    for local_part, name in [
        ("sales_fr", "Sales_FR"),
        ("salesxfr", "Sales 100%"),
        ("sales", "Sales \\ Paris"),
        ("team", "Team"),
    ]:
        make_group(service, customer, local_part, display_name=name)
    make_group(other_service, customer, "sales_de")  # another customer's

    def orm(service, text):
        groups = Group.objects.filter(service=service, display_name__icontains=text)
        return sorted(groups.values_list("address__local_part", flat=True))

    named = Prepared(
        lambda service, text: (
            Group.objects.filter(service=service, display_name__icontains=text)
            .order_by("address__local_part")
            .values_list("address__local_part", flat=True)
        ),
        service=ExchangeService,
        text=Contains,
    )
    for text in ["sales", "SALES_", "_", "100%", "%", "\\", "s \\ p", "nothing"]:
        assert named(service=service, text=text) == orm(service, text), text
    assert named(service=service, text="_fr") == ["sales_fr"]

    # The groups list's search, compiled so, finds the same groups.
    client.force_login(customer)
    html = client.get(reverse("panel:groups", args=[service.name]), {"q": "sales_"})
    assert "sales_fr@example.fr" in html.content.decode()
    assert "salesxfr@" not in html.content.decode()
    assert "sales_de@" not in html.content.decode()


@pytest.mark.django_db
def test_the_service_read_once_compiled_is_still_only_the_users(
    client, customer, service, other_service
):
    client.force_login(customer)
    assert client.get(reverse("panel:groups", args=[service.name])).status_code == 200
    assert client.get(reverse("panel:groups", args=[other_service.name])).status_code == 404
    other_service.customers.add(customer)
    assert client.get(reverse("panel:groups", args=[other_service.name])).status_code == 200
    assert client.get(reverse("panel:groups", args=["no-such-service"])).status_code == 404
    assert Group.objects.count() == 0


@pytest.mark.django_db
def test_values_are_read_as_the_orm_reads_them_and_an_empty_list_of_ids_matches_nothing(
    service, customer, domain, accounts, contacts
):
    from django.db.models import Q

    from exchange_groups.models import GroupMember

    group = make_group(service, customer)
    GroupMember.objects.bulk_create(
        [GroupMember(group=group, account=a) for a in accounts[:3]]
        + [GroupMember(group=group, contact=c) for c in contacts[:2]]
    )
    pairs = Prepared(
        lambda group: (
            GroupMember.objects.filter(group=group)
            .order_by("pk")
            .values_list("account_id", "contact_id")
        ),
        group=Group,
    )
    orm = list(group.members.order_by("pk").values_list("account_id", "contact_id"))
    assert pairs(group=group) == orm and len(orm) == 5 and isinstance(orm[0], tuple)
    flat = Prepared(
        lambda group: (
            GroupMember.objects.filter(group=group, account__isnull=False)
            .order_by("account_id")
            .values_list("account_id", flat=True)
        ),
        group=Group,
    )
    assert flat(group=group) == sorted(a.pk for a in accounts[:3])
    among = Prepared(
        lambda accounts, contacts: GroupMember.objects.filter(
            Q(account__in=accounts) | Q(contact__in=contacts)
        ).values_list("contact_id", flat=True),
        accounts=Ids(4),
        contacts=Ids(4),
    )
    assert among(accounts=[], contacts=[contacts[0].pk]) == [contacts[0].pk]
    assert among(accounts=[], contacts=[]) == []


@pytest.mark.django_db
@pytest.mark.parametrize("how_many", [3, 40])  # within one prepared read, and beyond it
def test_a_change_naming_another_customers_account_is_refused_whatever_its_size(
    how_many, service, customer, domain, other_service
):
    from django.core.exceptions import ValidationError

    from exchange_groups import services

    from .conftest import make_account

    group = make_group(service, customer)
    ours = [make_account(service, f"staff{i}") for i in range(how_many)]
    theirs = make_account(other_service, "intruder", domain=other_service.domains.first())
    with pytest.raises(ValidationError) as refused:
        services.add_members(group, user=customer, accounts=[a.pk for a in ours] + [theirs.pk])
    assert "Choisissez des comptes de ce service." in refused.value.message_dict["members"]
    assert not Task.objects.filter(group=group, function="addDistributionGroupMember").exists()
    task = services.add_members(group, user=customer, accounts=[a.pk for a in ours])
    assert task.items.count() == how_many


@pytest.mark.django_db
@pytest.mark.parametrize("domains", [1, 2])
@pytest.mark.parametrize("page", ["panel:group-users", "panel:group-delegations"])
def test_the_pickers_open_on_the_directorys_first_rows(
    client, customer, service, domain, contacts, domains, page
):
    """The users and delegations pages read their first page by a compiled query (one per
    shape: a service of one domain walks that domain's index entries): the same rows, in
    the same order, as the directory composed by the ORM."""
    from exchange_groups.models import Domain
    from exchange_groups.queries import directory

    from .conftest import make_account

    if domains == 2:
        Domain.objects.create(service=service, name="autre.fr")
    for i in range(25):
        make_account(service, f"staff{i:02}", domain=service.domains.order_by("-pk")[i % domains])
    group = make_group(service, customer)
    client.force_login(customer)
    shown = client.get(reverse(page, args=[service.name, group.pk])).context["rows"]
    accounts_only = page == "panel:group-delegations"
    expected = [row[2] for row in directory(service, accounts_only=accounts_only)[:20]]
    assert [row["address"] for row in shown] == expected and len(expected) == 20
    if not accounts_only:
        assert {row["kind"] for row in shown} == {"account", "contact"}
