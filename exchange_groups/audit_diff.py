"""A group's audit trail in words: who changed what, when and through which task, read
from the history tables that exchange_groups/audit.py records (Historique shows it)."""

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Value
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


NEWEST = ("-history_date", "-history_id")


def trail_index(group, top: int | None = None):
    """Every entry of the group's trail as (source, history_id, history_date), newest
    first: one UNION ALL of the history tables, so that a page reads its own entries only
    (a group of 10,000 members has 10,000 "contact added" records, which the page used to
    read and word, all of them, to show 30). `top`: only the newest `top` entries are
    wanted, so each table is read that far along its trail index and no further (where
    the database takes a LIMIT in each part of a UNION: PostgreSQL, not SQLite)."""
    limited = top is not None and connection.features.supports_slicing_ordering_in_compound

    def keys(history, source):
        rows = history.annotate(source=Value(source)).values("source", "history_id", "history_date")
        # Unordered otherwise (the history models order themselves): a part of a union may
        # not have its own ORDER BY where it may not have its own LIMIT (SQLite).
        return rows.order_by(*NEWEST)[:top] if limited else rows.order_by()

    parts = []
    for source, (model, _added, _removed) in PARTS.items():
        records = model.history.filter(group_id=group.pk)
        if not getattr(model, "in_trail_when_changed", False):
            records = records.exclude(history_type="~")
        parts.append(keys(records, source))
    return (
        keys(Group.history.filter(id=group.pk), "group").union(*parts, all=True).order_by(*NEWEST)
    )


def trail_page(group, number, per_page: int = 30) -> Page:
    """A page of the group's trail, its entries worded: the count over the trail indexes,
    then the page's entries only."""
    page = Paginator(trail_index(group), per_page).get_page(number)
    top = page.number * per_page
    rows = list(trail_index(group, top=top)[top - per_page : top])
    page.object_list = trail_entries(group, rows)
    return page


def trail_entries(group, index_rows) -> list[Entry]:
    """The entries of these rows of trail_index, in their order: each source's records
    read by id (a few queries whatever the page), a settings change with the record
    before it."""
    wanted: dict[str, list[int]] = {}
    for row in index_rows:
        wanted.setdefault(row["source"], []).append(row["history_id"])
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
    return [found[row["source"], row["history_id"]] for row in index_rows]


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
