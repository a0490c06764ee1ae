"""The delivery decision: can this message reach this group, and who receives it, or which
setting refuses it. One function, on plain data, used by the mail server's policy service
(facts read from the directory) and by the panel's "Test sending" (facts from the directory
or, with the built-in backend, from the panel's rows), so the two cannot disagree.

The checks run in the order the mail server meets them: the envelope sender (MAIL FROM),
then the recipient (RCPT: authentication, sizes), then the headers (From / Sender)."""

import enum
from dataclasses import dataclass, field

MEGABYTE = 1_048_576
# The platform maximum, and what an absent size means (Postfix's message_size_limit).
PLATFORM_MAX_SIZE = 100 * MEGABYTE


def size_in_bytes(megabytes: int | None) -> int:
    """A size setting as the panel keeps it (MB, empty for the maximum) in bytes."""
    return PLATFORM_MAX_SIZE if megabytes is None else megabytes * MEGABYTE


@dataclass(frozen=True)
class GroupFacts:
    """What the mail server knows of a group. Addresses are lower case."""

    address: str
    aliases: frozenset[str] = frozenset()
    # The mail of each contact (member): who receives.
    recipients: tuple[str, ...] = ()
    max_receive_size: int = PLATFORM_MAX_SIZE
    max_send_size: int = PLATFORM_MAX_SIZE
    sender_authentication_required: bool = False
    send_as: frozenset[str] = frozenset()
    send_on_behalf: frozenset[str] = frozenset()

    @property
    def addresses(self) -> frozenset[str]:
        return self.aliases | {self.address}


@dataclass(frozen=True)
class SenderFacts:
    """An account of the platform that a message comes from, and its own limit."""

    address: str
    max_send_size: int = PLATFORM_MAX_SIZE


@dataclass(frozen=True)
class Message:
    """One message as the mail server sees it. `login` is the account the client
    authenticated as (None: not authenticated); `from_header` and `sender_header` are None
    when not known yet (the RCPT stage) or absent."""

    envelope_sender: str
    size: int
    login: str | None = None
    from_header: str | None = None
    sender_header: str | None = None


class Refusal(enum.Enum):
    """Why a message is refused; each but the first two is one setting of the group or
    account. The SMTP reply code is what the mail server answers."""

    UNKNOWN_RECIPIENT = "unknown_recipient"  # the platform has no such address
    SENDER_NOT_OWNED = "sender_not_owned"
    SENDER_AUTHENTICATION = "sender_authentication"
    MAX_RECEIVE_SIZE = "max_receive_size"
    ACCOUNT_MAX_SEND_SIZE = "account_max_send_size"
    GROUP_MAX_SEND_SIZE = "group_max_send_size"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"

    @property
    def smtp_code(self) -> str:
        if self is Refusal.UNKNOWN_RECIPIENT:
            return "550 5.1.1"  # Postfix's own reply (virtual_mailbox_maps)
        if self in (Refusal.SEND_AS, Refusal.SENDER_NOT_OWNED):
            return "553 5.7.1"  # Postfix's own reply (reject_sender_login_mismatch)
        if self in (Refusal.SENDER_AUTHENTICATION, Refusal.SEND_ON_BEHALF):
            return "550 5.7.1"
        return "552 5.3.4"

    @property
    def smtp_reply(self) -> str:
        return f"{self.smtp_code} {SMTP_TEXT[self]}"


SMTP_TEXT = {
    Refusal.UNKNOWN_RECIPIENT: "Recipient address rejected: User unknown in virtual mailbox table",
    Refusal.SENDER_NOT_OWNED: "Sender address not owned by the authenticated account",
    Refusal.SENDER_AUTHENTICATION: "This group accepts only authenticated senders of the platform",
    Refusal.MAX_RECEIVE_SIZE: "Message larger than the group's maximum receive size",
    Refusal.ACCOUNT_MAX_SEND_SIZE: "Message larger than the sending account's maximum send size",
    Refusal.GROUP_MAX_SEND_SIZE: "Message larger than the group's maximum send size",
    Refusal.SEND_AS: "Not allowed to send as this group (Send As)",
    Refusal.SEND_ON_BEHALF: "Not allowed to send on behalf of this group (Send on Behalf)",
}


@dataclass(frozen=True)
class Verdict:
    refusal: Refusal | None = None
    recipients: tuple[str, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    @property
    def smtp_reply(self) -> str:
        """What the mail server answers when it refuses (the policy service's action)."""
        return self.refusal.smtp_reply if self.refusal else ""


def decide(group: GroupFacts, message: Message, account: SenderFacts | None = None) -> Verdict:
    """Can `message` reach `group`, and who receives it (each contact of the group)?
    `account` is the platform account the message comes from, when there is one: the one
    the client authenticated as, or else the one named as envelope sender."""
    refusal = (
        envelope_refusal(group, message, account)
        or recipient_refusal(group, message, account)
        or header_refusal(group, message)
    )
    if refusal:
        return Verdict(refusal)
    return Verdict(recipients=tuple(sorted(group.recipients)))


def _login(message: Message) -> str | None:
    return message.login.lower() if message.login else None


def envelope_refusal(
    group: GroupFacts, message: Message, account: SenderFacts | None = None
) -> Refusal | None:
    """MAIL FROM: an address of the platform is used only by its owners (the account
    itself; a group's Send As holders); sending as the group, its max send size applies."""
    envelope, login = message.envelope_sender.lower(), _login(message)
    if envelope in group.addresses:
        if login not in group.send_as:
            return Refusal.SEND_AS
        if message.size > group.max_send_size:
            return Refusal.GROUP_MAX_SEND_SIZE
    if account is not None and account.address == envelope and login != envelope:
        return Refusal.SENDER_NOT_OWNED
    return None


def recipient_refusal(
    group: GroupFacts, message: Message, account: SenderFacts | None = None
) -> Refusal | None:
    """RCPT (and the end of the message, for its real size): the group as recipient."""
    if group.sender_authentication_required and _login(message) is None:
        return Refusal.SENDER_AUTHENTICATION
    if message.size > group.max_receive_size:
        return Refusal.MAX_RECEIVE_SIZE
    return account_refusal(account, message)


def account_refusal(account: SenderFacts | None, message: Message) -> Refusal | None:
    """The authenticated account's own max send size, whatever the recipient."""
    login = _login(message)
    if account is not None and account.address == login and message.size > account.max_send_size:
        return Refusal.ACCOUNT_MAX_SEND_SIZE
    return None


def header_refusal(group: GroupFacts, message: Message) -> Refusal | None:
    """The headers, for a message whose From is the group but whose envelope is not:
    Send on Behalf, with Sender the authenticated account holding the right."""
    if message.from_header is None or message.from_header.lower() not in group.addresses:
        return None
    if message.envelope_sender.lower() in group.addresses:
        return None  # Send As, checked on the envelope
    login = _login(message)
    sender_header = (message.sender_header or "").lower()
    if login is None or sender_header != login or login not in group.send_on_behalf:
        return Refusal.SEND_ON_BEHALF
    return None
