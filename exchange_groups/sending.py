"""'Test sending' ("Tester l'envoi"): what the mail server would do with a message to a
group (the delivery decision, on the group's facts) and, with the directory platform
running, really sending one through SMTP and finding the mailboxes it landed in.

The facts come from the directory when the directory backend runs (what the mail server
reads) and from the panel's rows with the built-in backend (which is the platform then)."""

import enum
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings

from .delivery import (
    GroupFacts,
    Message,
    Refusal,
    SenderFacts,
    Verdict,
    decide,
    size_in_bytes,
)
from .models import Alias, Delegation, Group


class PlatformUnreachable(Exception):
    """The directory did not answer: nothing can be said about the mail server's verdict."""


class Mode(enum.StrEnum):
    OWN = "own"  # from the sender's own address
    SEND_AS = "send_as"  # envelope and From: the group
    SEND_ON_BEHALF = "send_on_behalf"  # From: the group, Sender: the account


@dataclass(frozen=True)
class SampleMessage:
    sender: str
    authenticated: bool
    size: int  # bytes
    mode: Mode = Mode.OWN

    def as_message(self, group_address: str) -> Message:
        sender = self.sender.lower()
        return Message(
            envelope_sender=group_address if self.mode is Mode.SEND_AS else sender,
            size=self.size,
            login=sender if self.authenticated else None,
            from_header=sender if self.mode is Mode.OWN else group_address,
            sender_header=sender if self.mode is Mode.SEND_ON_BEHALF else None,
        )


def on_directory() -> bool:
    """Whether the platform is the directory (the backend applying the tasks)."""
    from . import engine

    try:
        from .backends.directory import DirectoryBackend
    except ImportError:  # python-ldap (the 'directory' extra) is not installed
        return False
    return isinstance(engine.get_backend(), DirectoryBackend)


def panel_facts(group: Group) -> GroupFacts:
    """The group's facts from the panel's rows (what is live with the built-in backend)."""
    members = group.members.select_related("account__address__domain", "contact")
    delegations = group.delegations.select_related("account__address__domain")

    def rights(kind):
        return frozenset(d.account.address.email.lower() for d in delegations if d.kind == kind)

    aliases = group.aliases.filter(state=Alias.State.OK).select_related("address__domain")
    return GroupFacts(
        address=group.email.lower(),
        aliases=frozenset(alias.address.email.lower() for alias in aliases),
        recipients=tuple(
            sorted(
                (m.account.address.email if m.account else m.contact.email).lower() for m in members
            )  # fmt: skip
        ),
        max_receive_size=size_in_bytes(group.max_receive_size),
        max_send_size=size_in_bytes(group.max_send_size),
        sender_authentication_required=group.sender_authentication,
        send_as=rights(Delegation.Kind.SEND_AS),
        send_on_behalf=rights(Delegation.Kind.SEND_ON_BEHALF),
    )


def simulate(group: Group, test: SampleMessage, account_address: str | None) -> Verdict:
    """The verdict of the mail server's rules. `account_address` is set when the sender is
    an account of the platform. A group the directory does not hold (deleted behind the
    panel's back) is an unknown recipient, as the mail server says."""
    message = test.as_message(group.email.lower())
    if on_directory():
        from . import directory_tree
        from .mail_directory import MailDirectory

        try:
            with directory_tree.connection() as conn:
                directory = MailDirectory(conn, directory_tree.base_dn())
                facts = directory.group(group.email)
                account = directory.account(account_address) if account_address else None
        except directory_tree.DirectoryUnreachable as exc:
            raise PlatformUnreachable(str(exc)) from exc
        if facts is None:
            return Verdict(Refusal.UNKNOWN_RECIPIENT)
    else:
        facts = panel_facts(group)
        account = SenderFacts(account_address.lower()) if account_address else None
    return decide(facts, message, account)


# --- really sending ----------------------------------------------------------------------
@dataclass
class SendResult:
    accepted: bool
    smtp_reply: str = ""
    mailboxes: list[str] = field(default_factory=list)  # where it landed (address)
    relayed: list[str] = field(default_factory=list)  # external contacts: relayed out


def real_sending_available() -> bool:
    return on_directory() and bool(settings.MAIL_SMTP_PORT)


def send_for_real(
    group: Group, test: SampleMessage, password: str, expected: Verdict, wait: float = 8
) -> SendResult:
    """Send a message of the chosen size through the platform's SMTP server, then look for
    it in the Maildirs (<MAIL_MAILDIR_ROOT>/<domain>/<local part>/new)."""
    message = test.as_message(group.email.lower())
    token = uuid.uuid4().hex
    email = EmailMessage()
    email["From"] = message.from_header
    if message.sender_header:
        email["Sender"] = message.sender_header
    email["To"] = group.email
    email["Subject"] = f"Test {token}"
    email["Message-ID"] = f"<{token}@exchange-panel.test>"
    body = "Test message sent from the control panel.\n"
    email.set_content(body)
    padding = test.size - len(email.as_bytes())
    if padding > 0:
        lines = (padding // 77) + 1
        email.set_content(body + ("x" * 76 + "\n") * lines)
    try:
        with smtplib.SMTP(settings.MAIL_SMTP_HOST, settings.MAIL_SMTP_PORT, timeout=10) as smtp:
            if test.authenticated:
                smtp.login(test.sender, password)
            smtp.send_message(email, from_addr=message.envelope_sender, to_addrs=[group.email])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return SendResult(False, f"{code} {text.decode(errors='replace')}")
    except smtplib.SMTPResponseException as exc:
        return SendResult(False, f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}")
    except (smtplib.SMTPException, OSError) as exc:
        return SendResult(False, str(exc))
    from . import directory_tree
    from .mail_directory import MailDirectory

    with directory_tree.connection() as conn:
        directory = MailDirectory(conn, directory_tree.base_dn())
        local = [r for r in expected.recipients if directory.account(r)]
    found = _wait_for(token, local, wait)
    relayed = [r for r in expected.recipients if r not in local]
    return SendResult(True, "250 OK", mailboxes=found, relayed=relayed)


def _maildir(address: str) -> Path:
    local_part, domain = address.rsplit("@", 1)
    return Path(settings.MAIL_MAILDIR_ROOT) / domain / local_part / "new"


def _wait_for(token: str, addresses: list[str], wait: float) -> list[str]:
    deadline = time.monotonic() + wait
    found: list[str] = []
    while True:
        found = [a for a in addresses if _holds(_maildir(a), token)]
        if len(found) == len(addresses) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _holds(folder: Path, token: str) -> bool:
    if not folder.is_dir():
        return False
    needle = f"Message-ID: <{token}@".encode()
    return any(needle in path.read_bytes()[:4096] for path in folder.iterdir())
