"""What must not grow with the data: the SQL queries of every customer page (at two sizes),
the statements of a one-item task, the session of a page ticking a big group's members.
Timings are in benchmarks/scale.py, not here."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exchange_groups import engine, services
from exchange_groups.models import (
    Account,
    Address,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
    TaskItem,
)

from .conftest import make_account, make_contact, make_group

pytestmark = pytest.mark.django_db


def grow(service, domain, customer, groups, accounts, start=0):
    """`groups` groups of 5 members each, `accounts` accounts, 3 finished tasks per group
    and a few external contacts, written in bulk."""
    addresses = Address.objects.bulk_create(
        [
            Address(domain=domain, local_part=f"u{start}-{i}", kind="account")
            for i in range(accounts)
        ]
    )
    made = Account.objects.bulk_create([Account(service=service, address=a) for a in addresses])
    ExternalContact.objects.bulk_create(
        [ExternalContact(service=service, email=f"c{start}-{i}@out.example") for i in range(3)]
    )
    addresses = Address.objects.bulk_create(
        [Address(domain=domain, local_part=f"g{start}-{i}", kind="group") for i in range(groups)]
    )
    made_groups = Group.objects.bulk_create(
        [Group(service=service, address=a, state="ok") for a in addresses]
    )
    GroupMember.objects.bulk_create(
        [
            GroupMember(group=g, account=made[(n * 5 + k) % len(made)])
            for n, g in enumerate(made_groups)
            for k in range(5)
        ]
    )
    GroupManager.objects.bulk_create([GroupManager(group=g, account=made[0]) for g in made_groups])
    Task.objects.bulk_create(
        [
            Task(service=service, group=g, object_label="x", function="addDistributionGroupMember",
                 status="done", requested_by=customer)
            for g in made_groups
            for _ in range(3)
        ]
    )  # fmt: skip


def page_urls(service, group):
    s, g = service.name, group.pk
    groups, accounts, tasks = (
        reverse("panel:groups", args=[s]),
        reverse("panel:accounts", args=[s]),
        reverse("panel:tasks", args=[s]),
    )
    return [
        groups,
        f"{groups}?page=last",
        f"{groups}?page=2",
        f"{groups}?q=g0",
        reverse("panel:group-row", args=[s, g]),
        reverse("panel:group-users", args=[s, g]),
        reverse("panel:group-delegations", args=[s, g]),
        accounts,
        f"{accounts}?page=2",
        reverse("panel:contacts", args=[s]),
        tasks,
        f"{tasks}?page=2",
        reverse("panel:group-history", args=[s, g]),
    ]


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers={"HX-Request": "true"} if "/row/" in url else {})
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_every_customer_page_runs_the_same_queries_for_60_and_600_groups(
    client, customer, service, domain
):
    grow(service, domain, customer, groups=60, accounts=100)
    group = Group.objects.order_by("pk").first()
    client.force_login(customer)
    urls = page_urls(service, group)
    for url in urls:
        count_queries(client, url)  # warm the per-process caches
    few = {url: count_queries(client, url) for url in urls}

    grow(service, domain, customer, groups=540, accounts=900, start=1)
    assert Group.objects.count() == 600 and Task.objects.count() == 1800
    many = {url: count_queries(client, url) for url in urls}
    assert many == few


def test_a_one_item_task_takes_six_statements_and_one_commit(group_ok, customer, accounts):
    # One after the other: a worker that finishes a task goes on with its group's next.
    for change, account in ((services.add_members, 3), (services.remove_members, 0)):
        task = change(group_ok, user=customer, accounts=[accounts[account].pk])
        with CaptureQueriesContext(connection) as ctx:
            engine.execute(task.pk)
        statements = [q["sql"] for q in ctx.captured_queries]
        # The outcome's transaction (a savepoint here, inside the test's transaction).
        control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
        work = [s for s in statements if s.split()[0].upper() not in control]
        assert Task.objects.get(pk=task.pk).status == "done"
        assert len(work) <= 6, "\n".join(work)
        assert len([s for s in statements if s.startswith(("COMMIT", "RELEASE"))]) == 1
    members = set(group_ok.members.values_list("account_id", flat=True))
    assert accounts[3].pk in members and accounts[0].pk not in members
    # One history row per change (a deletion was once recorded twice).
    history = GroupMember.history.filter(group_id=group_ok.pk)
    assert history.filter(history_type="+", account_id=accounts[3].pk).count() == 1
    assert history.filter(history_type="-", account_id=accounts[0].pk).count() == 1


@pytest.fixture
def group_ok(service, customer, domain, accounts):
    return make_group(service, customer, applied=True, member_accounts=[a.pk for a in accounts[:3]])


def test_ticking_a_big_group_keeps_only_the_differences_in_the_session(
    client, customer, service, domain
):
    grow(service, domain, customer, groups=1, accounts=400)
    group = Group.objects.get()
    GroupMember.objects.bulk_create(
        [
            GroupMember(group=group, account=a)
            for a in Account.objects.exclude(memberships__group=group)
        ]
    )
    assert group.members.count() == 400
    client.force_login(customer)
    url = reverse("panel:group-users", args=[service.name, group.pk])
    response = client.get(url)
    token = response.context["token"]
    rows = response.context["rows"]
    shown = [row["key"] for row in rows]
    # The picker opens on every domain: the service's contacts (not members) show too.
    members = [row["key"] for row in rows if row["member"]]
    managers = [row["key"] for row in rows if row["manager"]]
    assert response.context["counts"]["member"] == 400
    assert f"draft:users:{group.pk}:{token}" not in client.session  # viewed: nothing stored
    # Untick the first member shown: the session holds that one difference, nothing else.
    response = client.post(
        url,
        {"token": token, "shown": shown, "member": members[1:], "manager": managers,
         "nav": "page:2"},
    )  # fmt: skip
    state = client.session[f"draft:users:{group.pk}:{token}"]
    assert state["-member"] == [members[0]] and state["+member"] == []
    assert len(str(state)) < 500
    assert response.context["counts"]["member"] == 399
    response = client.post(url, {"token": token, "action": "review"})
    plan = response.context["plan"]
    assert [(f, [str(o) for o in objs]) for f, objs in plan] == [
        ("deleteDistributionGroupMember", [str(Account.objects.get(pk=members[0].split(":")[1]))])
    ]


def test_a_big_running_task_shows_its_progress(client, customer, service, domain):
    grow(service, domain, customer, groups=1, accounts=300)
    group = Group.objects.get()
    task = Task.objects.create(
        service=service, group=group, object_label="x", function="addDistributionGroupMember",
        status="doing",
    )  # fmt: skip
    TaskItem.objects.bulk_create(
        [
            TaskItem(task=task, account=a, label=str(a.pk), status="done" if n < 120 else "todo")
            for n, a in enumerate(Account.objects.all())
        ]
    )
    client.force_login(customer)
    groups = client.get(reverse("panel:groups", args=[service.name])).content.decode()
    tasks = client.get(reverse("panel:tasks", args=[service.name])).content.decode()
    row = client.get(
        reverse("panel:group-row", args=[service.name, group.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()  # the row the list polls while the task runs
    assert "120 / 300" in groups
    assert "120 / 300" in tasks
    assert "120 / 300" in row and 'id="group-' in row
    Task.objects.filter(pk=task.pk).update(status="done")
    groups = client.get(reverse("panel:groups", args=[service.name])).content.decode()
    assert "/ 300" not in groups


def test_a_big_task_is_applied_in_chunks_and_a_retry_starts_where_it_stopped(
    service, customer, domain, monkeypatch
):
    grow(service, domain, customer, groups=0, accounts=1_200)
    group = services.create_group(service, user=customer, local_part="big", domain=domain)
    for task in Task.objects.filter(group=group):
        engine.execute(task.pk)
    group.refresh_from_db()
    task = services.add_members(
        group, user=customer, accounts=list(Account.objects.values_list("pk", flat=True))
    )
    backend = engine.get_backend()
    real, calls = backend.addDistributionGroupMember, []

    def second_chunk_fails(task, items):
        calls.append(1)
        if len(calls) == 2:
            raise engine.BackendError("the platform is down")
        return real(task, items)

    monkeypatch.setattr(backend, "addDistributionGroupMember", second_chunk_fails)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "todo" and "down" in task.error
    assert task.items.filter(status="done").count() == engine.CHUNK == group.members.count()
    monkeypatch.setattr(backend, "addDistributionGroupMember", real)
    Task.objects.filter(pk=task.pk).update(run_after=task.created_at)
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "done" and group.members.count() == 1_200


def test_picker_pages_read_to_their_end_show_the_whole_list_in_order(service, domain):
    """The member picker reads each half of its list (accounts, contacts) only up to the
    page's end: its pages are still those of the whole list, in address order."""
    from exchange_groups.queries import CONTACTS_ONLY, directory

    for i in range(30):
        make_account(service, f"user{i:02d}")
    for i in range(15):
        make_contact(service, f"user{i:02d}x@partner.example")
    whole = [row[2] for row in directory(service)]
    assert len(whole) == 45
    pages = []
    for bottom in range(0, 45, 20):
        rows = directory(service, limit=bottom + 21)[bottom : bottom + 20]
        pages += [row[2] for row in rows]
    assert pages == whole
    assert whole[:3] == ["user00@example.fr", "user00x@partner.example", "user01@example.fr"]
    # The "external contacts" filter: the contacts alone, read to the page's end too.
    contacts = [row[2] for row in directory(service, domain=CONTACTS_ONLY, limit=21)[:20]]
    assert contacts == [f"user{i:02d}x@partner.example" for i in range(15)]


def test_an_item_failing_in_a_chunk_is_reported_and_the_others_applied(
    service, customer, domain, monkeypatch
):
    """A big task's chunks go on past an item the platform refuses: that item (in the
    first chunk) is in error with its reason, every other one is applied, once."""
    monkeypatch.setattr(engine, "CHUNK", 4)
    grow(service, domain, customer, groups=0, accounts=11)
    group = services.create_group(service, user=customer, local_part="big", domain=domain)
    for task in Task.objects.filter(group=group):
        engine.execute(task.pk)
    group.refresh_from_db()
    accounts = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    task = services.add_members(group, user=customer, accounts=accounts)
    backend = engine.get_backend()
    real, refused = backend.addDistributionGroupMember, accounts[1]

    def refuse_one(task, items):
        bad = [i for i in items if i.account_id == refused]
        failed = {i.pk: "refused" for i in bad}
        real(task, [i for i in items if i.account_id != refused])
        return failed

    monkeypatch.setattr(backend, "addDistributionGroupMember", refuse_one)
    engine.execute(task.pk)
    task.refresh_from_db()
    # Tried again later (a refusal may pass), the reason said with the address refused.
    assert task.status == "todo" and "refused (u0-1@example.fr)" in task.error
    assert list(task.items.filter(status="error").values_list("account_id", "error")) == [
        (refused, "refused")
    ]
    assert task.items.filter(status="done").count() == 10
    assert sorted(group.members.values_list("account_id", flat=True)) == sorted(
        a for a in accounts if a != refused
    )
