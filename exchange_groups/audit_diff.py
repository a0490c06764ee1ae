"""A group's audit trail in words: who changed what, when and through which task, read
from the history tables that exchange_groups/audit.py records (Historique shows it)."""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

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
from .models.expressions import full_address
from .paging import CountlessPage, CountlessPaginator

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


FUNCTION_LABELS = dict(Task.Function.choices)  # lazy: translated when a page words them


def _via(record) -> str:
    task = parse_task_reason(record.history_change_reason)
    if task:
        return _("task #%(id)s (%(label)s)") % {
            "id": task[0],
            "label": FUNCTION_LABELS.get(task[1], ""),
        }
    user = record.history_user
    if user and user.is_staff:
        return _("support")
    return _("control panel") if user else "—"


def _group_entry(record, previous) -> Entry:
    """One record of the group itself, said against the one before it (`previous`)."""
    if record.history_type == "+":
        what = _("Group created")
    elif record.history_type == "-":
        what = _("Group deleted")
    else:
        delta = record.diff_against(previous, included_fields=GROUP_FIELDS) if previous else None
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
    return Entry(record.history_date, _author(record), _via(record), what)


# The parts of a group whose history the trail tells: (model, added, removed). A change
# ("~") of a member, an administrator or a right says nothing; an alias's tells its state.
PARTS = {
    "member": (GroupMember, _lazy("Contact added: %(who)s"), _lazy("Contact removed: %(who)s")),
    "manager": (
        GroupManager,
        _lazy("Administrator added: %(who)s"),
        _lazy("Administrator removed: %(who)s"),
    ),
    "delegation": (Delegation, _lazy("Right granted: %(who)s"), _lazy("Right removed: %(who)s")),
    "alias": (Alias, _lazy("Alias added: %(who)s"), _lazy("Alias removed: %(who)s")),
}


def _part_entry(model, added, removed, record, names) -> Entry:
    who = _who(model, record, names)
    if record.history_type == "+":
        what = added % {"who": who}
    elif record.history_type == "-":
        what = removed % {"who": who}
    else:  # an alias's state
        what = _("Alias %(who)s: %(state)s") % {
            "who": who,
            "state": Alias.State(record.state).label,
        }
    return Entry(record.history_date, _author(record), _via(record), what)


NEWEST = "history_date DESC, history_id DESC"  # the order of the trail indexes


def _trail_parts():
    """(source, model, the column naming the group) of every history table in the trail."""
    parts = [("group", Group, "id")]
    return parts + [(source, model, "group_id") for source, (model, _a, _r) in PARTS.items()]


@functools.cache
def _trail_sql() -> str:
    """The newest entries of a group's trail as (source, history_id, history_date): one
    UNION ALL of the history tables, each giving its newest entries only, read that far
    along its trail index (audit.AuditedHistory) and no further, so that a page reads its
    own entries (a group of 10,000 members has 10,000 "contact added" records, which the
    page used to read and word, all of them, to show 30). Its parameters, for each table:
    the group's id and how many entries.

    Written once per process from the history models: the ORM built and compiled this
    union of five tables twice a page, 5 ms of the page's 25."""
    q = connection.ops.quote_name
    parts = []
    for source, model, column in _trail_parts():
        where = f"{q(column)} = %s"
        if source != "group" and not getattr(model, "in_trail_when_changed", False):
            where += " AND history_type <> '~'"  # as the trail index's condition
        part = (
            f"SELECT '{source}' AS source, history_id, history_date "
            f"FROM {q(model.history.model._meta.db_table)} WHERE {where}"
        )
        parts.append(f"SELECT * FROM ({part} ORDER BY {NEWEST} LIMIT %s) AS {q(source)}")
    return " UNION ALL ".join(parts)


def trail_page(group, number, per_page: int = 30) -> Page:
    """A page of the group's trail, its entries worded, and whether more follow. It is
    not counted: a group of 10,000 members has a trail of 10,000 entries, and counting it
    took longer than reading the page; it is paged by Next and Previous."""
    paginator = CountlessPaginator((), per_page)
    try:
        number = paginator.validate_number(number)
    except (PageNotAnInteger, EmptyPage):
        number = 1
    top = number * per_page + 1  # the page's entries and one more, from each table
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_trail_sql()} ORDER BY {NEWEST} LIMIT %s OFFSET %s",
            [group.pk, top] * len(_trail_parts()) + [per_page + 1, top - per_page - 1],
        )
        rows = [(source, history_id) for source, history_id, _when in cursor.fetchall()]
    if not rows and number > 1:  # past the end (a bookmark of a longer trail)
        return trail_page(group, 1, per_page)
    entries = trail_entries(group, rows[:per_page])
    return CountlessPage(entries, number, paginator, more=len(rows) > per_page)


def trail_entries(group, index_rows) -> list[Entry]:
    """The entries of these (source, history_id) rows of the trail, in their order: each
    source's records read by id (a few queries whatever the page), a settings change with
    the record before it."""
    wanted: dict[str, list[int]] = {}
    for source, history_id in index_rows:
        wanted.setdefault(source, []).append(history_id)
    found = {}
    if wanted.get("group"):
        records = Group.history.filter(history_id__in=wanted["group"]).select_related(
            "history_user"
        )
        for record in records:
            previous = record.prev_record if record.history_type == "~" else None
            found["group", record.history_id] = _group_entry(record, previous)
    part_records = [
        (model, added, removed, record)
        for source, (model, added, removed) in PARTS.items()
        if wanted.get(source)
        for record in model.history.filter(history_id__in=wanted[source]).select_related(
            "history_user"
        )
    ]
    names = _names(part_records)
    sources = {model: source for source, (model, _a, _r) in PARTS.items()}
    for model, added, removed, record in part_records:
        entry = _part_entry(model, added, removed, record, names)
        found[sources[model], record.history_id] = entry
    return [found[row] for row in index_rows]


def _names(records):
    """Addresses of the accounts, contacts and aliases named by the records, in three
    queries (an account deleted since is shown by its number)."""
    ids = {"account": set(), "contact": set(), "address": set()}
    for _model, _a, _r, record in records:
        for key in ids:
            value = getattr(record, f"{key}_id", None)
            if value:
                ids[key].add(value)
    # Read as plain values: a page names up to 30 of them, built as objects with their
    # address and domain (90 of them) they were a sixth of the page.
    accounts = Account.objects.filter(pk__in=ids["account"]).annotate(name=full_address())
    addresses = Address.objects.filter(pk__in=ids["address"]).annotate(name=full_address(""))
    contacts = ExternalContact.objects.filter(pk__in=ids["contact"])
    return {
        "account": dict(accounts.values_list("pk", "name")),
        "contact": dict(contacts.values_list("pk", "email")),
        "address": dict(addresses.values_list("pk", "name")),
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
