"""A real worker on the directory platform: the directory stopped while tasks are
requested, the task retries with backoff, and is applied once the directory is back."""

import pytest

from exchange_groups import platform_sync, services
from exchange_groups.models import Task

from .conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_directory_down_then_back_the_task_ends_done(
    worker, directory, service, customer, domain, accounts
):
    platform_sync.publish_accounts(service, accounts)
    worker.start(**directory.env, TASK_MAX_ATTEMPTS="8", TASK_RETRY_BACKOFF="0.3")
    group = services.create_group(
        service, user=customer, local_part="equipe", domain=domain,
        member_accounts=[accounts[0].pk],
    )  # fmt: skip
    wait_for(lambda: not Task.objects.filter(status__in=Task.PENDING).exists(), what="creation")
    directory.assert_matches(group)

    directory.stop_server()
    group.refresh_from_db()
    task = services.add_members(group, user=customer, accounts=[a.pk for a in accounts[1:4]])

    def retried():
        task.refresh_from_db()
        return task.attempts >= 2 and task.status == "todo"

    wait_for(retried, what="a retry after the directory failed")
    assert task.error == "La plateforme n’a pas pu être jointe."
    assert not group.members.filter(account__in=accounts[1:4]).exists()

    directory.start_server()
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "done", what="the task done")
    assert group.members.count() == 4
    directory.assert_matches(group)
