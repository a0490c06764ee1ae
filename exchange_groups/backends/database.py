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

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ..audit import record_bulk
from ..models import Address, Alias, Delegation, Group, GroupManager, GroupMember
from .base import BackendError, ProvisioningBackend


class DatabaseBackend(ProvisioningBackend):
    def __init__(self, delay: float = 0.0, failure_rate: float = 0.0):
        self.delay = delay
        self.failure_rate = failure_rate

    @staticmethod
    def _delete(model, queryset):
        """Delete in bulk, with a history row for each object deleted."""
        with transaction.atomic():
            gone = list(queryset)
            record_bulk(model, gone, "-")
            model.objects.filter(pk__in=[obj.pk for obj in gone]).delete()

    # --- simulation ---------------------------------------------------------------------
    def _wait(self):
        if self.delay > 0:
            time.sleep(self.delay)

    def _fails(self) -> bool:
        return self.failure_rate > 0 and random.random() < self.failure_rate

    def _group(self, task) -> Group:
        group = Group.objects.select_related("address").filter(pk=task.group_id).first()
        if group is None:
            raise BackendError(_("The group no longer exists on the platform."))
        return group

    def _split(self, items):
        """Items that (by simulation) fail, as {id: message}, and those to apply."""
        failures, ok = {}, []
        for item in items:
            if self._fails():
                failures[item.pk] = str(self.item_failed_message)
            else:
                ok.append(item)
        return failures, ok

    # --- the group ------------------------------------------------------------------------
    def addDistributionGroup(self, task):  # noqa: N802
        self._wait()
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        group = self._group(task)
        if group.state == Group.State.CREATING:
            group.state = Group.State.OK
            group.save(update_fields=["state", "updated_at"])

    def setDistributionGroup(self, task):  # noqa: N802
        self._wait()
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
        self._wait()
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
        self._wait()
        group = self._group(task)
        failures, ok = self._split(items)
        live = set(group.members.values_list("account_id", "contact_id"))
        new = [
            GroupMember(group=group, account=i.account, contact=i.contact)
            for i in ok
            if (i.account_id, i.contact_id) not in live
        ]
        with transaction.atomic():
            record_bulk(GroupMember, GroupMember.objects.bulk_create(new, batch_size=1000), "+")
        return failures

    def deleteDistributionGroupMember(self, task, items):  # noqa: N802
        self._wait()
        group = self._group(task)
        failures, ok = self._split(items)
        gone = group.members.filter(
            Q(account__in=[i.account_id for i in ok if i.account_id])
            | Q(contact__in=[i.contact_id for i in ok if i.contact_id])
        )
        self._delete(GroupMember, gone)
        return failures

    def addDistributionGroupManager(self, task, items):  # noqa: N802
        self._wait()
        group = self._group(task)
        failures, ok = self._split(items)
        live = set(group.managers.values_list("account_id", flat=True))
        new = [GroupManager(group=group, account=i.account) for i in ok if i.account_id not in live]
        with transaction.atomic():
            record_bulk(GroupManager, GroupManager.objects.bulk_create(new, batch_size=1000), "+")
        return failures

    def deleteDistributionGroupManager(self, task, items):  # noqa: N802
        self._wait()
        group = self._group(task)
        failures, ok = self._split(items)
        self._delete(GroupManager, group.managers.filter(account__in=[i.account_id for i in ok]))
        return failures

    # --- delegations -------------------------------------------------------------------------
    def _grant(self, task, items, kind):
        self._wait()
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
            Delegation(group=group, account=i.account, kind=kind)
            for i in ok
            if i.account_id not in holding_other and i.account_id not in holding
        ]
        with transaction.atomic():
            record_bulk(Delegation, Delegation.objects.bulk_create(new), "+")
        return failures

    def _revoke(self, task, items, kind):
        self._wait()
        group = self._group(task)
        failures, ok = self._split(items)
        gone = group.delegations.filter(kind=kind, account__in=[i.account_id for i in ok])
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
        self._wait()
        self._group(task)
        failures, ok = self._split(items)
        for alias in Alias.objects.filter(
            pk__in=[i.alias_id for i in ok], state=Alias.State.CREATING
        ):
            alias.state = Alias.State.OK
            alias.save(update_fields=["state"])
        return failures

    def deleteDistributionGroupAlias(self, task, items):  # noqa: N802
        self._wait()
        self._group(task)
        failures, ok = self._split(items)
        with transaction.atomic():
            for alias in Alias.objects.filter(pk__in=[i.alias_id for i in ok if i.alias_id]):
                address_id = alias.address_id
                alias.delete()
                Address.objects.filter(pk=address_id).delete()
        return failures
