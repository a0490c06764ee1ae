"""The directory backend: the platform is an LDAP directory (OpenLDAP), laid out as
exchange_groups/directory_tree.py and deploy/README.md say.

Each method writes the directory, then records in the panel exactly what it applied
(backends/live.py, the record every backend shares). Every write is idempotent: a group
created twice is brought to the same attributes, and values are added or removed with
OpenLDAP's permissive modify (a value already there is no error) and only the values
still there are removed. A
task's values go in one modify, whatever their number; existence checks are one paged
search. An item that cannot be applied (its account was deleted in the directory) fails
alone, with a message for the customer. A directory that does not answer fails the whole
task with "could not be reached": the engine retries it with backoff.

The engine calls each method inside the database transaction that records the task's
outcome, so the directory is written before that transaction commits. A rollback after
the directory took the change (the database lost at commit, a crash) leaves the task
pending, as a crash between the two always could: it is applied again, and the
idempotent writes above bring the directory to the same state before the panel records it.
"""

import logging
import time
from contextlib import contextmanager, suppress

import ldap
from django.utils.translation import gettext as _

from .. import directory_tree as tree
from ..models import Delegation, Group
from . import live
from .base import BackendError, ProvisioningBackend

log = logging.getLogger(__name__)


class DirectoryBackend(ProvisioningBackend):
    def __init__(self, delay: float = 0.0, **_simulation):
        # The built-in backend's failure rate has no meaning here: the directory fails
        # for real. The delay still shows the asynchronous flow in a local run.
        self.delay = delay

    def prepare(self, task):
        """The delay, before the engine's transaction opens: a waiting task holds no lock."""
        if self.delay > 0:
            time.sleep(self.delay)

    # --- the connection -------------------------------------------------------------------
    @contextmanager
    def _directory(self):
        try:
            with tree.connection() as conn:
                yield conn
        except tree.DirectoryUnreachable as exc:
            log.warning("Directory unreachable: %s", exc)
            raise BackendError(_("The platform could not be reached.")) from exc
        except ldap.LDAPError as exc:
            log.exception("The directory refused a change")
            raise BackendError(
                _("The platform refused this change; support has been told.")
            ) from exc

    # --- the group entry ------------------------------------------------------------------
    @staticmethod
    def _group(task) -> Group:
        group = (
            Group.objects.select_related("address__domain", "service")
            .filter(pk=task.group_id)
            .first()
        )
        if group is None:
            raise BackendError(_("The group no longer exists on the platform."))
        return group

    @staticmethod
    def _dn(group: Group, address: str | None = None) -> str:
        return tree.group_dn(group.service.name, address or group.email)

    @staticmethod
    def _settings(group: Group, changes: dict | None = None) -> dict:
        return {f: getattr(group, f) for f in tree.GROUP_SETTING_FIELDS} | (changes or {})

    def addDistributionGroup(self, task):
        group = self._group(task)
        attrs = tree.group_attributes(group.email, self._settings(group))
        with self._directory() as conn:
            domains = group.service.domains.values_list("name", flat=True)
            tree.ensure_service(conn, group.service.name, domains)
            dn = self._dn(group)
            try:
                conn.add_s(
                    dn,
                    [
                        ("objectClass", [tree.GROUP_CLASS.encode()]),
                        ("mail", [group.email.lower().encode()]),
                        *[(name, values) for name, values in attrs.items() if values],
                    ],
                )
            except ldap.ALREADY_EXISTS:
                # Applied before (a retry): bring it to the same settings.
                conn.modify_s(dn, [(ldap.MOD_REPLACE, k, v) for k, v in attrs.items()])
        live.group_created(group)

    def setDistributionGroup(self, task):
        group = self._group(task)
        changes = live.group_changes(task)
        reserved = task.reserved_address
        address = reserved.email if reserved and reserved.pk != group.address_id else group.email
        attrs = tree.group_attributes(address, self._settings(group, changes))
        with self._directory() as conn:
            dn = self._dn(group, address)
            if (
                address != group.email
                and tree.read_entry(conn, self._dn(group), ["1.1"]) is not None
            ):
                # A new address moves the entry: members and everything else stay on it.
                new_rdn = f"mail={ldap.dn.escape_dn_chars(address.lower())}"
                conn.rename_s(self._dn(group), new_rdn, delold=1)
            elif tree.read_entry(conn, dn, ["1.1"]) is None:
                raise BackendError(_("The group no longer exists on the platform."))
            conn.modify_s(dn, [(ldap.MOD_REPLACE, k, v) for k, v in attrs.items()])
        live.group_changed(group, task)

    def deleteDistributionGroup(self, task):
        group = Group.objects.select_related("address__domain", "service").filter(pk=task.group_id)
        group = group.first()
        if group is None:
            return  # already deleted
        # Already gone: deleting twice gives the same result.
        with self._directory() as conn, suppress(ldap.NO_SUCH_OBJECT):
            conn.delete_s(self._dn(group))
        live.group_deleted(group.pk)

    # --- values of the group entry --------------------------------------------------------
    def _apply(self, task, items, attribute, operation, values_of, record, refused=None):
        """Add or remove the items' values of `attribute` in one modify, then record the
        items applied. `values_of(conn, group, items)` returns ({item id: value},
        {item id: message} for the items that cannot be applied)."""
        group = self._group(task)
        failures = dict(refused(group, items)) if refused else {}
        items = [i for i in items if i.pk not in failures]
        with self._directory() as conn:
            dn = self._dn(group)
            entry = tree.read_entry(conn, dn, [attribute])
            if entry is None:
                raise BackendError(_("The group no longer exists on the platform."))
            values, failed = values_of(conn, group, items)
            failures.update(failed)
            wanted = {tree.normalized(v): v.encode() for v in values.values()}
            if operation == ldap.MOD_DELETE:
                # Only the values still there: OpenLDAP's permissive modify covers adding a
                # value twice, not deleting one already gone.
                present = {tree.normalized(v.decode()): v for v in entry.get(attribute, [])}
                wanted = {k: present[k] for k in wanted if k in present}
            if wanted:
                conn.modify_ext_s(
                    dn,
                    [(operation, attribute, sorted(wanted.values()))],
                    serverctrls=[tree.PERMISSIVE_MODIFY],
                )
        record(group, [i for i in items if i.pk not in failures])
        return failures

    @staticmethod
    def _account_dns(conn, group, items, check=True):
        """The DN of each item's account; with `check`, an account without an entry in
        the directory fails (one paged search for the whole task)."""
        service = group.service.name
        existing = None
        if check:
            found = tree.search_all(
                conn, tree.folder_dn(service, tree.ACCOUNTS), "(mail=*)", ["1.1"]
            )
            existing = {tree.address_of(dn) for dn, _entry in found}
        values, failures = {}, {}
        for item in items:
            address = item.account.address.email.lower()
            if existing is not None and address not in existing:
                failures[item.pk] = _(
                    "This mailbox does not exist on the platform (any more): it cannot be added."
                )
            else:
                values[item.pk] = tree.account_dn(service, address)
        return values, failures

    @classmethod
    def _member_dns(cls, conn, group, items, create=True):
        """Accounts and external contacts; a contact's entry is created under ou=contacts
        the first time a group needs it."""
        service = group.service.name
        values, failures = cls._account_dns(
            conn, group, [i for i in items if i.account_id], check=create
        )
        contacts = [i for i in items if i.contact_id]
        if contacts and create:
            found = tree.search_all(
                conn, tree.folder_dn(service, tree.CONTACTS), "(mail=*)", ["1.1"]
            )
            existing = {tree.address_of(dn) for dn, _entry in found}
            if not found:
                tree.ensure_service(
                    conn, service, group.service.domains.values_list("name", flat=True)
                )
            for item in contacts:
                c = item.contact
                if c.email.lower() not in existing:
                    attrs = tree.recipient_attributes(
                        c.email, c.display_name, c.first_name, c.last_name
                    )
                    with suppress(ldap.ALREADY_EXISTS):
                        conn.add_s(tree.contact_dn(service, c.email), list(attrs.items()))
                    existing.add(c.email.lower())
        for item in contacts:
            values[item.pk] = tree.contact_dn(service, item.contact.email)
        if not create:
            # A contact deleted from the service (services.delete_contact): its removal
            # item keeps only its address.
            for item in items:
                if not item.account_id and not item.contact_id:
                    values[item.pk] = tree.contact_dn(service, item.label)
        return values, failures

    @staticmethod
    def _removing(values_of):
        """Removing needs no existence check: a value already gone is no error."""
        return lambda conn, group, items: values_of(conn, group, items, False)

    # --- members and managers -------------------------------------------------------------
    def addDistributionGroupMember(self, task, items):
        return self._apply(
            task, items, "member", ldap.MOD_ADD, self._member_dns, live.members_added
        )

    def deleteDistributionGroupMember(self, task, items):
        return self._apply(
            task,
            items,
            "member",
            ldap.MOD_DELETE,
            self._removing(self._member_dns),
            live.members_removed,
        )

    def addDistributionGroupManager(self, task, items):
        return self._apply(
            task, items, "owner", ldap.MOD_ADD, self._account_dns, live.managers_added
        )

    def deleteDistributionGroupManager(self, task, items):
        return self._apply(
            task,
            items,
            "owner",
            ldap.MOD_DELETE,
            self._removing(self._account_dns),
            live.managers_removed,
        )

    # --- delegations ----------------------------------------------------------------------
    ATTRIBUTES = {
        Delegation.Kind.SEND_AS: "exgSendAs",
        Delegation.Kind.SEND_ON_BEHALF: "exgSendOnBehalf",
    }

    def grant_delegation(self, task, items, kind):
        return self._apply(
            task,
            items,
            self.ATTRIBUTES[kind],
            ldap.MOD_ADD,
            self._account_dns,
            lambda group, ok: live.delegations_granted(group, ok, kind),
            refused=lambda group, items: live.delegation_conflicts(group, items, kind),
        )

    def revoke_delegation(self, task, items, kind):
        return self._apply(
            task,
            items,
            self.ATTRIBUTES[kind],
            ldap.MOD_DELETE,
            self._removing(self._account_dns),
            lambda group, ok: live.delegations_revoked(group, ok, kind),
        )

    # --- aliases --------------------------------------------------------------------------
    @staticmethod
    def _alias_addresses(conn, group, items):
        # An alias found only on the platform (drift repair) has no row: its label is it.
        return {i.pk: (i.alias.address.email if i.alias_id else i.label).lower() for i in items}, {}

    def addDistributionGroupAlias(self, task, items):
        return self._apply(
            task,
            items,
            "mailLocalAddress",
            ldap.MOD_ADD,
            self._alias_addresses,
            lambda _group, ok: live.aliases_added(ok),
        )

    def deleteDistributionGroupAlias(self, task, items):
        return self._apply(
            task,
            items,
            "mailLocalAddress",
            ldap.MOD_DELETE,
            self._alias_addresses,
            lambda _group, ok: live.aliases_removed(ok),
        )
