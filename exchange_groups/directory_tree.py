"""The directory layout (deploy/README.md), in one place: how to reach the directory, the
DN of every entry the panel knows, and how a reader finds a group by any of its addresses.

The directory backend, the account sync, the drift check and the mail policy service all
use this module; none of them builds a DN or a filter of its own.

    <LDAP_BASE_DN>
    └─ ou=<service name>          organizationalUnit (+ domainRelatedObject)
       ├─ ou=accounts   mail=...  inetOrgPerson + exgMailRecipient
       ├─ ou=contacts   mail=...  inetOrgPerson + exgMailRecipient
       └─ ou=groups     mail=...  exgDistributionGroup
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import ldap
from ldap.dn import escape_dn_chars, str2dn
from ldap.filter import escape_filter_chars

ACCOUNTS, CONTACTS, GROUPS = "accounts", "contacts", "groups"
GROUP_CLASS = "exgDistributionGroup"
RECIPIENT_CLASSES = ("inetOrgPerson", "exgMailRecipient")
# The errors that mean "the directory is not there" rather than "it refused this change".
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY)


class DirectoryUnreachable(Exception):
    """The directory did not answer (down, timed out, refused the connection or the bind)."""


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    bind_dn: str
    bind_password: str
    base_dn: str
    start_tls: bool = False
    ca_file: str = ""
    timeout: float = 5.0

    @classmethod
    def from_django(cls) -> "DirectorySettings":
        from django.conf import settings

        return cls(
            url=settings.LDAP_URL,
            bind_dn=settings.LDAP_BIND_DN,
            bind_password=settings.LDAP_BIND_PASSWORD,
            base_dn=settings.LDAP_BASE_DN,
            start_tls=settings.LDAP_START_TLS,
            ca_file=settings.LDAP_CA_FILE,
            timeout=settings.LDAP_TIMEOUT,
        )


def connect(config: DirectorySettings | None = None):
    """A bound connection (python-ldap's LDAPObject). Raises DirectoryUnreachable."""
    config = config or DirectorySettings.from_django()
    try:
        conn = ldap.initialize(config.url)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        # Both the TCP connect and every operation give up after LDAP_TIMEOUT seconds.
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, config.timeout)
        conn.set_option(ldap.OPT_TIMEOUT, config.timeout)
        if config.ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, config.ca_file)
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        if config.start_tls:
            conn.start_tls_s()
        conn.simple_bind_s(config.bind_dn, config.bind_password)
    except (*UNREACHABLE, ldap.INVALID_CREDENTIALS) as exc:
        raise DirectoryUnreachable(_describe(exc)) from exc
    return conn


@contextmanager
def connection(config: DirectorySettings | None = None) -> Iterator:
    """A bound connection for one piece of work, closed after it. Any sign that the
    directory went away during the work is raised as DirectoryUnreachable."""
    conn = connect(config)
    try:
        yield conn
    except UNREACHABLE as exc:
        raise DirectoryUnreachable(_describe(exc)) from exc
    finally:
        with suppress(ldap.LDAPError):
            conn.unbind_s()


def _describe(exc: ldap.LDAPError) -> str:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return f"{info.get('desc', type(exc).__name__)} {info.get('info', '')}".strip()


# --- DNs -------------------------------------------------------------------------------
def base_dn() -> str:
    return DirectorySettings.from_django().base_dn


def service_dn(service_name: str, base: str | None = None) -> str:
    return f"ou={escape_dn_chars(service_name)},{base or base_dn()}"


def folder_dn(service_name: str, folder: str, base: str | None = None) -> str:
    """The ou=accounts / ou=contacts / ou=groups entry of a service."""
    return f"ou={folder},{service_dn(service_name, base)}"


def _mail_dn(service_name: str, folder: str, address: str, base: str | None) -> str:
    return f"mail={escape_dn_chars(address.lower())},{folder_dn(service_name, folder, base)}"


def account_dn(service_name: str, address: str, base: str | None = None) -> str:
    return _mail_dn(service_name, ACCOUNTS, address, base)


def contact_dn(service_name: str, address: str, base: str | None = None) -> str:
    return _mail_dn(service_name, CONTACTS, address, base)


def group_dn(service_name: str, address: str, base: str | None = None) -> str:
    return _mail_dn(service_name, GROUPS, address, base)


def address_of(dn: str) -> str:
    """The address in the RDN of an account, contact or group entry."""
    return str2dn(dn)[0][0][1].lower()


def same_dn(a: str, b: str) -> bool:
    """DNs compared as the directory does (attribute names and addresses ignore case)."""
    norm = lambda dn: [[(t.lower(), v.lower(), f) for t, v, f in rdn] for rdn in str2dn(dn)]  # noqa: E731
    return norm(a) == norm(b)


# --- lookups ------------------------------------------------------------------------------
def group_filter(address: str) -> str:
    """A group by its address or any of its aliases (what the mail server asks too)."""
    a = escape_filter_chars(address)
    return f"(&(objectClass={GROUP_CLASS})(|(mail={a})(mailLocalAddress={a})))"


def find_group(conn, address: str, base: str | None = None, attrs=None):
    """(dn, {attribute: [bytes]}) of the group having this address or alias, or None."""
    found = conn.search_s(
        base or base_dn(), ldap.SCOPE_SUBTREE, group_filter(address), attrlist=attrs
    )
    found = [(dn, entry) for dn, entry in found if dn]
    return found[0] if found else None


def read_entry(conn, dn: str, attrs=None):
    """{attribute: [bytes]} of one entry, or None when it does not exist."""
    try:
        found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", attrlist=attrs)
    except ldap.NO_SUCH_OBJECT:
        return None
    return found[0][1] if found else None


def ensure_service(conn, service_name: str, domains=(), base: str | None = None) -> None:
    """Create the service's subtree (its entry and the three folders) when missing, and
    keep its associatedDomain list equal to `domains`."""
    dn = service_dn(service_name, base)
    domains = sorted({d.lower() for d in domains})
    entry = read_entry(conn, dn, ["associatedDomain"])
    if entry is None:
        attrs = [("objectClass", [b"organizationalUnit"]), ("ou", [service_name.encode()])]
        if domains:
            attrs[0] = ("objectClass", [b"organizationalUnit", b"domainRelatedObject"])
            attrs.append(("associatedDomain", [d.encode() for d in domains]))
        _add_if_missing(conn, dn, attrs)
    elif domains and sorted(v.decode() for v in entry.get("associatedDomain", [])) != domains:
        changes = [(ldap.MOD_REPLACE, "associatedDomain", [d.encode() for d in domains])]
        if not entry.get("associatedDomain"):
            changes.insert(0, (ldap.MOD_ADD, "objectClass", [b"domainRelatedObject"]))
        conn.modify_s(dn, changes)
    for folder in (ACCOUNTS, CONTACTS, GROUPS):
        _add_if_missing(
            conn,
            folder_dn(service_name, folder, base),
            [("objectClass", [b"organizationalUnit"]), ("ou", [folder.encode()])],
        )


def _add_if_missing(conn, dn, attrs) -> None:
    with suppress(ldap.ALREADY_EXISTS):
        conn.add_s(dn, attrs)


def text(entry, attribute: str) -> list[str]:
    """The values of an attribute as text."""
    return [v.decode() for v in entry.get(attribute, [])]
