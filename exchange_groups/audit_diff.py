"""A group's audit trail in words: who changed what, when and through which task, read
from the history tables that exchange_groups/audit.py records (Historique shows it)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from .audit import parse_task_reason
from .group_settings import label, shown
from .models import (
    Account,
    Address,
    Alias,
    Delegation,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
)

GROUP_FIELDS = [
    "display_name",
    "max_receive_size",
    "max_send_size",
    "hidden_from_gal",
    "sender_authentication",
    "state",
    "address",
]


@dataclass
class Entry:
    when: datetime
    author: str
    via: str
    what: str


def _author(record) -> str:
    user = record.history_user
    return user.get_username() if user else _("the platform")


def _via(record) -> str:
    task = parse_task_reason(record.history_change_reason)
    if task:
        return _("task #%(id)s (%(label)s)") % {
            "id": task[0],
            "label": Task.Function(task[1]).label if task[1] in Task.Function.values else "",
        }
    user = record.history_user
    if user and user.is_staff:
        return _("support")
    return _("control panel") if user else "—"


def _group_entries(group) -> list[Entry]:
    records = list(Group.history.filter(id=group.pk).select_related("history_user"))
    records.sort(key=lambda r: r.history_date)
    entries, previous = [], None
    for record in records:
        if record.history_type == "+":
            what = _("Group created")
        elif record.history_type == "-":
            what = _("Group deleted")
        else:
            delta = (
                record.diff_against(previous, included_fields=GROUP_FIELDS) if previous else None
            )
            changes = [
                f"{label(c.field)}: {shown(c.field, c.old)} → {shown(c.field, c.new)}"
                for c in (delta.changes if delta else [])
                if c.field != "address"
            ]
            if delta and any(c.field == "address" for c in delta.changes):
                changes.append(_("address changed"))
            what = (
                _("Settings changed: %(changes)s") % {"changes": "; ".join(changes)}
                if changes
                else _("Saved without change")
            )
        entries.append(Entry(record.history_date, _author(record), _via(record), what))
        previous = record
    return entries


def _part_entries(group) -> list[Entry]:
    parts = [
        (GroupMember, _("Contact added: %(who)s"), _("Contact removed: %(who)s")),
        (GroupManager, _("Administrator added: %(who)s"), _("Administrator removed: %(who)s")),
        (Delegation, _("Right granted: %(who)s"), _("Right removed: %(who)s")),
        (Alias, _("Alias added: %(who)s"), _("Alias removed: %(who)s")),
    ]
    records = []
    for model, added, removed in parts:
        for record in model.history.filter(group_id=group.pk).select_related("history_user"):
            records.append((model, added, removed, record))
    names = _names(records)
    entries = []
    for model, added, removed, record in records:
        who = _who(model, record, names)
        if record.history_type == "+":
            what = added % {"who": who}
        elif record.history_type == "-":
            what = removed % {"who": who}
        elif model is Alias:
            what = _("Alias %(who)s: %(state)s") % {
                "who": who,
                "state": Alias.State(record.state).label,
            }
        else:
            continue
        entries.append(Entry(record.history_date, _author(record), _via(record), what))
    return entries


def _names(records):
    """Addresses of the accounts, contacts and aliases named by the records, in three
    queries (an account deleted since is shown by its number)."""
    ids = {"account": set(), "contact": set(), "address": set()}
    for _model, _a, _r, record in records:
        for key in ids:
            value = getattr(record, f"{key}_id", None)
            if value:
                ids[key].add(value)
    return {
        "account": {
            a.pk: str(a)
            for a in Account.objects.filter(pk__in=ids["account"]).select_related("address__domain")
        },
        "contact": dict(
            ExternalContact.objects.filter(pk__in=ids["contact"]).values_list("pk", "email")
        ),
        "address": {
            a.pk: a.email
            for a in Address.objects.filter(pk__in=ids["address"]).select_related("domain")
        },
    }


def _who(model, record, names) -> str:
    if model is Alias:
        return names["address"].get(record.address_id, _("an alias"))
    if getattr(record, "contact_id", None):
        return names["contact"].get(record.contact_id, _("a deleted contact"))
    label = names["account"].get(record.account_id, _("a deleted account"))
    if model is Delegation:
        return f"{label} ({Delegation.Kind(record.kind).label})"
    return label


def group_trail(group) -> list[Entry]:
    """Every change of the group and of its members, administrators, rights and aliases,
    newest first."""
    entries = _group_entries(group) + _part_entries(group)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
