"""A private OpenLDAP server for the tests (controlpanel/embedded_slapd.py): one per xdist
process for the whole session, and the `directory` fixture that gives each test an empty
tree and settings pointing at it, with the directory backend selected.

Without slapd the directory tests are skipped on a developer's machine and FAIL under CI
(CI=true), where nothing may be skipped."""

import ldap
import pytest

from controlpanel import embedded_slapd
from exchange_groups import directory_tree, engine

from .conftest import IN_CI

DIRECTORY_BACKEND = "exchange_groups.backends.directory.DirectoryBackend"


@pytest.fixture(scope="session")
def slapd_server():
    if not embedded_slapd.available():
        if IN_CI:  # nothing is skipped in CI: a missing server is a failure
            pytest.fail(embedded_slapd.INSTALL_HINT)
        pytest.skip(embedded_slapd.INSTALL_HINT)
    server = embedded_slapd.EmbeddedSlapd()
    server.start()
    yield server
    server.stop()


class Directory:
    """The test's view of the directory: plain LDAP reads, as any client makes them."""

    def __init__(self, server):
        self.server = server
        self.config = directory_tree.DirectorySettings(
            url=server.settings["LDAP_URL"],
            bind_dn=server.root_dn,
            bind_password=server.root_pw,
            base_dn=server.suffix,
            timeout=2.0,
        )
        # What a worker process needs to use this directory (worker.start(**directory.env)).
        self.env = {
            **server.settings,
            "LDAP_TIMEOUT": "2",
            "PROVISIONING_BACKEND": DIRECTORY_BACKEND,
        }

    @property
    def base_dn(self) -> str:
        return self.server.suffix

    def entry(self, dn: str) -> dict[str, set[str]] | None:
        """The entry as {attribute: {values as text}} (attribute names as the server
        spells them), or None when it does not exist."""
        with directory_tree.connection(self.config) as conn:
            entry = directory_tree.read_entry(conn, dn)
        if entry is None:
            return None
        return {name: {v.decode() for v in values} for name, values in entry.items()}

    def search(self, filterstr: str, base: str | None = None) -> dict[str, dict]:
        with directory_tree.connection(self.config) as conn:
            found = conn.search_s(base or self.base_dn, ldap.SCOPE_SUBTREE, filterstr)
        return {
            dn: {name: {v.decode() for v in values} for name, values in entry.items()}
            for dn, entry in found
            if dn
        }

    def modify(self, dn: str, changes) -> None:
        with directory_tree.connection(self.config) as conn:
            conn.modify_s(dn, changes)

    def add(self, dn: str, attrs: dict[str, list[str]]) -> None:
        with directory_tree.connection(self.config) as conn:
            conn.add_s(dn, [(k, [v.encode() for v in vs]) for k, vs in attrs.items()])

    def delete(self, dn: str) -> None:
        with directory_tree.connection(self.config) as conn:
            conn.delete_s(dn)

    def expected_group(self, group) -> dict[str, set[str]]:
        """The entry a group must have, built from the panel's live rows (DN values in
        lower case, as compared)."""
        group.refresh_from_db()
        service = group.service.name
        mb = 1_048_576
        expected = {
            "objectClass": {"exgDistributionGroup"},
            "mail": {group.email.lower()},
            "cn": {group.display_name or group.email.lower()},
            "displayName": {group.display_name} if group.display_name else set(),
            "exgMaxReceiveSize": {str(group.max_receive_size * mb)}
            if group.max_receive_size
            else set(),
            "exgMaxSendSize": {str(group.max_send_size * mb)} if group.max_send_size else set(),
            "exgHiddenFromAddressBook": {"TRUE"} if group.hidden_from_gal else set(),
            "exgSenderAuthenticationRequired": {"TRUE"} if group.sender_authentication else set(),
            "exgJoinRestriction": {group.join_restriction},
            "exgDepartRestriction": {group.depart_restriction},
            "member": {
                directory_tree.account_dn(service, m.account.address.email)
                if m.account_id
                else directory_tree.contact_dn(service, m.contact.email)
                for m in group.members.all()
            },
            "owner": {
                directory_tree.account_dn(service, m.account.address.email)
                for m in group.managers.all()
            },
            "exgSendAs": {
                directory_tree.account_dn(service, d.account.address.email)
                for d in group.delegations.filter(kind="send_as")
            },
            "exgSendOnBehalf": {
                directory_tree.account_dn(service, d.account.address.email)
                for d in group.delegations.filter(kind="send_on_behalf")
            },
            "mailLocalAddress": {a.address.email.lower() for a in group.aliases.all()},
        }
        return {k: {v.lower() for v in vs} for k, vs in expected.items() if vs}

    def group_entry(self, group) -> dict[str, set[str]] | None:
        """The group's entry read back with a plain search, values in lower case."""
        dn = directory_tree.group_dn(group.service.name, group.email)
        entry = self.entry(dn)
        return None if entry is None else {k: {v.lower() for v in vs} for k, vs in entry.items()}

    def assert_matches(self, group) -> None:
        """The directory holds exactly what the panel shows, attribute by attribute."""
        expected = self.expected_group(group)
        actual = self.group_entry(group)
        assert actual is not None, f"no entry for {group.email}"
        for attribute in sorted(set(expected) | set(actual)):
            assert actual.get(attribute) == expected.get(attribute), attribute

    def stop_server(self) -> None:
        """Stop slapd, keeping its data (as a crash or a maintenance would)."""
        self.server.terminate()
        self.server.wait()

    def start_server(self) -> None:
        if self.server._proc is None:
            self.server.resume()

    def wipe(self) -> None:
        """Everything below the base entry removed, deepest first (the address book's bind
        entry, made with the server, stays)."""
        with directory_tree.connection(self.config) as conn:
            found = conn.search_s(self.base_dn, ldap.SCOPE_SUBTREE, attrlist=["1.1"])
            kept = (self.base_dn, self.server.address_book_dn)
            dns = [
                dn for dn, _ in found if dn and not any(directory_tree.same_dn(dn, k) for k in kept)
            ]
            for dn in sorted(dns, key=lambda dn: len(ldap.dn.str2dn(dn)), reverse=True):
                conn.delete_s(dn)


@pytest.fixture
def directory(slapd_server, settings):
    """An empty tree on the session's slapd, the panel's settings pointing at it and the
    directory backend selected."""
    d = Directory(slapd_server)
    d.start_server()  # a test before may have stopped it
    d.wipe()
    for name, value in slapd_server.settings.items():
        setattr(settings, name, value)
    settings.LDAP_TIMEOUT = 2.0
    settings.PROVISIONING_BACKEND = DIRECTORY_BACKEND
    settings.PROVISIONING_OPTIONS = {"delay": 0.0}
    engine.get_backend.cache_clear()
    yield d
    d.start_server()
    engine.get_backend.cache_clear()
