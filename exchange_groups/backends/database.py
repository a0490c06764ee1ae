"""The built-in backend: the platform's state is the project's own database.

Applying a task is recording it as live (backends/live.py, shared with every backend):
there is no platform beside the panel's rows.

Two settings make the asynchronous behaviour visible and testable: a delay before each
task, and a probability that an item (or a group-level task) fails.
"""

import random
import time

from django.utils.translation import gettext as _

from ..models import Group
from . import live
from .base import BackendError, ProvisioningBackend


class DatabaseBackend(ProvisioningBackend):
    # Members and managers are written from the item rows in SQL: no object per item.
    item_related = ()

    def __init__(self, delay: float = 0.0, failure_rate: float = 0.0):
        self.delay = delay
        self.failure_rate = failure_rate

    # --- simulation ---------------------------------------------------------------------
    def prepare(self, task):
        """The simulated delay, before the engine's transaction: a sleeping task holds no
        lock (on SQLite a transaction holds the database's write lock)."""
        if self.delay > 0:
            time.sleep(self.delay)

    def _fails(self) -> bool:
        return self.failure_rate > 0 and random.random() < self.failure_rate

    def _start(self, task) -> Group:
        """Maybe fail the whole task, and return its group."""
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        return self._group(task)

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
            return {}, items  # unread: live.py writes from the task's item rows in SQL
        failures, ok = {}, []
        for item in items:
            if self._fails():
                failures[item.pk] = str(self.item_failed_message)
            else:
                ok.append(item)
        return failures, ok

    def _items(self, task, items, record):
        group = self._group(task)
        failures, ok = self._split(items)
        record(group, ok)
        return failures

    # --- the group ------------------------------------------------------------------------
    def addDistributionGroup(self, task):
        live.group_created(self._start(task))

    def setDistributionGroup(self, task):
        live.group_changed(self._start(task), task)

    def deleteDistributionGroup(self, task):
        if self._fails():
            raise BackendError(str(self.item_failed_message))
        live.group_deleted(task.group_id)

    # --- members and managers --------------------------------------------------------------
    def addDistributionGroupMember(self, task, items):
        return self._items(task, items, live.members_added)

    def deleteDistributionGroupMember(self, task, items):
        return self._items(task, items, live.members_removed)

    def addDistributionGroupManager(self, task, items):
        return self._items(task, items, live.managers_added)

    def deleteDistributionGroupManager(self, task, items):
        return self._items(task, items, live.managers_removed)

    # --- delegations -------------------------------------------------------------------------
    def grant_delegation(self, task, items, kind):
        group = self._group(task)
        failures, ok = self._split(items)
        failures.update(live.delegation_conflicts(group, ok, kind))
        live.delegations_granted(group, [i for i in ok if i.pk not in failures], kind)
        return failures

    def revoke_delegation(self, task, items, kind):
        return self._items(task, items, lambda group, ok: live.delegations_revoked(group, ok, kind))

    # --- aliases -------------------------------------------------------------------------------
    def addDistributionGroupAlias(self, task, items):
        return self._items(task, items, lambda _group, ok: live.aliases_added(ok))

    def deleteDistributionGroupAlias(self, task, items):
        return self._items(task, items, lambda _group, ok: live.aliases_removed(ok))
