"""The whole chain: a group made in the panel, applied to slapd by a real worker with the
directory backend, and a real Postfix delivering a message sent to it by SMTP."""

import pytest

from exchange_groups import platform_sync, services
from exchange_groups.models import Task
from tests.postfix import PASSWORD

from .conftest import wait_for

pytestmark = pytest.mark.worker


def wait_for_tasks(service, timeout=40):
    """Until every task of the service is done (an error fails the test)."""

    def all_done():
        statuses = dict(Task.objects.filter(service=service).values_list("pk", "status"))
        assert "error" not in statuses.values(), list(Task.objects.values("function", "error"))
        return all(status == "done" for status in statuses.values())

    wait_for(all_done, timeout, "every task done")


def test_mail_reaches_exactly_the_contacts_the_panel_shows(
    mail, worker, customer, service, domain, accounts, contacts
):
    platform_sync.publish_accounts(service, accounts, password=PASSWORD)
    worker.start(**mail.directory.env)
    ann, bob, admin = accounts[:3]
    friend = contacts[0]
    mailboxes = [a.address.email for a in accounts]

    group = services.create_group(
        service,
        user=customer,
        local_part="equipe",
        domain=domain,
        display_name="Équipe",
        member_accounts=[ann.pk, bob.pk],
        member_contacts=[friend.pk],
        manager_accounts=[admin.pk],
    )
    wait_for_tasks(service)
    group.refresh_from_db()
    assert group.state == "ok"
    services.add_alias(group, user=customer, local_part="crew", domain=domain)
    wait_for_tasks(service)
    contacts_now = {ann.address.email, bob.address.email, friend.email}

    # The three contacts receive it, the administrator (not a contact) does not.
    sent = mail.send("equipe@example.fr")
    assert sent.accepted, sent.reply
    assert mail.receivers(sent.token, mailboxes) == contacts_now
    sent = mail.send("crew@example.fr")
    assert sent.accepted, sent.reply
    assert mail.receivers(sent.token, mailboxes) == contacts_now

    services.remove_members(group, user=customer, accounts=[bob.pk])
    wait_for_tasks(service)
    sent = mail.send("equipe@example.fr")
    assert mail.receivers(sent.token, mailboxes) == {ann.address.email, friend.email}

    services.delete_group(group, user=customer)
    wait_for_tasks(service)
    sent = mail.send("equipe@example.fr")
    assert not sent.accepted
    assert sent.code == 550 and "User unknown" in sent.reply, sent.reply
