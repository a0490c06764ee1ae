"""The contract between the task engine and the Exchange platform."""

from abc import ABC, abstractmethod

from django.utils.translation import gettext_lazy as _

from ..models import Delegation


class BackendError(Exception):
    """The platform refused or failed the whole task. The message is shown to the
    customer as the task's error: write it for them."""


class ProvisioningBackend(ABC):
    """One method per task function, named as the function. Every method must be
    idempotent: the engine applies a task again after a worker died or a retry.

    Group-level functions (add/set/delete the group) take the task and raise BackendError
    on failure. Item functions take the task and the items still to apply (a lazy
    queryset of TaskItem: read only if iterated), and return {item id: message} for the
    items that failed (empty when all were applied). The engine calls them inside the
    transaction that records the outcome: use transaction.atomic(savepoint=False).
    """

    item_failed_message = _("The Exchange platform could not apply this change.")
    # What the engine reads with each item, for a backend that uses the objects.
    item_related = ("account__address__domain", "contact", "alias__address__domain")

    def prepare(self, task) -> None:  # noqa: B027 (optional hook, nothing by default)
        """Called before the transaction of the task's outcome opens: slow work that
        writes nothing to the database (waiting, connecting) goes here."""

    # The methods are named as the OVHcloud API's functions (camelCase), which tasks store
    # in Task.function: the engine calls getattr(backend, task.function).
    @abstractmethod
    def addDistributionGroup(self, task):
        """Apply `addDistributionGroup`."""

    @abstractmethod
    def setDistributionGroup(self, task):
        """Apply `setDistributionGroup`."""

    @abstractmethod
    def deleteDistributionGroup(self, task):
        """Apply `deleteDistributionGroup`."""

    @abstractmethod
    def addDistributionGroupMember(self, task, items):
        """Apply `addDistributionGroupMember`."""

    @abstractmethod
    def deleteDistributionGroupMember(self, task, items):
        """Apply `deleteDistributionGroupMember`."""

    @abstractmethod
    def addDistributionGroupManager(self, task, items):
        """Apply `addDistributionGroupManager`."""

    @abstractmethod
    def deleteDistributionGroupManager(self, task, items):
        """Apply `deleteDistributionGroupManager`."""

    # Send As and Send on Behalf are one operation on two kinds of right: a backend
    # implements granting and revoking a right once; the four functions name the kind.
    @abstractmethod
    def grant_delegation(self, task, items, kind):
        """Grant the right `kind` (Delegation.Kind) to the items' accounts."""

    @abstractmethod
    def revoke_delegation(self, task, items, kind):
        """Revoke the right `kind` (Delegation.Kind) from the items' accounts."""

    def addDistributionGroupSendAs(self, task, items):
        return self.grant_delegation(task, items, Delegation.Kind.SEND_AS)

    def deleteDistributionGroupSendAs(self, task, items):
        return self.revoke_delegation(task, items, Delegation.Kind.SEND_AS)

    def addDistributionGroupSendOnBehalfTo(self, task, items):
        return self.grant_delegation(task, items, Delegation.Kind.SEND_ON_BEHALF)

    def deleteDistributionGroupSendOnBehalfTo(self, task, items):
        return self.revoke_delegation(task, items, Delegation.Kind.SEND_ON_BEHALF)

    @abstractmethod
    def addDistributionGroupAlias(self, task, items):
        """Apply `addDistributionGroupAlias`."""

    @abstractmethod
    def deleteDistributionGroupAlias(self, task, items):
        """Apply `deleteDistributionGroupAlias`."""
