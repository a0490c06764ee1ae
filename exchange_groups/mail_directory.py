"""The delivery facts of a group or an account, read from the directory as the mail server
sees them (deploy/README.md has the layout). Used by the policy service and by "Test
sending" when the directory backend runs."""

import ldap
from ldap.dn import explode_dn
from ldap.filter import escape_filter_chars

from . import directory_tree
from .delivery import PLATFORM_MAX_SIZE, GroupFacts, SenderFacts

ACCOUNT_FILTER = "(&(objectClass=inetOrgPerson)(objectClass=exgMailRecipient)(mail={0}))"
GROUP_ATTRIBUTES = [
    "mail",
    "mailLocalAddress",
    "member",
    "exgSendAs",
    "exgSendOnBehalf",
    "exgMaxReceiveSize",
    "exgMaxSendSize",
    "exgSenderAuthenticationRequired",
]


def _text(values) -> list[str]:
    return [value.decode() for value in values or ()]


def _size(entry, name) -> int:
    values = _text(entry.get(name))
    return int(values[0]) if values else PLATFORM_MAX_SIZE


def _normal_dn(dn: str) -> str:
    return ",".join(explode_dn(dn.lower()))


class MailDirectory:
    """Reads delivery facts over one bound connection (directory_tree.connection; not
    shared between threads)."""

    def __init__(self, connection, base_dn: str):
        self.connection = connection
        self.base_dn = base_dn

    def _search(self, base, scope, filterstr, attributes):
        return [
            (dn, entry)
            for dn, entry in self.connection.search_s(base, scope, filterstr, attributes)
            if dn is not None
        ]

    def group(self, address: str) -> GroupFacts | None:
        """The group that has `address` as its address or one of its aliases."""
        found = directory_tree.find_group(
            self.connection, address.lower(), self.base_dn, GROUP_ATTRIBUTES
        )
        if found is None:
            return None
        dn, entry = found
        # Members and delegates live in the group's service subtree: one search maps every
        # DN there to its mail, however many members the group has.
        service_dn = ",".join(explode_dn(dn)[2:])
        mails = {
            _normal_dn(entry_dn): _text(recipient.get("mail"))[0]
            for entry_dn, recipient in self._search(
                service_dn, ldap.SCOPE_SUBTREE, "(objectClass=exgMailRecipient)", ["mail"]
            )
            if recipient.get("mail")
        }

        def mails_of(name):
            return [
                mails[_normal_dn(member)].lower()
                for member in _text(entry.get(name))
                if _normal_dn(member) in mails
            ]

        return GroupFacts(
            address=_text(entry["mail"])[0].lower(),
            aliases=frozenset(alias.lower() for alias in _text(entry.get("mailLocalAddress"))),
            recipients=tuple(sorted(mails_of("member"))),
            max_receive_size=_size(entry, "exgMaxReceiveSize"),
            max_send_size=_size(entry, "exgMaxSendSize"),
            sender_authentication_required=_text(entry.get("exgSenderAuthenticationRequired"))
            == ["TRUE"],
            send_as=frozenset(mails_of("exgSendAs")),
            send_on_behalf=frozenset(mails_of("exgSendOnBehalf")),
        )

    def account(self, address: str) -> SenderFacts | None:
        """The mailbox (account) at `address`, if the platform has one."""
        for dn, entry in self._search(
            self.base_dn,
            ldap.SCOPE_SUBTREE,
            ACCOUNT_FILTER.format(escape_filter_chars(address.lower())),
            ["mail", "exgMaxSendSize"],
        ):
            if explode_dn(dn.lower())[1] == f"ou={directory_tree.ACCOUNTS}":
                return SenderFacts(address.lower(), _size(entry, "exgMaxSendSize"))
        return None
