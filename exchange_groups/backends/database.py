"""The built-in backend: the platform's state is the project's own database.

Applying a task writes the live rows (members, managers, delegations, aliases, the group
itself). Every write is idempotent: inserts skip rows already there, deletes skip rows
already gone. Writes in bulk are recorded in the audit trail row by row (the engine sets
the author and the reason: the customer who asked, and the task).

Two settings make the asynchronous behaviour visible and testable: a delay before each
task, and a probability that an item (or a group-level task) fails.
"""

import random
import time

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audit import record_bulk, record_rows
from ..models import Address, Alias, Delegation, Group, GroupManager, GroupMember, TaskItem
from .base import BackendError, ProvisioningBackend


class DatabaseBackend(ProvisioningBackend):
    # Members and managers are written from the item rows in SQL: no object per item.
    item_related = ()

    def __init__(self, delay: float = 0.0, failure_rate: float = 0.0):
        self.delay = delay
        self.failure_rate = failure_rate

    @staticmethod
    def _delete(model, queryset):
        """Delete in bulk, with a history row for each row deleted."""
        # One history row each, then one DELETE: a queryset's delete() would load every
        # row and record each a second time through simple-history's signal.
        with transaction.atomic(savepoint=False):
            record_rows(model, queryset, "-")
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
            q = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {q(model._meta.db_table)} WHERE id IN "
                    f"(SELECT * FROM ({sql}) AS gone)",
                    params,
                )

    # --- simulation ---------------------------------------------------------------------
    def prepare(self, task):
        """The simulated delay, before the engine's transaction: a sleeping task holds no
        lock (on SQLite a transaction holds the database's write lock)."""
        if self.delay > 0:
            time.sleep(self.delay)

    def _fails(self) -> bool:
        return self.failure_rate > 0 and random.random() < self.failure_rate

    def _group(self, task) -> Group:
        # The engine read the task with its group: no second query.
        group = task.group if task.group_id and type(task).group.is_cached(task) else None
        if group is None and task.group_id:
            group = Group.objects.select_related("address").filter(pk=task.group_id).first()
        if group is None:
            raise BackendError(_("The group no longer exists on the platform."))
        return group

    def _split(self, items):
        """Items that (by simulation) fail, as {id: message}, and those to apply."""
        if self.failure_rate <= 0:
            return {}, items  # unread: the SQL below takes the task's items itself
        failures, ok = {}, []
        for item in items:
            if self._fails():
                failures[item.pk] = str(self.item_failed_message)
            else:
                ok.append(item)
        return failures, ok

    @staticmethod
    def _insert_missing(model, group, items, columns) -> list[int]:
        """Insert a row of `model` in `group` for each item (its `columns`, e.g. account_id)
        not there yet, straight from the task's item rows; returns the new ids. One
        INSERT ... SELECT ... RETURNING per chunk: applying it twice inserts nothing."""
        q = connection.ops.quote_name
        table, items_table = q(model._meta.db_table), q(TaskItem._meta.db_table)
        absent = " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {table} m WHERE m.group_id = %s AND m.{q(c)} = i.{q(c)})"
            for c in columns
        )
        if isinstance(items, QuerySet):  # all the task's items: a subquery, nothing read
            sql, params = items.order_by().values("pk").query.sql_with_params()
            chunks = [(sql, list(params))]
        else:
            pks = [i.pk for i in items]
            chunks = [
                (", ".join(["%s"] * len(pks[n : n + 5000])), pks[n : n + 5000])
                for n in range(0, len(pks), 5000)
            ]
        ids = []
        with connection.cursor() as cursor:
            for where, params in chunks:
                cursor.execute(
                    f"INSERT INTO {table} (group_id, {', '.join(map(q, columns))}, created_at) "
                    f"SELECT %s, {', '.join(f'i.{q(c)}' for c in columns)}, %s "
                    f"FROM {items_table} i WHERE {absent} AND i.id IN ({where}) RETURNING id",
                    [group.pk, timezone.now(), *[group.pk] * len(columns), *params],
                )
                ids += [row[0] for row in cursor.fetchall()]
        return ids

    @staticmethod
    def _ids(items, field):
        """The items' `field` values: a subquery for the lazy items, else a list."""
        if isinstance(items, QuerySet):
            return items.order_by().filter(**{f"{field}__isnull": False}).values(field)
        return [getattr(i, field) for i in items if getattr(i, field)]

    # --- the group ------------------------------------------------------------------------
    def addDistributionGroup(self, task):  # noqa: N802
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        group = self._group(task)
        if group.state == Group.State.CREATING:
            group.state = Group.State.OK
            group.save(update_fields=["state", "updated_at"])

    def setDistributionGroup(self, task):  # noqa: N802
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        group = self._group(task)
        changes = {k: v for k, v in task.params.get("changes", {}).items() if k != "address"}
        with transaction.atomic():
            for field, value in changes.items():
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

    def deleteDistributionGroup(self, task):  # noqa: N802
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        with transaction.atomic():
            group = Group.objects.filter(pk=task.group_id).first()
            if group is None:
                return  # already deleted: applying twice gives the same result
            address_ids = [group.address_id, *group.aliases.values_list("address_id", flat=True)]
            group.delete()
            Address.objects.filter(pk__in=address_ids).delete()

    # --- members and managers --------------------------------------------------------------
    def addDistributionGroupMember(self, task, items):  # noqa: N802
        group = self._group(task)
        failures, ok = self._split(items)
        # Inside the engine's transaction: no savepoint of its own (a failure rolls the
        # whole outcome back).
        with transaction.atomic(savepoint=False):
            added = self._insert_missing(GroupMember, group, ok, ["account_id", "contact_id"])
            record_rows(GroupMember, added, "+")
        return failures

    def deleteDistributionGroupMember(self, task, items):  # noqa: N802
        group = self._group(task)
        failures, ok = self._split(items)
        gone = group.members.filter(
            Q(account__in=self._ids(ok, "account_id")) | Q(contact__in=self._ids(ok, "contact_id"))
        )
        self._delete(GroupMember, gone)
        return failures

    def addDistributionGroupManager(self, task, items):  # noqa: N802
        group = self._group(task)
        failures, ok = self._split(items)
        with transaction.atomic(savepoint=False):
            added = self._insert_missing(GroupManager, group, ok, ["account_id"])
            record_rows(GroupManager, added, "+")
        return failures

    def deleteDistributionGroupManager(self, task, items):  # noqa: N802
        group = self._group(task)
        failures, ok = self._split(items)
        self._delete(GroupManager, group.managers.filter(account__in=self._ids(ok, "account_id")))
        return failures

    # --- delegations -------------------------------------------------------------------------
    def _grant(self, task, items, kind):
        group = self._group(task)
        failures, ok = self._split(items)
        holding_other = set(
            group.delegations.filter(account__in=[i.account_id for i in ok])
            .exclude(kind=kind)
            .values_list("account_id", flat=True)
        )
        for item in ok:
            if item.account_id in holding_other:
                failures[item.pk] = _(
                    "This account holds the other sending right; Send As and Send on "
                    "Behalf exclude each other."
                )
        holding = set(group.delegations.filter(kind=kind).values_list("account_id", flat=True))
        new = [
            Delegation(group=group, account_id=i.account_id, kind=kind)
            for i in ok
            if i.account_id not in holding_other and i.account_id not in holding
        ]
        with transaction.atomic():
            record_bulk(Delegation, Delegation.objects.bulk_create(new), "+")
        return failures

    def _revoke(self, task, items, kind):
        group = self._group(task)
        failures, ok = self._split(items)
        gone = group.delegations.filter(kind=kind, account__in=self._ids(ok, "account_id"))
        self._delete(Delegation, gone)
        return failures

    def addDistributionGroupSendAs(self, task, items):  # noqa: N802
        return self._grant(task, items, Delegation.Kind.SEND_AS)

    def deleteDistributionGroupSendAs(self, task, items):  # noqa: N802
        return self._revoke(task, items, Delegation.Kind.SEND_AS)

    def addDistributionGroupSendOnBehalfTo(self, task, items):  # noqa: N802
        return self._grant(task, items, Delegation.Kind.SEND_ON_BEHALF)

    def deleteDistributionGroupSendOnBehalfTo(self, task, items):  # noqa: N802
        return self._revoke(task, items, Delegation.Kind.SEND_ON_BEHALF)

    # --- aliases -------------------------------------------------------------------------------
    def addDistributionGroupAlias(self, task, items):  # noqa: N802
        self._group(task)
        failures, ok = self._split(items)
        for alias in Alias.objects.filter(
            pk__in=[i.alias_id for i in ok], state=Alias.State.CREATING
        ):
            alias.state = Alias.State.OK
            alias.save(update_fields=["state"])
        return failures

    def deleteDistributionGroupAlias(self, task, items):  # noqa: N802
        self._group(task)
        failures, ok = self._split(items)
        with transaction.atomic():
            for alias in Alias.objects.filter(pk__in=[i.alias_id for i in ok if i.alias_id]):
                address_id = alias.address_id
                alias.delete()
                Address.objects.filter(pk=address_id).delete()
        return failures
