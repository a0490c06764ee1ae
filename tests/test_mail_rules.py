"""Each group rule on the real mail server (Postfix + Dovecot + the policy service and
milter, on slapd), both ways, and the panel's "Test sending" simulator giving the same
verdict on every case: one table, run through the simulator on the panel's rows, the
simulator on the directory, and the real server."""

import pytest
from django.test import override_settings

from exchange_groups import sending
from exchange_groups.delivery import MEGABYTE, Refusal
from exchange_groups.models import Address, Delegation, Group, GroupManager, GroupMember
from exchange_groups.sending import Mode, SampleMessage
from tests.conftest import make_account, make_contact

BUILT_IN = "exchange_groups.backends.database.DatabaseBackend"
OUTSIDER = "someone@outside.example"
SMALL = 2_000


def make_group(service, domain, local_part="team", **settings):
    address = Address.objects.create(domain=domain, local_part=local_part, kind="group")
    return Group.objects.create(service=service, address=address, state="ok", **settings)


@pytest.fixture
def team(service, domain):
    """team@example.fr: contacts ann (account) and friend@partner.com (external);
    bob administrator only; carol and dave accounts with no role (yet)."""
    accounts = {name: make_account(service, name) for name in ("ann", "bob", "carol", "dave")}
    friend = make_contact(service, "friend@partner.com")
    group = make_group(service, domain)
    GroupMember.objects.create(group=group, account=accounts["ann"])
    GroupMember.objects.create(group=group, contact=friend)
    GroupManager.objects.create(group=group, account=accounts["bob"])
    group.accounts = accounts
    return group


CONTACTS = ("ann@example.fr", "friend@partner.com")
# (case, group settings, rights {account: kind}, the test message, expected refusal or None)
CASES = [
    ("anyone may write", {}, {}, SampleMessage(OUTSIDER, False, SMALL), None),
    (
        "auth required: outsider refused",
        {"sender_authentication": True}, {},
        SampleMessage(OUTSIDER, False, SMALL), Refusal.SENDER_AUTHENTICATION,
    ),
    (
        "auth required: authenticated account accepted",
        {"sender_authentication": True}, {},
        SampleMessage("dave@example.fr", True, SMALL), None,
    ),
    (
        "auth not required: authenticated account accepted too",
        {}, {},
        SampleMessage("dave@example.fr", True, SMALL), None,
    ),
    (
        "receive size: one byte over refused",
        {"max_receive_size": 1}, {},
        SampleMessage(OUTSIDER, False, MEGABYTE + 1), Refusal.MAX_RECEIVE_SIZE,
    ),
    (
        "receive size: exactly the limit accepted",
        {"max_receive_size": 1}, {},
        SampleMessage(OUTSIDER, False, MEGABYTE), None,
    ),
    (
        "Send As granted",
        {}, {"carol": Delegation.Kind.SEND_AS},
        SampleMessage("carol@example.fr", True, SMALL, Mode.SEND_AS), None,
    ),
    (
        "Send As not granted",
        {}, {"carol": Delegation.Kind.SEND_AS},
        SampleMessage("dave@example.fr", True, SMALL, Mode.SEND_AS), Refusal.SEND_AS,
    ),
    (
        "Send on Behalf granted",
        {}, {"carol": Delegation.Kind.SEND_ON_BEHALF},
        SampleMessage("carol@example.fr", True, SMALL, Mode.SEND_ON_BEHALF), None,
    ),
    (
        "Send on Behalf not granted",
        {}, {"carol": Delegation.Kind.SEND_ON_BEHALF},
        SampleMessage("dave@example.fr", True, SMALL, Mode.SEND_ON_BEHALF), Refusal.SEND_ON_BEHALF,
    ),
    (
        "Send As right does not give Send on Behalf",
        {}, {"carol": Delegation.Kind.SEND_AS},
        SampleMessage("carol@example.fr", True, SMALL, Mode.SEND_ON_BEHALF), Refusal.SEND_ON_BEHALF,
    ),
    (
        "an account's address needs its login",
        {}, {},
        SampleMessage("dave@example.fr", False, SMALL), Refusal.SENDER_NOT_OWNED,
    ),
    (
        "hidden group still delivered",
        {"hidden_from_gal": True}, {},
        SampleMessage(OUTSIDER, False, SMALL), None,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "settings_, rights, test, refusal", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_simulator_and_mail_server_agree(mail, settings, team, settings_, rights, test, refusal):
    Group.objects.filter(pk=team.pk).update(**settings_)
    team.refresh_from_db()
    for name, kind in rights.items():
        Delegation.objects.create(group=team, account=team.accounts[name], kind=kind)
    mail.publish(team)
    account = test.sender if test.sender.endswith("@example.fr") else None
    expected = () if refusal else CONTACTS

    with override_settings(PROVISIONING_BACKEND=BUILT_IN):
        on_panel = sending.simulate(team, test, account)
    on_directory = sending.simulate(team, test, account)
    sent = mail.send_test(team.email, test)

    for verdict in (on_panel, on_directory):
        assert (verdict.refusal, verdict.recipients) == (refusal, expected)
    assert sent.accepted is (refusal is None), sent.reply
    if refusal:
        assert f"{sent.code} " == refusal.smtp_code.split()[0] + " "
    else:
        accounts = [f"{name}@example.fr" for name in team.accounts]
        assert mail.receivers(sent.token, accounts) == set(CONTACTS)
