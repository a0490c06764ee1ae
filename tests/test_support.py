"""Support staff in the Django admin, the audit trail, and the roles."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exchange_groups import engine, services
from exchange_groups.models import (
    Account,
    Address,
    Domain,
    ExchangeService,
    Group,
    GroupMember,
    Task,
)
from exchange_groups.roles import ensure_support_role

from .conftest import make_account, wait_for


def sweeps(log: str) -> int:
    """How many sweeps the worker has finished, from its log."""
    return sum("sweep_tasks[" in line and " succeeded " in line for line in log.splitlines())


pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client):
    user = get_user_model().objects.create_user("agent", password="agent-password-1", is_staff=True)
    user.groups.add(ensure_support_role())
    client.force_login(user)
    return client


def make_groups(service, domain, customer, n, start=0):
    """n groups with a member and a task each, written in bulk."""
    addresses = Address.objects.bulk_create(
        [
            Address(domain=domain, local_part=f"bulk{i}", kind="group")
            for i in range(start, start + n)
        ]
    )
    groups = Group.objects.bulk_create(
        [
            Group(service=service, address=a, state="ok", display_name=a.local_part)
            for a in addresses
        ]
    )
    account = make_account(service, f"acc{start}")
    GroupMember.objects.bulk_create([GroupMember(group=g, account=account) for g in groups])
    Task.objects.bulk_create(
        [Task(service=service, group=g, object_label=g.address.local_part, requested_by=customer,
              function="addDistributionGroupMember", status="error", error="boom") for g in groups]
    )  # fmt: skip


ADMIN_LISTS = [
    "exchangeservice",
    "domain",
    "address",
    "account",
    "externalcontact",
    "group",
    "groupmember",
    "groupmanager",
    "delegation",
    "alias",
    "task",
]


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_admin_lists_and_details_run_the_same_queries_for_10_and_2000(
    support, service, domain, customer
):
    make_groups(service, domain, customer, 10)
    lists = {name: reverse(f"admin:exchange_groups_{name}_changelist") for name in ADMIN_LISTS}
    group, task = Group.objects.first(), Task.objects.first()
    details = [
        reverse("admin:exchange_groups_group_change", args=[group.pk]),
        reverse("admin:exchange_groups_task_change", args=[task.pk]),
        reverse("admin:exchange_groups_exchangeservice_change", args=[service.pk]),
        reverse("admin:exchange_groups_group_history", args=[group.pk]),
    ]
    for url in [*lists.values(), *details]:
        support.get(url)  # warm the per-process caches (content types, permissions)
    few = {url: queries(support, url) for url in [*lists.values(), *details]}
    make_groups(service, domain, customer, 1990, start=10)
    assert Group.objects.count() == 2000 and Task.objects.count() == 2000
    many = {url: queries(support, url) for url in [*lists.values(), *details]}
    assert many == few


def test_find_a_group_by_address_and_see_its_tasks(support, service, domain, customer):
    make_groups(service, domain, customer, 3)
    html = support.get(reverse("admin:exchange_groups_group_changelist"), {"q": "bulk1"}).content
    assert b"bulk1@example.fr" in html and b"bulk2@example.fr" not in html
    by_customer = support.get(reverse("admin:exchange_groups_group_changelist"), {"q": "alice"})
    assert b"bulk0@example.fr" in by_customer.content
    group = Group.objects.get(address__local_part="bulk1")
    tasks = support.get(
        reverse("admin:exchange_groups_task_changelist"), {"group__id__exact": group.pk}
    )
    assert tasks.content.count(b"bulk1") >= 1 and b"bulk2" not in tasks.content
    detail = support.get(
        reverse("admin:exchange_groups_task_change", args=[Task.objects.first().pk])
    )
    assert b"boom" in detail.content and b"<pre>" in detail.content


def test_task_actions_act_on_the_right_status_and_say_why_others_are_skipped(
    support, service, domain, customer
):
    group = services.create_group(service, user=customer, local_part="g", domain=domain)
    todo = group.tasks.get()
    error = Task.objects.create(service=service, group=group, object_label="g", status="error",
                                function="addDistributionGroupMember", error="boom")  # fmt: skip
    url = reverse("admin:exchange_groups_task_changelist")
    response = support.post(
        url, {"action": "cancel", "_selected_action": [todo.pk, error.pk]}, follow=True
    )
    text = response.content.decode()
    assert "1 tâche annulée." in text
    assert "1 tâche ignorée" in text
    assert Task.objects.get(pk=todo.pk).status == "cancelled"
    assert Task.objects.get(pk=error.pk).status == "error"
    support.post(url, {"action": "retry", "_selected_action": [todo.pk, error.pk]})
    assert Task.objects.get(pk=error.pk).status == "todo"
    assert Task.objects.get(pk=todo.pk).status == "cancelled"
    engine.claim(error.pk)
    support.post(url, {"action": "requeue", "_selected_action": [error.pk]})
    assert Task.objects.get(pk=error.pk).status == "todo"


def test_a_customer_login_cannot_reach_the_admin(client, customer):
    client.force_login(customer)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_support_cannot_delete_a_service_or_an_account(support, service, accounts):
    for name, obj in (("exchangeservice", service), ("account", accounts[0])):
        delete = reverse(f"admin:exchange_groups_{name}_delete", args=[obj.pk])
        assert support.get(delete).status_code == 403
        assert support.post(delete, {"post": "yes"}).status_code == 403
        change = reverse(f"admin:exchange_groups_{name}_change", args=[obj.pk])
        assert support.post(change, {}).status_code == 403
    assert ExchangeService.objects.filter(pk=service.pk).exists()
    assert Account.objects.filter(pk=accounts[0].pk).exists()


def test_audit_trail_records_panel_admin_and_worker_changes(
    client, customer, service, domain, accounts
):
    # The customer panel: the wizard creates the group.
    client.force_login(customer)
    wizard_url = client.get(reverse("panel:group-create", args=[service.name])).url
    prefix = "create_group_" + wizard_url.rstrip("/").rsplit("/", 1)[1]
    client.post(
        wizard_url,
        {f"{prefix}-current_step": "settings", "settings-local_part": "audit",
         "settings-domain": domain.pk, "settings-display_name": "Audit"},
    )  # fmt: skip
    key = f"account:{accounts[0].pk}"
    client.post(wizard_url, {f"{prefix}-current_step": "members", "members-shown": [key],
                             "members-member": [key]})  # fmt: skip
    client.post(wizard_url, {f"{prefix}-current_step": "confirm"})
    group = Group.objects.get(address__local_part="audit")
    created = group.history.get(history_type="+")
    assert created.history_user == customer

    # A worker applies the tasks: its changes are made for the customer, by the task.
    for task in group.tasks.order_by("pk"):
        engine.execute(task.pk)
    member = GroupMember.history.get(group_id=group.pk)
    assert member.history_user == customer
    assert member.history_change_reason.startswith("task:")
    assert (
        group.history.filter(history_type="~", state="ok")
        .get()
        .history_change_reason.startswith("task:")
    )

    # Support, in the admin.
    admin = get_user_model().objects.create_superuser("root", password="root-password-1")
    client.force_login(admin)
    change = reverse("admin:exchange_groups_group_change", args=[group.pk])
    form = {
        "service": service.pk, "display_name": "Audit (renamed by support)",
        "max_receive_size": "", "max_send_size": "", "join_restriction": "closed",
        "depart_restriction": "closed", "state": "ok",
    }  # fmt: skip
    response = client.post(change, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    renamed = group.history.latest()
    assert renamed.history_user == admin and renamed.display_name == "Audit (renamed by support)"

    # The customer reads it all on the group's "Historique" page.
    client.force_login(customer)
    html = client.get(
        reverse("panel:group-history", args=[service.name, group.pk])
    ).content.decode()
    assert "Groupe créé" in html
    assert "Contact ajouté : user0@example.fr" in html
    assert "Audit (renamed by support)" in html and "root" in html and "support" in html
    assert "tâche n°" in html


def test_customers_cannot_read_another_services_history(client, service, domain, customer):
    group = services.create_group(service, user=customer, local_part="g", domain=domain)
    intruder = get_user_model().objects.create_user("mallory", password="x-password-1")
    other = ExchangeService.objects.create(organization_name="o", name="other-1")
    other.customers.add(intruder)
    Domain.objects.create(service=other, name="other.org")
    make_account(other, "x")
    client.force_login(intruder)
    for s in (service.name, other.name):
        url = reverse("panel:group-history", args=[s, group.pk])
        assert client.get(url).status_code == 404


@pytest.mark.worker
def test_admin_retry_ends_done_and_cancel_never_runs(
    client, worker, service, domain, customer, accounts
):

    support_user = get_user_model().objects.create_user(
        "agent2", password="a-password-1", is_staff=True
    )
    support_user.groups.add(ensure_support_role())
    client.force_login(support_user)
    worker.start(PROVISIONING_FAILURE_RATE="1", TASK_MAX_ATTEMPTS="1")
    failing = services.create_group(service, user=customer, local_part="fails", domain=domain)
    task = failing.tasks.get()
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "error", 30, "task in error")
    worker.stop()

    # While no worker runs: a change is requested, then cancelled by support.
    ok_group = Group.objects.create(
        service=service,
        address=Address.objects.create(domain=domain, local_part="keep", kind="group"),
        state="ok",
    )
    cancelled = services.add_members(ok_group, user=customer, accounts=[accounts[0].pk])
    url = reverse("admin:exchange_groups_task_changelist")
    client.post(url, {"action": "cancel", "_selected_action": [cancelled.pk]})
    client.post(url, {"action": "retry", "_selected_action": [task.pk]})

    worker.start()
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "done", 30, "task done",
             detail=lambda: worker.log)  # fmt: skip
    assert Group.objects.get(pk=failing.pk).state == "ok"
    # Two more sweeps have run since: the cancelled task stays cancelled.
    done = sweeps(worker.log)
    wait_for(lambda: sweeps(worker.log) >= done + 2, 30, "two sweeps", 0.2, lambda: worker.log)
    assert Task.objects.get(pk=cancelled.pk).status == "cancelled"
    assert not ok_group.members.exists()


def test_a_list_longer_than_the_count_cap_says_more_than(
    support, service, domain, customer, monkeypatch
):
    """Support's lists count up to a cap (10,000), no further: past it the list says "more
    than", and its pages still show the rows."""
    from exchange_groups.paging import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "CAP", 5)
    make_groups(service, domain, customer, 7)
    html = support.get(reverse("admin:exchange_groups_group_changelist")).content.decode()
    assert "Plus de 5 groupes" in html
    assert html.count('class="action-select"') == 7
    Group.objects.filter(pk__in=Group.objects.order_by("pk").values("pk")[:3]).delete()
    html = support.get(reverse("admin:exchange_groups_group_changelist")).content.decode()
    assert "Plus de" not in html and "4 groupes" in html
