"""The panel's record of what is live on the platform, shared by every backend.

The rows of groups, members, managers, delegations and aliases say what the platform
holds. A backend first applies a task to its platform (the built-in one has none: these
rows are its platform), then records here exactly what it applied. Every function is
idempotent: recording what is already recorded, or removing what is already gone, changes
nothing. Writes in bulk are recorded in the audit trail row by row.
"""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ..audit import record_bulk
from ..models import Address, Alias, Delegation, Group, GroupManager, GroupMember


def _delete(model, queryset) -> None:
    """Delete in bulk, with a history row for each object deleted."""
    with transaction.atomic():
        gone = list(queryset)
        record_bulk(model, gone, "-")
        model.objects.filter(pk__in=[obj.pk for obj in gone]).delete()


# --- the group --------------------------------------------------------------------------
def group_created(group: Group) -> None:
    if group.state == Group.State.CREATING:
        group.state = Group.State.OK
        group.save(update_fields=["state", "updated_at"])


def group_changes(task) -> dict:
    """The settings a setDistributionGroup task changes (the address is the reserved one)."""
    return {k: v for k, v in task.params.get("changes", {}).items() if k != "address"}


def group_changed(group: Group, task) -> None:
    with transaction.atomic():
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
    with transaction.atomic():
        group = Group.objects.filter(pk=group_id).first()
        if group is None:
            return  # already deleted: applying twice gives the same result
        address_ids = [group.address_id, *group.aliases.values_list("address_id", flat=True)]
        group.delete()
        Address.objects.filter(pk__in=address_ids).delete()


# --- members and managers ------------------------------------------------------------------
def members_added(group: Group, items) -> None:
    live = set(group.members.values_list("account_id", "contact_id"))
    new = [
        GroupMember(group=group, account_id=i.account_id, contact_id=i.contact_id)
        for i in items
        if (i.account_id, i.contact_id) not in live
    ]
    with transaction.atomic():
        record_bulk(GroupMember, GroupMember.objects.bulk_create(new, batch_size=1000), "+")


def members_removed(group: Group, items) -> None:
    gone = group.members.filter(
        Q(account__in=[i.account_id for i in items if i.account_id])
        | Q(contact__in=[i.contact_id for i in items if i.contact_id])
    )
    _delete(GroupMember, gone)


def managers_added(group: Group, items) -> None:
    live = set(group.managers.values_list("account_id", flat=True))
    new = [
        GroupManager(group=group, account_id=i.account_id)
        for i in items
        if i.account_id not in live
    ]
    with transaction.atomic():
        record_bulk(GroupManager, GroupManager.objects.bulk_create(new, batch_size=1000), "+")


def managers_removed(group: Group, items) -> None:
    _delete(GroupManager, group.managers.filter(account__in=[i.account_id for i in items]))


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
    with transaction.atomic():
        record_bulk(Delegation, Delegation.objects.bulk_create(new), "+")


def delegations_revoked(group: Group, items, kind) -> None:
    gone = group.delegations.filter(kind=kind, account__in=[i.account_id for i in items])
    _delete(Delegation, gone)


# --- aliases ---------------------------------------------------------------------------------
def aliases_added(items) -> None:
    for alias in Alias.objects.filter(
        pk__in=[i.alias_id for i in items], state=Alias.State.CREATING
    ):
        alias.state = Alias.State.OK
        alias.save(update_fields=["state"])


def aliases_removed(items) -> None:
    with transaction.atomic():
        for alias in Alias.objects.filter(pk__in=[i.alias_id for i in items if i.alias_id]):
            address_id = alias.address_id
            alias.delete()
            Address.objects.filter(pk=address_id).delete()
