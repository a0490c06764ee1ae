"""The panel and the platform (the directory) side by side: accounts read from it, and the
drift check that finds what was changed in it behind the panel's back.

- sync_accounts(): the mailboxes of each service's ou=accounts become its Accounts: new
  ones appear, deleted ones are marked gone (kept, so the groups they are in show it),
  names follow the directory. Groups are not touched.
- check_drift(): each operational group without a pending task is compared with its entry;
  every difference is recorded as a Drift row (the group's previous rows replaced).
- publish_accounts(): writes the panel's accounts as mailboxes (demo data, tests).

Called by the management commands `sync_accounts` and `check_drift` and by the periodic
Celery tasks of the same names.
"""

import contextlib
import logging
from collections.abc import Iterable

import ldap
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from . import directory_tree as tree
from .models import (
    Account,
    Address,
    Delegation,
    Drift,
    ExchangeService,
    Group,
    Task,
)

log = logging.getLogger(__name__)

RECIPIENT_ATTRIBUTES = ["mail", "cn", "displayName", "givenName", "sn"]
DELEGATION_SUBJECTS = {
    Delegation.Kind.SEND_AS: Drift.Subject.SEND_AS,
    Delegation.Kind.SEND_ON_BEHALF: Drift.Subject.SEND_ON_BEHALF,
}


# --- accounts ------------------------------------------------------------------------------
def publish_accounts(service: ExchangeService, accounts: Iterable[Account], password=None):
    """Write accounts of the panel to the directory as mailboxes (those already there are
    left as they are). `password`: the userPassword they get (SMTP authentication)."""
    with tree.connection() as conn:
        tree.ensure_service(conn, service.name, service.domains.values_list("name", flat=True))
        for account in accounts:
            attrs = tree.recipient_attributes(
                account.address.email, account.display_name, account.first_name, account.last_name
            )
            if password:
                attrs["userPassword"] = [password.encode()]
            with contextlib.suppress(ldap.ALREADY_EXISTS):
                conn.add_s(
                    tree.account_dn(service.name, account.address.email), list(attrs.items())
                )


def publish_groups(groups) -> int:
    """Write groups live in the panel to the directory, as they are, when their entry is
    missing (the local run's demo data; moving a panel from the built-in platform to a
    directory). Returns how many entries were written."""
    written = 0
    groups = groups.exclude(state=Group.State.CREATING).select_related("address__domain", "service")
    with tree.connection() as conn:
        for group in groups:
            service = group.service.name
            tree.ensure_service(conn, service, group.service.domains.values_list("name", flat=True))
            settings = {f: getattr(group, f) for f in tree.GROUP_SETTING_FIELDS}
            attrs = tree.group_attributes(group.email, settings)
            members = group.members.select_related("account__address__domain", "contact")
            for m in members:
                if m.contact_id:
                    c = m.contact
                    with contextlib.suppress(ldap.ALREADY_EXISTS):
                        conn.add_s(
                            tree.contact_dn(service, c.email),
                            list(tree.recipient_attributes(
                                c.email, c.display_name, c.first_name, c.last_name
                            ).items()),
                        )  # fmt: skip
            attrs["member"] = [
                (tree.contact_dn(service, m.contact.email) if m.contact_id
                 else tree.account_dn(service, m.account.address.email)).encode()
                for m in members
            ]  # fmt: skip
            accounts = {
                "owner": group.managers.all(),
                "exgSendAs": group.delegations.filter(kind=Delegation.Kind.SEND_AS),
                "exgSendOnBehalf": group.delegations.filter(kind=Delegation.Kind.SEND_ON_BEHALF),
            }
            for attribute, rows in accounts.items():
                rows = rows.select_related("account__address__domain")
                attrs[attribute] = [
                    tree.account_dn(service, r.account.address.email).encode() for r in rows
                ]
            attrs["mailLocalAddress"] = [
                str(a).lower().encode() for a in group.aliases.select_related("address__domain")
            ]
            entry = [
                ("objectClass", [tree.GROUP_CLASS.encode()]),
                ("mail", [group.email.lower().encode()]),
                *[(k, v) for k, v in attrs.items() if v],
            ]
            try:
                conn.add_s(tree.group_dn(service, group.email), entry)
                written += 1
            except ldap.ALREADY_EXISTS:
                pass
    return written


def sync_accounts(services: Iterable[ExchangeService] | None = None) -> dict[str, int]:
    counts = {"added": 0, "gone": 0, "back": 0, "updated": 0, "skipped": 0}
    services = list(services if services is not None else ExchangeService.objects.all())
    gone_accounts: list[int] = []
    with tree.connection() as conn:
        for service in services:
            folder = tree.folder_dn(service.name, tree.ACCOUNTS)
            if tree.read_entry(conn, folder, ["1.1"]) is None:
                continue  # the service is not on this platform: nothing to compare
            found = tree.search_all(
                conn, folder, "(objectClass=inetOrgPerson)", RECIPIENT_ATTRIBUTES
            )
            mailboxes = {}
            for dn, entry in found:
                address = (tree.text(entry, "mail") or [tree.address_of(dn)])[0].lower()
                mailboxes[address] = entry
            _sync_service(service, mailboxes, counts, gone_accounts)
    if gone_accounts:
        # Their memberships are flagged at once, not at the next drift check.
        check_drift(Group.objects.filter(members__account__in=gone_accounts).distinct())
    log.info("Account sync: %s", counts)
    return counts


def _names(entry) -> dict[str, str]:
    def one(name):
        values = tree.text(entry, name)
        return values[0] if values else ""

    return {
        "display_name": (one("displayName") or one("cn"))[:256],
        "first_name": one("givenName")[:64],
        "last_name": one("sn")[:64],
    }


def _sync_service(service, mailboxes: dict, counts: dict, gone_accounts: list) -> None:
    accounts = {
        a.address.email.lower(): a
        for a in Account.objects.filter(service=service).select_related("address__domain")
    }
    domains = {d.name.lower(): d for d in service.domains.all()}
    with transaction.atomic():
        for address, entry in mailboxes.items():
            names = _names(entry)
            account = accounts.get(address)
            if account is None:
                local_part, _at, domain_name = address.rpartition("@")
                domain = domains.get(domain_name)
                if domain is None:
                    log.warning("Mailbox %s: its domain is not one of %s", address, service)
                    counts["skipped"] += 1
                    continue
                try:
                    with transaction.atomic():
                        mail = Address.objects.create(
                            domain=domain, local_part=local_part, kind=Address.Kind.ACCOUNT
                        )
                        Account.objects.create(service=service, address=mail, **names)
                except IntegrityError:
                    log.warning("Mailbox %s: the address is used by something else", address)
                    counts["skipped"] += 1
                    continue
                counts["added"] += 1
                continue
            changed = {k: v for k, v in names.items() if v and getattr(account, k) != v}
            if account.state == Account.State.GONE:
                changed["state"] = Account.State.OK
                counts["back"] += 1
            elif changed:
                counts["updated"] += 1
            if changed:
                for field, value in changed.items():
                    setattr(account, field, value)
                account.save(update_fields=list(changed))
        for address, account in accounts.items():
            if address not in mailboxes and account.state != Account.State.GONE:
                account.state = Account.State.GONE
                account.save(update_fields=["state"])
                gone_accounts.append(account.pk)
                counts["gone"] += 1


# --- drift --------------------------------------------------------------------------------
def check_drift(groups=None) -> dict[str, int]:
    """Compare groups (default: all) with the directory; record their differences."""
    groups = (groups if groups is not None else Group.objects.all()).filter(state=Group.State.OK)
    # A group with a task pending is changing: it is compared once the task is done.
    groups = groups.exclude(
        Exists(Task.objects.filter(group=OuterRef("pk"), status__in=Task.PENDING))
    ).select_related("address__domain", "service")
    by_service: dict[int, list[Group]] = {}
    for group in groups:
        by_service.setdefault(group.service_id, []).append(group)
    counts = {"groups": 0, "differences": 0, "groups_differing": 0}
    with tree.connection() as conn:
        for service_groups in by_service.values():
            service = service_groups[0].service
            entries = {}
            found = tree.search_all(
                conn,
                tree.folder_dn(service.name, tree.GROUPS),
                f"(objectClass={tree.GROUP_CLASS})",
            )
            for dn, entry in found:
                entries[tree.address_of(dn)] = entry
            for group in service_groups:
                drifts = differences(group, entries.get(group.email.lower()))
                with transaction.atomic():
                    Drift.objects.filter(group=group).delete()
                    Drift.objects.bulk_create(drifts)
                counts["groups"] += 1
                counts["differences"] += len(drifts)
                counts["groups_differing"] += bool(drifts)
    log.info("Drift check: %s", counts)
    return counts


def _folder(dn: str) -> str:
    """ "accounts" or "contacts": the folder a member DN points into."""
    parts = ldap.dn.str2dn(dn)
    return parts[1][0][1].lower() if len(parts) > 1 else ""


def _addresses(entry, attribute: str, folder: str | None = tree.ACCOUNTS) -> set[str]:
    values = set()
    for dn in tree.text(entry, attribute):
        try:
            if folder is None or _folder(dn) == folder:
                values.add(tree.address_of(dn))
        except ldap.DECODING_ERROR:
            values.add(dn.lower())
    return values


def differences(group: Group, entry) -> list[Drift]:
    """The differences between a group's live rows and its directory entry (None: the
    entry does not exist)."""
    if entry is None:
        return [Drift(group=group, kind=Drift.Kind.GROUP_MISSING, subject=Drift.Subject.GROUP)]
    drifts = []
    platform = tree.group_settings(entry)
    for field in tree.GROUP_SETTING_FIELDS:
        panel_value = getattr(group, field)
        if panel_value != platform[field]:
            drifts.append(
                Drift(
                    group=group,
                    kind=Drift.Kind.SETTING,
                    subject=Drift.Subject.SETTING,
                    name=field,
                    panel_value=_shown(panel_value),
                    platform_value=_shown(platform[field]),
                )
            )

    members = group.members.select_related("account__address__domain", "contact")
    gone = set()
    panel_sets = {
        Drift.Subject.MEMBER: set(),
        Drift.Subject.MANAGER: set(),
        Drift.Subject.SEND_AS: set(),
        Drift.Subject.SEND_ON_BEHALF: set(),
    }
    contact_members = set()
    for m in members:
        if m.contact_id:
            contact_members.add(m.contact.email.lower())
        else:
            panel_sets[Drift.Subject.MEMBER].add(m.account.address.email.lower())
            if m.account.state == Account.State.GONE:
                gone.add((Drift.Subject.MEMBER, m.account.address.email.lower()))
    for m in group.managers.select_related("account__address__domain"):
        panel_sets[Drift.Subject.MANAGER].add(m.account.address.email.lower())
        if m.account.state == Account.State.GONE:
            gone.add((Drift.Subject.MANAGER, m.account.address.email.lower()))
    for d in group.delegations.select_related("account__address__domain"):
        subject = (
            Drift.Subject.SEND_AS
            if d.kind == Delegation.Kind.SEND_AS
            else Drift.Subject.SEND_ON_BEHALF
        )
        panel_sets[subject].add(d.account.address.email.lower())
        if d.account.state == Account.State.GONE:
            gone.add((subject, d.account.address.email.lower()))

    platform_sets = {
        Drift.Subject.MEMBER: _addresses(entry, "member"),
        Drift.Subject.MANAGER: _addresses(entry, "owner"),
        Drift.Subject.SEND_AS: _addresses(entry, "exgSendAs"),
        Drift.Subject.SEND_ON_BEHALF: _addresses(entry, "exgSendOnBehalf"),
    }
    compared = [
        *[(subject, panel_sets[subject], platform_sets[subject]) for subject in panel_sets],
        (Drift.Subject.MEMBER, contact_members, _addresses(entry, "member", tree.CONTACTS)),
        (
            Drift.Subject.ALIAS,
            {a.address.email.lower() for a in group.aliases.select_related("address__domain")},
            {v.lower() for v in tree.text(entry, "mailLocalAddress")},
        ),
    ]
    for subject, panel, on_platform in compared:
        for address in sorted(panel - on_platform):
            drifts.append(
                Drift(group=group, kind=Drift.Kind.MISSING, subject=subject, name=address)
            )
        for address in sorted(on_platform - panel):
            drifts.append(Drift(group=group, kind=Drift.Kind.EXTRA, subject=subject, name=address))
    for subject, address in sorted(gone):
        drifts.append(
            Drift(group=group, kind=Drift.Kind.ACCOUNT_GONE, subject=subject, name=address)
        )
    return drifts


def _shown(value) -> str:
    return "" if value is None else str(value)
