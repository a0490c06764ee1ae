"""A task's error reason is stored as message ids and shown in the reader's language: the
tasks page and the groups list (which says why a group is in error)."""

import pytest
from django.urls import reverse

from exchange_groups import engine, services
from exchange_groups.models import Group, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_task(service, customer, domain, accounts, settings):
    group = services.create_group(service, user=customer, local_part="team", domain=domain)
    Group.objects.filter(pk=group.pk).update(state="ok")
    Task.objects.update(status="done")
    group.refresh_from_db()
    settings.TASK_MAX_ATTEMPTS = 1
    settings.PROVISIONING_OPTIONS = {"delay": 0, "failure_rate": 1.0}
    engine.get_backend.cache_clear()
    task = services.add_members(group, user=customer, accounts=[accounts[3].pk])
    engine.execute(task.pk)
    task.refresh_from_db()
    assert task.status == "error"
    return task


def page_in(client, customer, language, url):
    client.force_login(customer)
    client.cookies["django_language"] = language
    return client.get(url).content.decode()


@pytest.mark.parametrize(
    "language, reason",
    [
        ("fr", "1 élément n’a pas pu être appliqué. La plateforme Exchange n’a pas pu "
               "appliquer cette modification. (user3@example.fr)"),
        ("en", "1 item could not be applied. The Exchange platform could not apply this "
               "change. (user3@example.fr)"),
    ],
)  # fmt: skip
def test_the_reason_is_shown_in_the_readers_language(
    client, customer, service, failed_task, language, reason
):
    tasks = page_in(client, customer, language, reverse("panel:tasks", args=[service.name]))
    assert reason in tasks
    groups = page_in(client, customer, language, reverse("panel:groups", args=[service.name]))
    assert reason in groups  # the group in error says why
    # Stored once, in the reference language, whoever reads it.
    assert Task.objects.get(pk=failed_task.pk).error == (
        "1 élément n’a pas pu être appliqué. La plateforme Exchange n’a pas pu appliquer "
        "cette modification. (user3@example.fr)"
    )
