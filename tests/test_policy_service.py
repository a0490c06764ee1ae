"""The policy service on its own, speaking Postfix's policy delegation protocol over TCP as
Postfix does (several requests on one connection), against the real slapd; and the rules
that need the mail server: an account's max send size, a hidden group."""

import socket
import threading

import ldap
import pytest

from controlpanel import embedded_slapd
from exchange_groups.delivery import MEGABYTE
from exchange_groups.policy_service import Policy, PolicyServer
from tests.conftest import run_all

from .test_mail_rules import make_group


@pytest.fixture
def team(mail, service, domain):
    """A published group with one account contact (ann) and an external contact."""
    from exchange_groups.models import GroupMember

    from .conftest import make_account, make_contact

    ann = make_account(service, "ann")
    make_account(service, "dave")
    group = make_group(service, domain, max_receive_size=1, sender_authentication=True)
    GroupMember.objects.create(group=group, account=ann)
    GroupMember.objects.create(group=group, contact=make_contact(service, "friend@partner.com"))
    mail.publish(group)
    return group


@pytest.fixture
def policy(directory):
    server = PolicyServer(("127.0.0.1", 0), Policy(directory.config))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.create_connection(server.server_address, timeout=10) as conn:
        yield Conversation(conn)
    server.shutdown()
    server.server_close()


class Conversation:
    def __init__(self, conn):
        self.conn, self.reader = conn, conn.makefile("rb")

    def ask(self, **attributes) -> str:
        request = {"request": "smtpd_access_policy", "protocol_state": "RCPT", **attributes}
        self.conn.sendall(("".join(f"{k}={v}\n" for k, v in request.items()) + "\n").encode())
        answer = self.reader.readline().decode().rstrip("\n")
        assert self.reader.readline() == b"\n"  # every answer ends with an empty line
        return answer.removeprefix("action=")


def test_policy_answers_each_request_on_one_connection(policy, team):
    outsider = {"sender": "x@outside.example", "instance": "a1"}
    assert policy.ask(recipient="nobody@example.fr", **outsider) == "DUNNO"
    assert policy.ask(recipient="team@example.fr", **outsider).startswith("550 5.7.1 ")
    account = {"sender": "ann@example.fr", "sasl_username": "ann@example.fr", "instance": "a2"}
    assert policy.ask(recipient="team@example.fr", size=str(MEGABYTE), **account) == "DUNNO"
    assert policy.ask(recipient="team@example.fr", size=str(MEGABYTE + 1), **account).startswith(
        "552 5.3.4 "
    )
    # A client that declared no size: the end of the message is checked with its real size.
    assert policy.ask(recipient="team@example.fr", size="0", instance="a3", sender="ann@example.fr",
                      sasl_username="ann@example.fr") == "DUNNO"  # fmt: skip
    end = policy.ask(protocol_state="END-OF-MESSAGE", size=str(2 * MEGABYTE), instance="a3",
                     sender="ann@example.fr", sasl_username="ann@example.fr")  # fmt: skip
    assert end.startswith("552 5.3.4 ")


def test_an_accounts_max_send_size_applies_to_what_it_sends(mail, team):
    mail.directory.modify(
        mail.account_dn("dave@example.fr"),
        [(ldap.MOD_REPLACE, "exgMaxSendSize", [str(10_000).encode()])],
    )
    under = mail.send("friend@partner.com", sender="dave@example.fr", login="dave@example.fr",
                      size=10_000)  # fmt: skip
    assert under.accepted, under.reply
    assert mail.receivers(under.token, []) == {"friend@partner.com"}
    over = mail.send("friend@partner.com", sender="dave@example.fr", login="dave@example.fr",
                     size=10_001)  # fmt: skip
    assert (over.accepted, over.code) == (False, 552)
    assert "maximum send size" in over.reply
    # Another account has no such limit.
    assert mail.send("friend@partner.com", sender="ann@example.fr", login="ann@example.fr",
                     size=10_001).accepted  # fmt: skip


# What a mail client's address book searches for, typed "team": nothing about hidden
# entries; the directory's access rules (deploy/ldap/access.ldif) keep them out of it.
ADDRESS_BOOK = "(|(cn=*{0}*)(mail=*{0}*))"


def test_a_hidden_group_is_left_out_of_the_address_book_and_still_delivered(
    mail, customer, service, domain, accounts
):
    """Through the directory backend: the panel's setting lands in the entry, which an
    address book (bound as the address-book DN) does not see, whatever it searches for."""
    from exchange_groups import platform_sync, services

    platform_sync.publish_accounts(service, accounts)
    for local_part, hidden in (("hidden-team", True), ("shown-team", False)):
        services.create_group(service, user=customer, local_part=local_part, domain=domain,
                              hidden_from_gal=hidden, member_accounts=[accounts[0].pk])  # fmt: skip
    run_all()
    server = mail.directory.server
    book = ldap.initialize(server.ldap_uri)
    book.simple_bind_s(server.address_book_dn, embedded_slapd.ADDRESS_BOOK_PASSWORD)
    found = book.search_s(server.suffix, ldap.SCOPE_SUBTREE, ADDRESS_BOOK.format("team"), ["mail"])
    book.unbind_s()
    assert {entry["mail"][0].decode() for dn, entry in found if dn} == {"shown-team@example.fr"}
    # The panel and the mail server (their own bind DN) still see it.
    assert mail.directory.search("(mail=hidden-team@example.fr)")
    # An anonymous client sees nothing at all, not even that the tree exists.
    anonymous = ldap.initialize(server.ldap_uri)
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        anonymous.search_s(server.suffix, ldap.SCOPE_SUBTREE, "(mail=*team*)")
    sent = mail.send("hidden-team@example.fr")
    assert sent.accepted, sent.reply
    assert mail.receivers(sent.token, [accounts[0].address.email]) == {"user0@example.fr"}
