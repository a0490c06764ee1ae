"""A private mail server for the tests (controlpanel/embedded_postfix.py): Postfix, Dovecot's
auth service and the project's policy service and milter, on the session's slapd
(tests/slapd.py), one per xdist process, plus a catch-all SMTP sink (aiosmtpd) receiving
what Postfix relays to external contacts. The `mail` fixture gives each test an empty tree,
empty mailboxes and an empty sink.

Without Postfix/Dovecot the mail tests are skipped on a developer's machine and FAIL under
CI (CI=true), where nothing may be skipped."""

import email
import os
import shutil
import smtplib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from controlpanel import embedded_postfix
from exchange_groups import directory_tree

from .conftest import IN_CI

PASSWORD = "Secret-pass-1"


class Sink:
    """aiosmtpd handler keeping each relayed message's recipients and body."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(([r.lower() for r in envelope.rcpt_tos], envelope.content))
        return "250 OK"

    def recipients_of(self, token: str) -> set[str]:
        with self.lock:
            return {r for rcpts, body in self.messages if token.encode() in body for r in rcpts}


@pytest.fixture(scope="session")
def mail_server(slapd_server):
    if not embedded_postfix.available():
        if IN_CI:  # nothing is skipped in CI: a missing server is a failure
            pytest.fail(embedded_postfix.INSTALL_HINT)
        pytest.skip(embedded_postfix.INSTALL_HINT)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=embedded_postfix.free_port())
    controller.start()
    server = embedded_postfix.EmbeddedMailServer(
        slapd_server.settings, relayhost=f"[127.0.0.1]:{controller.port}"
    )
    server.sink = sink
    try:
        server.start()
        yield server
    finally:
        server.stop()
        controller.stop()


@dataclass
class Sent:
    accepted: bool
    code: int = 250
    reply: str = ""
    token: str = ""


@dataclass
class MailPlatform:
    """The test's handle on the mail platform: writes the directory as the layout says,
    sends by SMTP as a mail client does, reads Maildirs and the sink."""

    directory: object
    server: embedded_postfix.EmbeddedMailServer
    service: str = "hosted-mail-1"
    counter: list = field(default_factory=lambda: [0])

    # --- the directory ---------------------------------------------------------------
    def add_service(self, *domains):
        with directory_tree.connection(self.directory.config) as conn:
            directory_tree.ensure_service(conn, self.service, domains, self.directory.base_dn)

    def account_dn(self, address):
        return directory_tree.account_dn(self.service, address, self.directory.base_dn)

    def contact_dn(self, address):
        return directory_tree.contact_dn(self.service, address, self.directory.base_dn)

    def group_dn(self, address):
        return directory_tree.group_dn(self.service, address, self.directory.base_dn)

    def add_account(self, address, max_send_size=None):
        attrs = {
            "objectClass": ["inetOrgPerson", "exgMailRecipient"],
            "mail": [address],
            "cn": [address],
            "sn": [address.split("@")[0]],
            "userPassword": [PASSWORD],
        }
        if max_send_size:
            attrs["exgMaxSendSize"] = [str(max_send_size)]
        self.directory.add(self.account_dn(address), attrs)

    def add_contact(self, address):
        self.directory.add(
            self.contact_dn(address),
            {
                "objectClass": ["inetOrgPerson", "exgMailRecipient"],
                "mail": [address],
                "cn": [address],
                "sn": [address.split("@")[0]],
            },
        )

    def publish(self, group):
        """Write a panel group, its service's accounts and contacts into the directory as
        the layout says (what the directory backend does for the group)."""
        from exchange_groups import platform_sync
        from exchange_groups.sending import panel_facts

        self.service = group.service.name
        accounts = group.service.accounts.select_related("address__domain")
        platform_sync.publish_accounts(group.service, accounts, password=PASSWORD)
        for contact in group.service.external_contacts.all():
            self.add_contact(contact.email)
        facts = panel_facts(group)
        dn_of = {
            **{a.address.email.lower(): self.account_dn(a.address.email)
               for a in group.service.accounts.select_related("address__domain")},
            **{c.email.lower(): self.contact_dn(c.email)
               for c in group.service.external_contacts.all()},
        }  # fmt: skip
        attrs = {
            "objectClass": ["exgDistributionGroup"],
            "mail": [facts.address],
            "cn": [group.display_name or facts.address],
            "member": [dn_of[r] for r in facts.recipients],
            "owner": [self.account_dn(m.account.address.email) for m in group.managers.all()],
            "mailLocalAddress": sorted(facts.aliases),
            "exgSendAs": [dn_of[a] for a in sorted(facts.send_as)],
            "exgSendOnBehalf": [dn_of[a] for a in sorted(facts.send_on_behalf)],
            "exgMaxReceiveSize": [str(facts.max_receive_size)],
            "exgMaxSendSize": [str(facts.max_send_size)],
            "exgSenderAuthenticationRequired": ["TRUE" if group.sender_authentication else "FALSE"],
            "exgHiddenFromAddressBook": ["TRUE" if group.hidden_from_gal else "FALSE"],
        }
        self.directory.add(self.group_dn(facts.address), {k: v for k, v in attrs.items() if v})

    # --- sending ---------------------------------------------------------------------
    def send_test(self, to, test) -> Sent:
        """The message of a "Test sending" case (exchange_groups.sending.SampleMessage)."""
        message = test.as_message(to)
        return self.send(
            to,
            sender=message.envelope_sender,
            login=message.login,
            size=test.size,
            from_header=message.from_header,
            sender_header=message.sender_header,
        )

    def send(
        self,
        to,
        sender="someone@outside.example",
        login=None,
        size=None,
        from_header=None,
        sender_header=None,
    ) -> Sent:
        """One message by SMTP; `size` pads it to exactly that many bytes (what the client
        declares with SIZE=)."""
        self.counter[0] += 1
        token = f"token-{os.getpid()}-{time.monotonic_ns()}-{self.counter[0]}"
        headers = f"From: {from_header or sender}\r\nTo: {to}\r\nSubject: {token}\r\n"
        if sender_header:
            headers += f"Sender: {sender_header}\r\n"
        message = (headers + f"\r\n{token}\r\n").encode()
        if size is not None:
            assert size >= len(message) + 2
            message = message + b"x" * (size - len(message) - 2) + b"\r\n"
            assert len(message) == size
        try:
            with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=30) as smtp:
                if login:
                    smtp.login(login, PASSWORD)
                smtp.sendmail(sender, [to], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return Sent(False, code, reply.decode(), token)
        except smtplib.SMTPResponseException as exc:
            return Sent(False, exc.smtp_code, exc.smtp_error.decode(), token)
        return Sent(True, token=token)

    # --- where it landed -------------------------------------------------------------
    def maildir(self, address) -> Path:
        local_part, domain = address.rsplit("@", 1)
        return self.server.maildir_root / domain / local_part / "new"

    def mailbox_holds(self, address, token) -> bool:
        folder = self.maildir(address)
        return folder.is_dir() and any(
            token in email.message_from_bytes(p.read_bytes()).get("Subject", "")
            for p in folder.iterdir()
        )

    def receivers(self, token, accounts, wait=10.0) -> set[str]:
        """Who received the message: the accounts whose Maildir holds it and the external
        addresses the sink got it for. Waits until `wait` or until nothing changes for a
        while after something arrived (delivery is asynchronous)."""
        deadline = time.monotonic() + wait
        seen: set[str] = set()
        stable_since = None
        while time.monotonic() < deadline:
            now = {a for a in accounts if self.mailbox_holds(a, token)}
            now |= self.server.sink.recipients_of(token)
            if now != seen:
                seen, stable_since = now, time.monotonic()
            elif seen and time.monotonic() - stable_since > 1.0:
                break
            time.sleep(0.05)
        return seen


@pytest.fixture
def mail(directory, mail_server):
    """An empty tree (the `directory` fixture), empty Maildirs and an empty sink."""
    for child in mail_server.maildir_root.iterdir():
        shutil.rmtree(child, ignore_errors=True)
    with mail_server.sink.lock:
        mail_server.sink.messages.clear()
    platform = MailPlatform(directory, mail_server)
    yield platform


__all__ = ["PASSWORD", "MailPlatform", "mail", "mail_server"]
