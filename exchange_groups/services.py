"""Service functions: every change a customer or a support agent asks for goes through here.

Each function checks its rules first. On a violation it raises a ValidationError keyed by
the form field the rule concerns (NON_FIELD_ERRORS for the object as a whole), having
written nothing. Otherwise it writes its rows and its tasks in one transaction, one task
per function carrying all of its items, and sends the tasks to the workers once the
transaction has committed. Views, the admin and the API call these and nothing else to
change data.
"""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import engine
from .models import (
    Account,
    Address,
    Alias,
    Delegation,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    Task,
    TaskItem,
)
from .models.directory import LOCAL_PART_MAX_LENGTH, LOCAL_PART_RE
from .models.group import MAX_ALIASES, MAX_MEMBERS, MAX_SIZE_MB

ADDRESS_TAKEN = "address_taken"

# Settings a customer may change on a group, and their defaults.
GROUP_SETTINGS = {
    "display_name": "",
    "max_receive_size": None,
    "max_send_size": None,
    "join_restriction": Group.JoinRestriction.CLOSED,
    "depart_restriction": Group.DepartRestriction.CLOSED,
    "hidden_from_gal": False,
    "sender_authentication": False,
}

F = Task.Function
DELEGATION_FUNCTIONS = {
    Delegation.Kind.SEND_AS: (F.ADD_SEND_AS, F.DELETE_SEND_AS),
    Delegation.Kind.SEND_ON_BEHALF: (F.ADD_SEND_ON_BEHALF, F.DELETE_SEND_ON_BEHALF),
}


class Errors(dict):
    """Field name -> messages, raised together so that a form shows them all at once."""

    def add(self, field, message, code=None):
        self.setdefault(field, []).append(ValidationError(message, code=code))

    def raise_if_any(self):
        if self:
            raise ValidationError(dict(self))


# --- Addresses --------------------------------------------------------------------------


def check_address(service: ExchangeService, local_part: str, domain, errors: Errors | None = None):
    """Check a new address of the service: pattern, length, domain, and that it is free.

    Returns the Domain. Raises ValidationError unless `errors` is given to collect into.
    """
    own = errors is None
    errors = Errors() if own else errors
    local_part = (local_part or "").strip()
    if not local_part:
        errors.add("local_part", _("Enter the part of the address before the “@”."))
    elif len(local_part) > LOCAL_PART_MAX_LENGTH:
        errors.add(
            "local_part",
            _("At most %(max)d characters (it has %(length)d).")
            % {"max": LOCAL_PART_MAX_LENGTH, "length": len(local_part)},
        )
    elif not LOCAL_PART_RE.match(local_part):
        errors.add(
            "local_part",
            _(
                "Use letters, digits, “-” and “_”, with a single “.” or “+” between them "
                "(not at the start or the end)."
            ),
        )
    domain_obj = _service_domain(service, domain, errors)
    if (
        domain_obj is not None
        and "local_part" not in errors
        and Address.objects.filter(local_part__iexact=local_part, domain=domain_obj).exists()
    ):
        errors.add("local_part", _("This address is already used on the platform."), ADDRESS_TAKEN)
    if own:
        errors.raise_if_any()
    return domain_obj


def _service_domain(service, domain, errors) -> Domain | None:
    domain_id = domain.pk if isinstance(domain, Domain) else domain
    found = service.domains.filter(pk=domain_id).first() if domain_id not in (None, "") else None
    if found is None:
        errors.add("domain", _("Choose one of this service's domains."))
    elif not found.is_usable:
        errors.add("domain", _("This domain is not ready yet: choose a domain in state OK."))
        return None
    return found


def _reserve_address(domain: Domain, local_part: str, kind: str) -> Address:
    """Take the address on the platform. The unique constraint decides between racing
    requests: the loser gets the same message as if it had been taken long before."""
    try:
        with transaction.atomic():
            return Address.objects.create(domain=domain, local_part=local_part.strip(), kind=kind)
    except IntegrityError:
        raise ValidationError(
            {
                "local_part": ValidationError(
                    _("This address is already used on the platform."), code=ADDRESS_TAKEN
                )
            }
        ) from None


# --- Group settings ---------------------------------------------------------------------


def _clean_settings(values: dict, errors: Errors, defaults: dict) -> dict:
    """Validate the group settings present in `values`; absent ones keep `defaults`."""
    unknown = set(values) - set(GROUP_SETTINGS)
    if unknown:
        raise TypeError(f"unknown group settings: {', '.join(sorted(unknown))}")
    cleaned = dict(defaults)
    cleaned.update(values)

    name = cleaned["display_name"] = (cleaned["display_name"] or "").strip()
    if len(name) > 256:
        errors.add("display_name", _("At most 256 characters."))

    for field in ("max_receive_size", "max_send_size"):
        size = cleaned[field]
        if size in (None, ""):
            cleaned[field] = None
            continue
        try:
            size = int(size)
        except (TypeError, ValueError):
            size = None
        if size is None or not 1 <= size <= MAX_SIZE_MB:
            errors.add(
                field,
                _("Enter a size from 1 to %(max)d MB, or choose the maximum value.")
                % {"max": MAX_SIZE_MB},
            )
        cleaned[field] = size

    # The provider has locked subscription management for security: only "closed".
    locked = _("Disabled by the provider for security reasons: only “closed” is possible.")
    if cleaned["join_restriction"] != Group.JoinRestriction.CLOSED:
        errors.add("join_restriction", locked)
    if cleaned["depart_restriction"] != Group.DepartRestriction.CLOSED:
        errors.add("depart_restriction", locked)

    for field in ("hidden_from_gal", "sender_authentication"):
        cleaned[field] = bool(cleaned[field])
    return cleaned


def _require_operational(group: Group):
    if not group.is_operational:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: ValidationError(
                    _("The group %(group)s is not operational: wait until its state is OK.")
                    % {"group": group.email},
                    code="not_operational",
                )
            }
        )


# --- Members, managers and delegations: what is requested and what is expected ---------


def _resolve(queryset, ids: Iterable, field: str, errors: Errors, unknown_message: str):
    """The objects of `queryset` (already scoped to the service) with these ids."""
    try:
        wanted = {int(pk) for pk in ids}
    except (TypeError, ValueError):
        errors.add(field, unknown_message)
        return []
    found = list(queryset.filter(pk__in=wanted)) if wanted else []
    if len(found) != len(wanted):
        errors.add(field, unknown_message)
    return found


def _accounts(service, ids, field, errors):
    return _resolve(
        Account.objects.filter(service=service).select_related("address__domain"),
        ids,
        field,
        errors,
        _("Choose accounts of this service."),
    )


def _contacts(service, ids, field, errors):
    return _resolve(
        ExternalContact.objects.filter(service=service),
        ids,
        field,
        errors,
        _("Choose external contacts of this service."),
    )


def _pending_items(group, function):
    return TaskItem.objects.filter(
        task__group=group, task__function=function, task__status__in=Task.PENDING
    ).exclude(status=TaskItem.Status.DONE)


def expected_members(group: Group) -> set[tuple[str, int]]:
    """Members once the pending tasks are applied: ("account", id) and ("contact", id)."""
    live = {
        ("account", a) if a else ("contact", c)
        for a, c in group.members.values_list("account_id", "contact_id")
    }
    for function, change in ((F.ADD_MEMBER, set.add), (F.DELETE_MEMBER, set.discard)):
        for a, c in _pending_items(group, function).values_list("account_id", "contact_id"):
            change(live, ("account", a) if a else ("contact", c))
    return live


def expected_managers(group: Group) -> set[int]:
    live = set(group.managers.values_list("account_id", flat=True))
    live |= set(_pending_items(group, F.ADD_MANAGER).values_list("account_id", flat=True))
    live -= set(_pending_items(group, F.DELETE_MANAGER).values_list("account_id", flat=True))
    return live


def expected_delegations(group: Group) -> dict[int, str]:
    """Account id -> right, once the pending tasks are applied."""
    rights = dict(group.delegations.values_list("account_id", "kind"))
    for kind, (add, delete) in DELEGATION_FUNCTIONS.items():
        for account_id in _pending_items(group, delete).values_list("account_id", flat=True):
            rights.pop(account_id, None)
        for account_id in _pending_items(group, add).values_list("account_id", flat=True):
            rights[account_id] = kind
    return rights


def _names(objects) -> str:
    names = [str(o) for o in objects]
    shown = ", ".join(names[:5])
    return shown + (_(" and %(count)d more") % {"count": len(names) - 5} if len(names) > 5 else "")


# --- Tasks --------------------------------------------------------------------------------


def _new_task(group, function, user, *, params=None, items=(), reserved_address=None) -> Task:
    task = Task.objects.create(
        service_id=group.service_id,
        group=group,
        object_label=group.email,
        function=function,
        params=params or {},
        requested_by=user if user and user.is_authenticated else None,
        reserved_address=reserved_address,
        enqueued_at=timezone.now(),
    )
    TaskItem.objects.bulk_create(
        [
            TaskItem(
                task=task,
                label=str(obj),
                **{_item_field(obj): obj},
            )
            for obj in items
        ],
        batch_size=1000,
    )
    return task


def _item_field(obj) -> str:
    if isinstance(obj, Account):
        return "account"
    if isinstance(obj, ExternalContact):
        return "contact"
    return "alias"


def _send_on_commit(*tasks: Task):
    ids = [t.pk for t in tasks]
    transaction.on_commit(lambda: engine.enqueue(ids))


# --- Groups -------------------------------------------------------------------------------


def check_group(service: ExchangeService, *, local_part: str, domain, **settings):
    """The rules of a new group's first step (address and settings), for the wizard to
    show at once. Returns (domain, cleaned settings); raises ValidationError."""
    errors = Errors()
    cleaned = _clean_settings(settings, errors, GROUP_SETTINGS)
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
    accounts = _accounts(service, member_accounts, "members", errors)
    contacts = _contacts(service, member_contacts, "members", errors)
    managers = _accounts(service, manager_accounts, "managers", errors)
    if len(accounts) + len(contacts) > MAX_MEMBERS:
        errors.add("members", _("A group has at most %(max)d members.") % {"max": MAX_MEMBERS})
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
    creating, and one task per function is sent (group, members, managers)."""
    errors = Errors()
    cleaned = _clean_settings(settings, errors, GROUP_SETTINGS)
    domain = check_address(service, local_part, domain, errors)
    accounts, contacts, managers = check_members(
        service,
        member_accounts=member_accounts,
        member_contacts=member_contacts,
        manager_accounts=manager_accounts,
        errors=errors,
    )
    errors.raise_if_any()

    with transaction.atomic():
        address = _reserve_address(domain, local_part, Address.Kind.GROUP)
        group = Group.objects.create(
            service=service, address=address, state=Group.State.CREATING, **cleaned
        )
        tasks = [_new_task(group, F.ADD_GROUP, user, params=_json_settings(cleaned))]
        if accounts or contacts:
            tasks.append(_new_task(group, F.ADD_MEMBER, user, items=[*accounts, *contacts]))
        if managers:
            tasks.append(_new_task(group, F.ADD_MANAGER, user, items=managers))
        _send_on_commit(*tasks)
    return group


def _json_settings(values: dict) -> dict:
    return {k: str(v) if hasattr(v, "label") else v for k, v in values.items()}


def update_group(group: Group, *, user, local_part=None, domain=None, **settings) -> Task:
    """Change a group's settings, its address included. The rows keep today's values until
    the worker applies the task; a new address is reserved at once."""
    _require_operational(group)
    errors = Errors()
    current = {field: getattr(group, field) for field in GROUP_SETTINGS}
    cleaned = _clean_settings(settings, errors, current)
    changes = {f: v for f, v in cleaned.items() if v != current[f]}

    new_address = None
    if local_part is not None or domain is not None:
        local_part = group.address.local_part if local_part is None else local_part
        domain = group.address.domain_id if domain is None else domain
        domain_id = domain.pk if isinstance(domain, Domain) else domain
        same = (
            str(domain_id) == str(group.address.domain_id)
            and local_part.strip().lower() == group.address.local_part.lower()
        )
        if not same:
            new_address = check_address(group.service, local_part, domain, errors)
    errors.raise_if_any()
    if not changes and new_address is None:
        raise ValidationError({NON_FIELD_ERRORS: _("Nothing to change: every value is the same.")})

    with transaction.atomic():
        params = {
            "changes": _json_settings(changes),
            "previous": _json_settings({f: current[f] for f in changes}),
        }
        reserved = None
        if new_address is not None:
            reserved = _reserve_address(new_address, local_part, Address.Kind.RESERVED)
            params["changes"]["address"] = f"{reserved.local_part}@{new_address.name}"
            params["previous"]["address"] = group.email
        task = _new_task(group, F.SET_GROUP, user, params=params, reserved_address=reserved)
        _send_on_commit(task)
    return task


def delete_group(group: Group, *, user) -> Task:
    _require_operational(group)
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        _require_operational(locked)
        Group.objects.filter(pk=group.pk).update(state=Group.State.DELETING)
        group.state = Group.State.DELETING
        task = _new_task(group, F.DELETE_GROUP, user)
        _send_on_commit(task)
    return task


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
    if len(expected) + len(objects) > MAX_MEMBERS:
        errors.add(
            "members",
            _("A group has at most %(max)d members; it would have %(count)d.")
            % {"max": MAX_MEMBERS, "count": len(expected) + len(objects)},
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


def add_alias(group: Group, *, user, local_part: str, domain) -> Alias:
    _require_operational(group)
    errors = Errors()
    domain = check_address(group.service, local_part, domain, errors)
    if group.aliases.count() >= MAX_ALIASES:
        errors.add("local_part", _("A group has at most %(max)d aliases.") % {"max": MAX_ALIASES})
    errors.raise_if_any()
    with transaction.atomic():
        address = _reserve_address(domain, local_part, Address.Kind.ALIAS)
        alias = Alias.objects.create(group=group, address=address, state=Alias.State.CREATING)
        task = _new_task(group, F.ADD_ALIAS, user, items=[alias])
        _send_on_commit(task)
    return alias


def remove_alias(alias: Alias, *, user) -> Task:
    group = alias.group
    _require_operational(group)
    if alias.state != Alias.State.OK:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("This alias is not active yet: wait until its state is OK.")}
        )
    with transaction.atomic():
        if not Alias.objects.filter(pk=alias.pk, state=Alias.State.OK).update(
            state=Alias.State.DELETING
        ):
            raise ValidationError({NON_FIELD_ERRORS: _("This alias is already being removed.")})
        alias.state = Alias.State.DELETING
        task = _new_task(group, F.DELETE_ALIAS, user, items=[alias])
        _send_on_commit(task)
    return task


# --- Task operations ------------------------------------------------------------------------


def retry_task(task: Task, *, user) -> Task:
    """Send a task in error back to the workers: only its items not yet done run again."""
    with transaction.atomic():
        updated = Task.objects.filter(pk=task.pk, status=Task.Status.ERROR).update(
            status=Task.Status.TODO,
            attempts=0,
            error="",
            finished_at=None,
            run_after=timezone.now(),
            enqueued_at=timezone.now(),
            claim=None,
        )
        if not updated:
            raise ValidationError(
                {NON_FIELD_ERRORS: _("Only a task in error can be retried.")}, code="not_error"
            )
        task.items.filter(status=TaskItem.Status.ERROR).update(
            status=TaskItem.Status.TODO, error=""
        )
        task.refresh_from_db()
        _send_on_commit(task)
    return task


def cancel_task(task: Task, *, user) -> Task:
    """Cancel a task that no worker has started, and give back what it had reserved."""
    with transaction.atomic():
        updated = Task.objects.filter(pk=task.pk, status=Task.Status.TODO).update(
            status=Task.Status.CANCELLED, finished_at=timezone.now(), claim=None
        )
        if not updated:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: _(
                        "Only a scheduled task that has not started can be cancelled."
                    )
                },
                code="not_todo",
            )
        task.refresh_from_db()
        _undo_reservations(task)
    return task


def _undo_reservations(task: Task):
    """What a cancelled task had taken before it ran: addresses, rows in a transient state."""
    if task.reserved_address_id:
        Address.objects.filter(pk=task.reserved_address_id).delete()
    group = task.group
    if group is None:
        return
    if task.function == F.ADD_GROUP:
        # The group never reached the platform: drop the tasks queued behind its creation,
        # then the group and its address.
        Task.objects.filter(group=group, status=Task.Status.TODO).update(
            status=Task.Status.CANCELLED, finished_at=timezone.now()
        )
        if not Task.objects.filter(group=group, status=Task.Status.DOING).exists():
            address_id = group.address_id
            alias_addresses = list(group.aliases.values_list("address_id", flat=True))
            group.delete()
            Address.objects.filter(pk__in=[address_id, *alias_addresses]).delete()
    elif task.function == F.DELETE_GROUP:
        Group.objects.filter(pk=group.pk, state=Group.State.DELETING).update(state=Group.State.OK)
    elif task.function in (F.ADD_ALIAS, F.DELETE_ALIAS):
        for item in task.items.select_related("alias"):
            alias = item.alias
            if alias is None:
                continue
            if task.function == F.ADD_ALIAS and alias.state == Alias.State.CREATING:
                address_id = alias.address_id
                alias.delete()
                Address.objects.filter(pk=address_id).delete()
            elif alias.state == Alias.State.DELETING:
                Alias.objects.filter(pk=alias.pk).update(state=Alias.State.OK)


__all__ = [
    "ADDRESS_TAKEN",
    "add_alias",
    "add_delegations",
    "add_managers",
    "add_members",
    "cancel_task",
    "check_address",
    "check_group",
    "check_members",
    "create_group",
    "delete_group",
    "expected_delegations",
    "expected_managers",
    "expected_members",
    "remove_alias",
    "remove_delegations",
    "remove_managers",
    "remove_members",
    "retry_task",
    "update_group",
]
