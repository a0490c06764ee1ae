"""The panel's record of what is live on the platform, shared by every backend.

The rows of groups, members, managers, delegations and aliases say what the platform
holds. A backend first applies a task to its platform (the built-in one has none: these
rows are its platform), then records here exactly what it applied. Every function is
idempotent: recording what is already recorded, or removing what is already gone, changes
nothing. Writes in bulk are recorded in the audit trail row by row.

`items` are TaskItem rows: a list, or the lazy queryset of the task's items (members and
managers are then written straight from the item rows in SQL, none read into Python).
The engine calls a backend inside the transaction that records the task's outcome:
writes here open no savepoint of their own (atomic(savepoint=False)).
"""

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audit import record_bulk, record_rows
from ..models import Address, Alias, Delegation, Group, GroupManager, GroupMember, TaskItem


def _delete(model, queryset) -> None:
    """Delete in bulk, with a history row for each row deleted."""
    # One history row each, then one DELETE: a queryset's delete() would load every row
    # and record each a second time through simple-history's signal.
    # Compiled once for both statements (building it again cost as much as running it).
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with transaction.atomic(savepoint=False):
        record_rows(model, (sql, params), "-")
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {q(model._meta.db_table)} WHERE id IN "
                f"(SELECT * FROM ({sql}) AS gone)",
                params,
            )


def _insert_missing(model, group, items: QuerySet, columns) -> list[int]:
    """Insert a row of `model` in `group` for each task item (its `columns`, e.g.
    account_id) not there yet, straight from the item rows; returns the new ids. One
    INSERT ... SELECT ... RETURNING: applying it twice inserts nothing."""
    q = connection.ops.quote_name
    table, items_table = q(model._meta.db_table), q(TaskItem._meta.db_table)
    absent = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {table} m WHERE m.group_id = %s AND m.{q(c)} = i.{q(c)})"
        for c in columns
    )
    where, params = items.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (group_id, {', '.join(map(q, columns))}, created_at) "
            f"SELECT %s, {', '.join(f'i.{q(c)}' for c in columns)}, %s "
            f"FROM {items_table} i WHERE {absent} AND i.id IN ({where}) RETURNING id",
            [group.pk, timezone.now(), *[group.pk] * len(columns), *params],
        )
        return [row[0] for row in cursor.fetchall()]


def _add_missing(model, group, items, columns) -> None:
    """Record rows of `model` in `group` for the items not there yet, with their history.
    The lazy task items: in SQL; a list (items a backend applied, or a platform drift
    accepted, with no item row): as objects."""
    with transaction.atomic(savepoint=False):
        if isinstance(items, QuerySet):
            record_rows(model, _insert_missing(model, group, items, columns), "+")
            return
        there = set(model.objects.filter(group=group).values_list(*columns))
        new = [
            model(group=group, **{c: getattr(i, c) for c in columns})
            for i in items
            if tuple(getattr(i, c) for c in columns) not in there
        ]
        record_bulk(model, model.objects.bulk_create(new, batch_size=1000), "+")


def _ids(items, field):
    """The items' `field` values: a subquery for the lazy items, else a list."""
    if isinstance(items, QuerySet):
        return items.order_by().filter(**{f"{field}__isnull": False}).values(field)
    return [getattr(i, field) for i in items if getattr(i, field)]


# --- the group --------------------------------------------------------------------------
def group_created(group: Group) -> None:
    if group.state == Group.State.CREATING:
        group.state = Group.State.OK
        group.save(update_fields=["state", "updated_at"])


def group_changes(task) -> dict:
    """The settings a setDistributionGroup task changes (the address is the reserved one)."""
    return {k: v for k, v in task.params.get("changes", {}).items() if k != "address"}


def group_changed(group: Group, task) -> None:
    with transaction.atomic(savepoint=False):
        for field, value in group_changes(task).items():
            setattr(group, field, value)
        reserved = task.reserved_address
        if reserved is not None and group.address_id != reserved.pk:
            old_address_id = group.address_id
            group.address = reserved
            group.save()
            Address.objects.filter(pk=reserved.pk).update(kind=Address.Kind.GROUP)
            Address.objects.filter(pk=old_address_id).delete()
        else:
            group.save()


def group_deleted(group_id: int) -> None:
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        return  # already deleted: applying twice gives the same result
    group.delete_with_addresses()


# --- members and managers ------------------------------------------------------------------
def members_added(group: Group, items) -> None:
    _add_missing(GroupMember, group, items, ["account_id", "contact_id"])


def members_removed(group: Group, items) -> None:
    accounts, contacts = _ids(items, "account_id"), _ids(items, "contact_id")
    if isinstance(accounts, list) and not accounts and not contacts:
        # Items read as objects (not a lazy subquery, which is never evaluated here) that
        # name no account or contact: contacts deleted from the service, whose memberships
        # the panel has already forgotten.
        return
    gone = group.members.filter(Q(account__in=accounts) | Q(contact__in=contacts))
    _delete(GroupMember, gone)


def managers_added(group: Group, items) -> None:
    _add_missing(GroupManager, group, items, ["account_id"])


def managers_removed(group: Group, items) -> None:
    _delete(GroupManager, group.managers.filter(account__in=_ids(items, "account_id")))


# --- delegations ---------------------------------------------------------------------------
def delegation_conflicts(group: Group, items, kind) -> dict[int, str]:
    """{item id: message} for the accounts holding the other right: Send As and Send on
    Behalf exclude each other, so granting one is refused until the other is removed."""
    holding_other = set(
        group.delegations.filter(account__in=[i.account_id for i in items])
        .exclude(kind=kind)
        .values_list("account_id", flat=True)
    )
    message = _(
        "This account holds the other sending right; Send As and Send on Behalf exclude each other."
    )
    return {i.pk: message for i in items if i.account_id in holding_other}


def delegations_granted(group: Group, items, kind) -> None:
    holding = set(group.delegations.values_list("account_id", flat=True))
    new = [
        Delegation(group=group, account_id=i.account_id, kind=kind)
        for i in items
        if i.account_id not in holding
    ]
    with transaction.atomic(savepoint=False):
        record_bulk(Delegation, Delegation.objects.bulk_create(new), "+")


def delegations_revoked(group: Group, items, kind) -> None:
    gone = group.delegations.filter(kind=kind, account__in=_ids(items, "account_id"))
    _delete(Delegation, gone)


# --- aliases ---------------------------------------------------------------------------------
def aliases_added(items) -> None:
    for alias in Alias.objects.filter(
        pk__in=[i.alias_id for i in items], state=Alias.State.CREATING
    ):
        alias.state = Alias.State.OK
        alias.save(update_fields=["state"])


def aliases_removed(items) -> None:
    with transaction.atomic(savepoint=False):
        for alias in Alias.objects.filter(pk__in=[i.alias_id for i in items if i.alias_id]):
            alias.delete_with_address()
