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
from ldap.controls import SimplePagedResultsControl, ValueLessRequestControl
from ldap.dn import escape_dn_chars, str2dn
from ldap.filter import escape_filter_chars

ACCOUNTS, CONTACTS, GROUPS = "accounts", "contacts", "groups"
GROUP_CLASS = "exgDistributionGroup"
RECIPIENT_CLASSES = ("inetOrgPerson", "exgMailRecipient")
# The errors that mean "the directory is not there" rather than "it refused this change".
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY)


# OpenLDAP's permissive modify: adding a value already there, or deleting one already gone,
# succeeds instead of failing the whole modify, so every change can be applied twice.
PERMISSIVE_MODIFY = ValueLessRequestControl("1.2.840.113556.1.4.1413", criticality=True)
MEGABYTE = 1_048_576


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


def normalized(value: str) -> str:
    """A DN or an address as the directory compares them: attribute names and addresses
    ignore case, spaces around separators do not count."""
    try:
        rdns = str2dn(value)
    except ldap.DECODING_ERROR:
        return value.strip().lower()
    if not rdns or not all(len(rdn) == 1 for rdn in rdns):
        return value.strip().lower()
    return ",".join(f"{rdn[0][0].lower()}={rdn[0][1].lower()}" for rdn in rdns)


def same_dn(a: str, b: str) -> bool:
    return normalized(a) == normalized(b)


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


def search_all(conn, base: str, filterstr: str, attrs=None, page_size: int = 1000):
    """Every entry found, in pages, so that a server's size limit (500 by default for
    ordinary bind DNs) never cuts a large service short. Missing base: nothing."""
    page = SimplePagedResultsControl(True, size=page_size, cookie="")
    found = []
    while True:
        try:
            msgid = conn.search_ext(
                base, ldap.SCOPE_SUBTREE, filterstr, attrlist=attrs, serverctrls=[page]
            )
            _type, data, _msgid, controls = conn.result3(msgid)
        except ldap.NO_SUCH_OBJECT:
            return found
        found.extend((dn, entry) for dn, entry in data if dn)
        cookies = [c.cookie for c in controls if c.controlType == page.controlType]
        if not cookies or not cookies[0]:
            return found
        page.cookie = cookies[0]


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


# --- what the entries hold ----------------------------------------------------------------
# The group settings of the panel (Group fields) that a group entry holds.
GROUP_SETTING_FIELDS = (
    "display_name",
    "max_receive_size",
    "max_send_size",
    "join_restriction",
    "depart_restriction",
    "hidden_from_gal",
    "sender_authentication",
)


def group_attributes(address: str, settings: dict) -> dict[str, list[bytes]]:
    """The attributes of a group entry that its settings decide (the GROUP_SETTINGS names
    of the panel), every one present: an empty list means the attribute is absent."""

    def size(mb):
        return [str(int(mb) * MEGABYTE).encode()] if mb else []

    name = (settings.get("display_name") or "").strip()
    return {
        "cn": [(name or address.lower()).encode()],
        "displayName": [name.encode()] if name else [],
        "exgMaxReceiveSize": size(settings.get("max_receive_size")),
        "exgMaxSendSize": size(settings.get("max_send_size")),
        "exgHiddenFromAddressBook": [b"TRUE"] if settings.get("hidden_from_gal") else [],
        "exgSenderAuthenticationRequired": (
            [b"TRUE"] if settings.get("sender_authentication") else []
        ),
        "exgJoinRestriction": [str(settings.get("join_restriction") or "closed").encode()],
        "exgDepartRestriction": [str(settings.get("depart_restriction") or "closed").encode()],
    }


def group_settings(entry) -> dict:
    """The panel's settings as a group entry holds them (the reverse of group_attributes)."""

    def one(name):
        values = text(entry, name)
        return values[0] if values else None

    def size(name):
        value = one(name)
        return -(-int(value) // MEGABYTE) if value else None  # bytes to MB, rounded up

    return {
        "display_name": one("displayName") or "",
        "max_receive_size": size("exgMaxReceiveSize"),
        "max_send_size": size("exgMaxSendSize"),
        "join_restriction": one("exgJoinRestriction") or "closed",
        "depart_restriction": one("exgDepartRestriction") or "closed",
        "hidden_from_gal": (one("exgHiddenFromAddressBook") or "").upper() == "TRUE",
        "sender_authentication": (one("exgSenderAuthenticationRequired") or "").upper() == "TRUE",
    }


def recipient_attributes(
    address: str, display_name: str = "", first_name: str = "", last_name: str = ""
) -> dict[str, list[bytes]]:
    """A new account or external contact entry (inetOrgPerson needs cn and sn)."""
    address = address.lower()
    name = display_name or " ".join(p for p in (first_name, last_name) if p) or address
    attrs = {
        "objectClass": [b"inetOrgPerson", b"exgMailRecipient"],
        "mail": [address.encode()],
        "cn": [name.encode()],
        "sn": [(last_name or name).encode()],
        "displayName": [name.encode()],
    }
    if first_name:
        attrs["givenName"] = [first_name.encode()]
    return attrs
