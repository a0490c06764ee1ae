"""Members, administrators (managers) and delegations of a group."""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import (
    Delegation,
    Group,
    Task,
)
from ..models import group as group_rules
from .common import (
    DELEGATION_FUNCTIONS,
    Errors,
    F,
    _accounts,
    _contacts,
    _item_field,
    _names,
    _new_task,
    _require_operational,
    _send_on_commit,
    expected_delegations,
    expected_managers,
    expected_members,
)


def add_members(group: Group, *, user, accounts: Iterable = (), contacts: Iterable = ()) -> Task:
    _require_operational(group)
    errors = Errors()
    objects = [
        *_accounts(group.service, accounts, "members", errors),
        *_contacts(group.service, contacts, "members", errors),
    ]
    if not objects and not errors:
        errors.add("members", _("Choose at least one account or contact."))
    expected = expected_members(group)
    already = [o for o in objects if (_item_field(o), o.pk) in expected]
    if already:
        errors.add(
            "members",
            ngettext("Already a member: %(names)s.", "Already members: %(names)s.", len(already))
            % {"names": _names(already)},
        )
    if len(expected) + len(objects) > group_rules.MAX_MEMBERS:
        errors.add(
            "members",
            _("A group has at most %(max)d members; it would have %(count)d.")
            % {"max": group_rules.MAX_MEMBERS, "count": len(expected) + len(objects)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, F.ADD_MEMBER, user, items=objects)
        _send_on_commit(task)
    return task


def remove_members(group: Group, *, user, accounts: Iterable = (), contacts: Iterable = ()) -> Task:
    _require_operational(group)
    errors = Errors()
    objects = [
        *_accounts(group.service, accounts, "members", errors),
        *_contacts(group.service, contacts, "members", errors),
    ]
    if not objects and not errors:
        errors.add("members", _("Choose at least one account or contact."))
    expected = expected_members(group)
    absent = [o for o in objects if (_item_field(o), o.pk) not in expected]
    if absent:
        errors.add(
            "members",
            ngettext("Not a member: %(names)s.", "Not members: %(names)s.", len(absent))
            % {"names": _names(absent)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, F.DELETE_MEMBER, user, items=objects)
        _send_on_commit(task)
    return task


def add_managers(group: Group, *, user, accounts: Iterable) -> Task:
    _require_operational(group)
    errors = Errors()
    objects = _accounts(group.service, accounts, "managers", errors)
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
            % {"names": _names(already)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, F.ADD_MANAGER, user, items=objects)
        _send_on_commit(task)
    return task


def remove_managers(group: Group, *, user, accounts: Iterable) -> Task:
    _require_operational(group)
    errors = Errors()
    objects = _accounts(group.service, accounts, "managers", errors)
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
            % {"names": _names(absent)},
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, F.DELETE_MANAGER, user, items=objects)
        _send_on_commit(task)
    return task


def add_delegations(group: Group, *, user, kind: str, accounts: Iterable) -> Task:
    """Grant Send As or Send on Behalf. An account holds at most one of the two."""
    _require_operational(group)
    add_function, _delete = DELEGATION_FUNCTIONS[Delegation.Kind(kind)]
    errors = Errors()
    objects = _accounts(group.service, accounts, "accounts", errors)
    if not objects and not errors:
        errors.add("accounts", _("Choose at least one account."))
    rights = expected_delegations(group)
    already = [o for o in objects if rights.get(o.pk) == kind]
    other = [o for o in objects if rights.get(o.pk) not in (None, kind)]
    if already:
        errors.add(
            "accounts",
            _("Already granted to: %(names)s.") % {"names": _names(already)},
        )
    if other:
        errors.add(
            "accounts",
            _(
                "Send As and Send on Behalf exclude each other; remove the other right "
                "first from: %(names)s."
            )
            % {"names": _names(other)},
            "delegation_exclusive",
        )
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, add_function, user, items=objects)
        _send_on_commit(task)
    return task


def remove_delegations(group: Group, *, user, kind: str, accounts: Iterable) -> Task:
    _require_operational(group)
    _add, delete_function = DELEGATION_FUNCTIONS[Delegation.Kind(kind)]
    errors = Errors()
    objects = _accounts(group.service, accounts, "accounts", errors)
    if not objects and not errors:
        errors.add("accounts", _("Choose at least one account."))
    rights = expected_delegations(group)
    absent = [o for o in objects if rights.get(o.pk) != kind]
    if absent:
        errors.add("accounts", _("Not granted to: %(names)s.") % {"names": _names(absent)})
    errors.raise_if_any()
    with transaction.atomic():
        task = _new_task(group, delete_function, user, items=objects)
        _send_on_commit(task)
    return task
