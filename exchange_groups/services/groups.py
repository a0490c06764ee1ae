"""Creating, changing and deleting groups."""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import (
    Address,
    Domain,
    ExchangeService,
    Group,
    Task,
)
from ..models import group as group_rules
from .common import (
    GROUP_SETTINGS,
    Errors,
    Fn,
    check_address,
    clean_settings,
    json_settings,
    new_task,
    require_operational,
    reserve_address,
    send_on_commit,
    service_accounts,
    service_contacts,
    service_refs,
)


def check_group(service: ExchangeService, *, local_part: str, domain, **settings):
    """The rules of a new group's first step (address and settings), for the wizard to
    show at once. Returns (domain, cleaned settings); raises ValidationError."""
    errors = Errors()
    cleaned = clean_settings(settings, errors, GROUP_SETTINGS)
    domain = check_address(service, local_part, domain, errors)
    errors.raise_if_any()
    return domain, cleaned


def check_members(
    service: ExchangeService,
    *,
    member_accounts: Iterable = (),
    member_contacts: Iterable = (),
    manager_accounts: Iterable = (),
    errors: Errors | None = None,
):
    """The first members and managers of a new group. Returns (accounts, contacts,
    managers); raises ValidationError unless `errors` is given to collect into."""
    own = errors is None
    errors = Errors() if own else errors
    accounts = service_accounts(service, member_accounts, "members", errors)
    contacts = service_contacts(service, member_contacts, "members", errors)
    managers = service_accounts(service, manager_accounts, "managers", errors)
    if len(accounts) + len(contacts) > group_rules.MAX_MEMBERS:
        errors.add(
            "members", _("A group has at most %(max)d members.") % {"max": group_rules.MAX_MEMBERS}
        )
    if own:
        errors.raise_if_any()
    return accounts, contacts, managers


def create_group(
    service: ExchangeService,
    *,
    user,
    local_part: str,
    domain,
    member_accounts: Iterable = (),
    member_contacts: Iterable = (),
    manager_accounts: Iterable = (),
    **settings,
) -> Group:
    """Create a group with its first members and managers: the group appears in state
    creating, and one task per function is sent (group, members, managers). Returns the
    group, carrying those tasks as `new_tasks` (its creation first)."""
    errors = Errors()
    cleaned = clean_settings(settings, errors, GROUP_SETTINGS)
    domain = check_address(service, local_part, domain, errors)
    # Plain (kind, id, address) values: 10,000 members build no model object.
    members = [
        *service_refs(service, member_accounts, "members", errors, "account"),
        *service_refs(service, member_contacts, "members", errors, "contact"),
    ]
    managers = service_refs(service, manager_accounts, "managers", errors, "account")
    if len(members) > group_rules.MAX_MEMBERS:
        errors.add(
            "members", _("A group has at most %(max)d members.") % {"max": group_rules.MAX_MEMBERS}
        )
    errors.raise_if_any()

    with transaction.atomic():
        address = reserve_address(domain, local_part, Address.Kind.GROUP)
        group = Group.objects.create(
            service=service, address=address, state=Group.State.CREATING, **cleaned
        )
        tasks = [new_task(group, Fn.ADD_GROUP, user, params=json_settings(cleaned))]
        if members:
            tasks.append(new_task(group, Fn.ADD_MEMBER, user, refs=members))
        if managers:
            tasks.append(new_task(group, Fn.ADD_MANAGER, user, refs=managers))
        send_on_commit(*tasks)
    group.new_tasks = tasks
    return group


def plan_update(group: Group, *, local_part=None, domain=None, **settings) -> dict:
    """What update_group would change: {field: (today's value, new value)}, "address"
    included. Raises ValidationError for a rule broken or when nothing changes."""
    return _plan(group, local_part, domain, settings)[0]


def _plan(group, local_part, domain, settings):
    require_operational(group)
    errors = Errors()
    current = {field: getattr(group, field) for field in GROUP_SETTINGS}
    cleaned = clean_settings(settings, errors, current)
    changes = {f: (current[f], v) for f, v in cleaned.items() if v != current[f]}
    new_address = None
    if local_part is not None or domain is not None:
        local_part = (group.address.local_part if local_part is None else local_part).strip()
        domain = group.address.domain_id if domain is None else domain
        domain_id = domain.pk if isinstance(domain, Domain) else domain
        same = (
            str(domain_id) == str(group.address.domain_id)
            and local_part.lower() == group.address.local_part.lower()
        )
        if not same:
            new_domain = check_address(group.service, local_part, domain, errors)
            if new_domain is not None:
                changes["address"] = (group.email, f"{local_part}@{new_domain.name}")
                new_address = (local_part, new_domain)
    errors.raise_if_any()
    if not changes:
        raise ValidationError({NON_FIELD_ERRORS: _("Nothing to change: every value is the same.")})
    return changes, new_address


def update_group(group: Group, *, user, local_part=None, domain=None, **settings) -> Task:
    """Change a group's settings, its address included. The rows keep today's values until
    the worker applies the task; a new address is reserved at once."""
    changes, new_address = _plan(group, local_part, domain, settings)
    with transaction.atomic():
        params = {
            "changes": json_settings({f: new for f, (_old, new) in changes.items()}),
            "previous": json_settings({f: old for f, (old, _new) in changes.items()}),
        }
        reserved = None
        if new_address is not None:
            local_part, new_domain = new_address
            reserved = reserve_address(new_domain, local_part, Address.Kind.RESERVED)
        task = new_task(group, Fn.SET_GROUP, user, params=params, reserved_address=reserved)
        send_on_commit(task)
    return task


def delete_group(group: Group, *, user) -> Task:
    require_operational(group)
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        require_operational(locked)
        locked.state = group.state = Group.State.DELETING
        locked.save(update_fields=["state", "updated_at"])
        task = new_task(group, Fn.DELETE_GROUP, user)
        send_on_commit(task)
    return task
