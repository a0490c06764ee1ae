import os
import time
import urllib.parse

import pytest
from django.contrib.auth import get_user_model

from controlpanel.celery import app as celery_app
from exchange_groups import engine
from exchange_groups.models import Account, Address, Domain, ExchangeService, ExternalContact

pytest_plugins = ["tests.worker", "tests.slapd", "tests.postfix"]


def _redis_url_for(worker_id: str) -> str:
    """One Redis database per xdist process, so parallel tests never share a queue."""
    base = os.environ.get("REDIS_URL") or celery_app.conf.broker_url
    index = 1 if worker_id == "master" else int(worker_id.removeprefix("gw")) + 1
    parts = urllib.parse.urlsplit(base)
    if parts.scheme == "redis+socket":
        return f"redis+socket://{parts.path}?virtual_host={index}"
    return urllib.parse.urlunsplit(parts._replace(path=f"/{index}"))


@pytest.fixture(scope="session", autouse=True)
def redis_url(worker_id):
    url = _redis_url_for(worker_id)
    os.environ["REDIS_URL"] = url
    celery_app.conf.broker_url = url
    return url


@pytest.fixture(autouse=True)
def _fresh_backend():
    """Backend options come from settings; tests that change them get a new instance."""
    engine.get_backend.cache_clear()
    yield
    engine.get_backend.cache_clear()


@pytest.fixture
def customer(db):
    return get_user_model().objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def service(customer):
    service = ExchangeService.objects.create(
        organization_name="hosted-ab12345", name="hosted-ab12345-1"
    )
    service.customers.add(customer)
    return service


@pytest.fixture
def domain(service):
    return Domain.objects.create(service=service, name="example.fr")


@pytest.fixture
def other_service(db):
    other = ExchangeService.objects.create(organization_name="hosted-zz9", name="hosted-zz9-1")
    Domain.objects.create(service=other, name="other.fr")
    return other


def run_all(*_ignored):
    """Execute pending tasks in order, in this process, as the workers would, until none
    can progress."""
    from django.utils import timezone

    from exchange_groups.models import Task

    for _ in range(20):
        due = Task.objects.filter(status="todo").order_by("pk")
        if not due:
            return
        for task in due:
            Task.objects.filter(pk=task.pk).update(run_after=timezone.now())
            engine.execute(task.pk)


def make_account(service, local_part, domain=None):
    domain = domain or service.domains.first()
    address = Address.objects.create(domain=domain, local_part=local_part, kind="account")
    return Account.objects.create(service=service, address=address, display_name=local_part)


def make_contact(service, email):
    return ExternalContact.objects.create(service=service, email=email, display_name=email)


@pytest.fixture
def accounts(service, domain):
    return [make_account(service, f"user{i}") for i in range(5)]


@pytest.fixture
def contacts(service):
    return [make_contact(service, f"friend{i}@partner.com") for i in range(3)]


# Under CI nothing may be skipped and the long runs (the API's full fuzzing) run in full.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgresql_only(needs: str):
    """A test that only PostgreSQL can run (`needs`: what it needs of it): skipped on the
    SQLite of a developer's run, never under CI, which runs the suite on PostgreSQL."""
    from django.db import connection

    return pytest.mark.skipif(
        connection.vendor != "postgresql" and not IN_CI,
        reason=f"{needs} (CI runs this test on PostgreSQL)",
    )


def wait_for(predicate, timeout=40, what="condition", interval=0.1, detail=lambda: ""):
    """Until predicate() is true (its value is returned): every test waits on the state it
    expects, never for a fixed time. `detail` says more when it times out (a log)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{detail()}"
        time.sleep(interval)
    return value


def make_group(service, user, local_part="team", *, finish_tasks=True, applied=False, **settings):
    """A group as the panel creates it, then made operational as the worker would leave it
    (its creation task done unless finish_tasks=False). With applied=True the engine really
    applies its tasks through the configured backend (the directory, in its tests)."""
    from exchange_groups import services
    from exchange_groups.models import Group, Task

    settings.setdefault("domain", service.domains.first())
    group = services.create_group(service, user=user, local_part=local_part, **settings)
    if applied:
        run_all()
        group = Group.objects.with_overview().get(pk=group.pk)
        assert group.state == Group.State.OK, f"the group was not created: {group.state}"
        return group
    Group.objects.filter(pk=group.pk).update(state="ok")
    if finish_tasks:
        Task.objects.filter(group=group).update(status="done")
    return Group.objects.with_overview().get(pk=group.pk)


@pytest.fixture
def group(service, customer, domain):
    """An operational group of the customer's service: Team, team@example.fr."""
    return make_group(service, customer, display_name="Team")
