"""Members, administrators (managers) and delegations of a group."""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import (
    Account,
    Delegation,
    ExternalContact,
    Group,
    Task,
)
from ..models import group as group_rules
from .common import (
    DELEGATION_FUNCTIONS,
    Errors,
    Fn,
    expected_delegations,
    expected_managers,
    expected_members,
    item_field_of,
    list_names,
    member_outlook,
    new_task,
    pending_items,
    require_operational,
    send_on_commit,
    service_accounts,
    service_contacts,
)


def add_members(group: Group, *, user, accounts: Iterable = (), contacts: Iterable = ()) -> Task:
    require_operational(group)
    errors = Errors()
    objects = [
        *service_accounts(group.service, accounts, "members", errors),
        *service_contacts(group.service, contacts, "members", errors),
    ]
    if not objects and not errors:
        errors.add("members", _("Choose at least one account or contact."))
    keys = {(item_field_of(o), o.pk) for o in objects}
    members, count = member_outlook(group, keys)
    already = [o for o in objects if (item_field_of(o), o.pk) in members]
    if already:
        errors.add(
            "members",
            ngettext("Already a member: %(names)s.", "Already members: %(names)s.", len(already))
            % {"names": list_names(already)},
        )
    if count + len(objects) - len(already) > group_rules.MAX_MEMBERS:
        errors.add(
            "members",
            _("A group has at most %(max)d members; it would have %(count)d.")
            % {"max": group_rules.MAX_MEMBERS, "count": count + len(objects) - len(already)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, Fn.ADD_MEMBER, user, items=objects)
        send_on_commit(task)
    return task


def remove_members(group: Group, *, user, accounts: Iterable = (), contacts: Iterable = ()) -> Task:
    require_operational(group)
    errors = Errors()
    objects = [
        *service_accounts(group.service, accounts, "members", errors),
        *service_contacts(group.service, contacts, "members", errors),
    ]
    if not objects and not errors:
        errors.add("members", _("Choose at least one account or contact."))
    members, _count = member_outlook(
        group, {(item_field_of(o), o.pk) for o in objects}, counted=False
    )
    absent = [o for o in objects if (item_field_of(o), o.pk) not in members]
    if absent:
        errors.add(
            "members",
            ngettext("Not a member: %(names)s.", "Not members: %(names)s.", len(absent))
            % {"names": list_names(absent)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, Fn.DELETE_MEMBER, user, items=objects)
        send_on_commit(task)
    return task


def add_managers(group: Group, *, user, accounts: Iterable) -> Task:
    require_operational(group)
    errors = Errors()
    objects = service_accounts(group.service, accounts, "managers", errors)
    if not objects and not errors:
        errors.add("managers", _("Choose at least one account."))
    already = [o for o in objects if o.pk in expected_managers(group)]
    if already:
        errors.add(
            "managers",
            ngettext(
                "Already an administrator: %(names)s.",
                "Already administrators: %(names)s.",
                len(already),
            )
            % {"names": list_names(already)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, Fn.ADD_MANAGER, user, items=objects)
        send_on_commit(task)
    return task


def remove_managers(group: Group, *, user, accounts: Iterable) -> Task:
    require_operational(group)
    errors = Errors()
    objects = service_accounts(group.service, accounts, "managers", errors)
    if not objects and not errors:
        errors.add("managers", _("Choose at least one account."))
    expected = expected_managers(group)
    absent = [o for o in objects if o.pk not in expected]
    if absent:
        errors.add(
            "managers",
            ngettext(
                "Not an administrator: %(names)s.", "Not administrators: %(names)s.", len(absent)
            )
            % {"names": list_names(absent)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, Fn.DELETE_MANAGER, user, items=objects)
        send_on_commit(task)
    return task


def add_delegations(group: Group, *, user, kind: str, accounts: Iterable) -> Task:
    """Grant Send As or Send on Behalf. An account holds at most one of the two."""
    require_operational(group)
    add_function, _delete = DELEGATION_FUNCTIONS[Delegation.Kind(kind)]
    errors = Errors()
    objects = service_accounts(group.service, accounts, "accounts", errors)
    if not objects and not errors:
        errors.add("accounts", _("Choose at least one account."))
    rights = expected_delegations(group)
    already = [o for o in objects if rights.get(o.pk) == kind]
    other = [o for o in objects if rights.get(o.pk) not in (None, kind)]
    if already:
        errors.add(
            "accounts",
            _("Already granted to: %(names)s.") % {"names": list_names(already)},
        )
    if other:
        errors.add(
            "accounts",
            _(
                "Send As and Send on Behalf exclude each other; remove the other right "
                "first from: %(names)s."
            )
            % {"names": list_names(other)},
            "delegation_exclusive",
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, add_function, user, items=objects)
        send_on_commit(task)
    return task


def remove_delegations(group: Group, *, user, kind: str, accounts: Iterable) -> Task:
    require_operational(group)
    _add, delete_function = DELEGATION_FUNCTIONS[Delegation.Kind(kind)]
    errors = Errors()
    objects = service_accounts(group.service, accounts, "accounts", errors)
    if not objects and not errors:
        errors.add("accounts", _("Choose at least one account."))
    rights = expected_delegations(group)
    absent = [o for o in objects if rights.get(o.pk) != kind]
    if absent:
        errors.add("accounts", _("Not granted to: %(names)s.") % {"names": list_names(absent)})
    errors.raise_if_any()
    with transaction.atomic():
        task = new_task(group, delete_function, user, items=objects)
        send_on_commit(task)
    return task


def pending_subjects(group: Group, pending=None) -> set[str]:
    """Keys ("account:12", "contact:3") with a member, manager or delegation change still
    pending on this group: the pages disable their boxes ("Tâche en cours"). `pending`:
    the group's pending_items, when the caller has read them."""
    keys = set()
    for function, account_id, contact_id in pending_items(group) if pending is None else pending:
        if account_id:
            keys.add(f"{_family(function)}:account:{account_id}")
        if contact_id:
            keys.add(f"{_family(function)}:contact:{contact_id}")
    return keys


def _family(function: str) -> str:
    if "Manager" in function:
        return "manager"
    if "SendAs" in function or "SendOnBehalf" in function:
        return "delegation"
    return "member"


def change_users(group: Group, *, user, **wanted) -> list[Task]:
    """Make the members and managers what the customer ticked: only the differences with
    today's state (pending changes included) become tasks, removals first."""
    return _tasks_for_plan(group, user, plan_users(group, **wanted))


def plan_users(
    group: Group,
    *,
    member_accounts: Iterable = (),
    member_contacts: Iterable = (),
    manager_accounts: Iterable = (),
) -> list[tuple[str, list]]:
    """The tasks change_users would write: [(function, [account or contact, ...])]."""
    require_operational(group)
    service = group.service
    errors = Errors()
    accounts = service_accounts(service, member_accounts, "members", errors)
    contacts = service_contacts(service, member_contacts, "members", errors)
    managers = service_accounts(service, manager_accounts, "managers", errors)
    wanted = {("account", a.pk) for a in accounts} | {("contact", c.pk) for c in contacts}
    if len(wanted) > group_rules.MAX_MEMBERS:
        errors.add(
            "members",
            _("A group has at most %(max)d members; it would have %(count)d.")
            % {"max": group_rules.MAX_MEMBERS, "count": len(wanted)},
        )
    errors.raise_if_any()
    current = expected_members(group)
    current_managers = expected_managers(group)
    wanted_managers = {a.pk for a in managers}
    plan = [
        (Fn.DELETE_MEMBER, current - wanted),
        (Fn.ADD_MEMBER, wanted - current),
        (Fn.DELETE_MANAGER, {("account", pk) for pk in current_managers - wanted_managers}),
        (Fn.ADD_MANAGER, {("account", pk) for pk in wanted_managers - current_managers}),
    ]
    return _objects_for_plan(group, plan)


def change_delegations(group: Group, *, user, **wanted) -> list[Task]:
    """Make the Send As and Send on Behalf rights what the customer ticked; an account
    holds one of the two at most. Revocations run before grants."""
    return _tasks_for_plan(group, user, plan_delegations(group, **wanted))


def plan_delegations(
    group: Group, *, send_as: Iterable = (), send_on_behalf: Iterable = ()
) -> list[tuple[str, list]]:
    """The tasks change_delegations would write: [(function, [account, ...])]."""
    require_operational(group)
    errors = Errors()
    as_accounts = service_accounts(group.service, send_as, "accounts", errors)
    behalf_accounts = service_accounts(group.service, send_on_behalf, "accounts", errors)
    both = {a.pk for a in as_accounts} & {a.pk for a in behalf_accounts}
    if both:
        errors.add(
            "accounts",
            _("Send As and Send on Behalf exclude each other; choose one right for: %(names)s.")
            % {"names": list_names([a for a in as_accounts if a.pk in both])},
            "delegation_exclusive",
        )
    errors.raise_if_any()
    rights = expected_delegations(group)
    current = {kind: {pk for pk, k in rights.items() if k == kind} for kind in DELEGATION_FUNCTIONS}
    wanted = {
        Delegation.Kind.SEND_AS: {a.pk for a in as_accounts},
        Delegation.Kind.SEND_ON_BEHALF: {a.pk for a in behalf_accounts},
    }
    plan = []
    for kind, (_add, delete) in DELEGATION_FUNCTIONS.items():
        plan.append((delete, {("account", pk) for pk in current[kind] - wanted[kind]}))
    for kind, (add, _delete) in DELEGATION_FUNCTIONS.items():
        plan.append((add, {("account", pk) for pk in wanted[kind] - current[kind]}))
    return _objects_for_plan(group, plan)


def _objects_for_plan(group, plan) -> list[tuple[str, list]]:
    """[(function, {(kind, id)})] -> [(function, [object])] for the non-empty ones."""
    if not any(keys for _function, keys in plan):
        raise ValidationError({NON_FIELD_ERRORS: _("Nothing to change: every box is as it was.")})
    account_ids = {pk for _f, keys in plan for kind, pk in keys if kind == "account"}
    contact_ids = {pk for _f, keys in plan for kind, pk in keys if kind == "contact"}
    objects = {
        ("account", a.pk): a
        for a in Account.objects.filter(service=group.service, pk__in=account_ids).select_related(
            "address__domain"
        )
    }
    objects |= {
        ("contact", c.pk): c
        for c in ExternalContact.objects.filter(service=group.service, pk__in=contact_ids)
    }
    return [(function, [objects[k] for k in sorted(keys)]) for function, keys in plan if keys]


def _tasks_for_plan(group, user, plan) -> list[Task]:
    """One task per function of the plan, in the plan's order, in one transaction."""
    with transaction.atomic():
        tasks = [new_task(group, function, user, items=objects) for function, objects in plan]
        send_on_commit(*tasks)
    return tasks
