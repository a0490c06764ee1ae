"""What the service functions share: errors, address rules, item lookups, tasks."""

import functools
from collections.abc import Iterable
from typing import NamedTuple

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import engine
from ..models import (
    Account,
    Address,
    Delegation,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    GroupMemberCount,
    Task,
    TaskItem,
)
from ..models import group as group_rules
from ..models.directory import LOCAL_PART_MAX_LENGTH, LOCAL_PART_RE
from ..models.expressions import any_of, full_address
from ..prepared import Ids, Prepared

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


Fn = Task.Function


DELEGATION_FUNCTIONS = {
    Delegation.Kind.SEND_AS: (Fn.ADD_SEND_AS, Fn.DELETE_SEND_AS),
    Delegation.Kind.SEND_ON_BEHALF: (Fn.ADD_SEND_ON_BEHALF, Fn.DELETE_SEND_ON_BEHALF),
}


class Errors(dict):
    """Field name -> messages, raised together so that a form shows them all at once."""

    def add(self, field, message, code=None):
        self.setdefault(field, []).append(ValidationError(message, code=code))

    def raise_if_any(self):
        if self:
            raise ValidationError(dict(self))


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
        and Address.objects.named(local_part, domain_obj).exists()
    ):
        errors.add("local_part", _("This address is already used on the platform."), ADDRESS_TAKEN)
    if own:
        errors.raise_if_any()
    return domain_obj


def _service_domain(service, domain, errors) -> Domain | None:
    domain_id = domain.pk if isinstance(domain, Domain) else domain
    # A domain is named by its id: anything that is not a number names none of them.
    if isinstance(domain_id, str):
        domain_id = int(domain_id) if domain_id.strip().isdecimal() else None
    found = service.domains.filter(pk=domain_id).first() if domain_id is not None else None
    if found is None:
        errors.add("domain", _("Choose one of this service's domains."))
    elif not found.is_usable:
        errors.add("domain", _("This domain is not ready yet: choose a domain in state OK."))
        return None
    return found


def reserve_address(domain: Domain, local_part: str, kind: str) -> Address:
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


def clean_settings(values: dict, errors: Errors, defaults: dict) -> dict:
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
        if size is None or not 1 <= size <= group_rules.MAX_SIZE_MB:
            errors.add(
                field,
                _("Enter a size from 1 to %(max)d MB, or choose the maximum value.")
                % {"max": group_rules.MAX_SIZE_MB},
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


def require_operational(group: Group):
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


def _resolve(read, ids: Iterable, field: str, errors: Errors, unknown_message: str):
    """The objects with these ids that `read(ids)` finds (among the service's)."""
    try:
        wanted = {int(pk) for pk in ids}
    except (TypeError, ValueError):
        errors.add(field, unknown_message)
        return []
    found = read(wanted) if wanted else []
    if len(found) != len(wanted):
        errors.add(field, unknown_message)
    return found


class Ref(NamedTuple):
    """An account or contact named by a change, read as plain values: a request naming
    10,000 members builds no model object for them (new_task takes these)."""

    kind: str  # "account" or "contact"
    pk: int
    label: str  # its address

    def __str__(self):
        return self.label


def service_refs(service, ids, field, errors, kind: str) -> list[Ref]:
    """Like service_accounts/service_contacts, as Refs."""
    if kind == "account":
        rows = Account.objects.filter(service=service).annotate(label=full_address())
        message = _("Choose accounts of this service.")
    else:
        rows = ExternalContact.objects.filter(service=service).annotate(label=F("email"))
        message = _("Choose external contacts of this service.")
    try:
        wanted = {int(pk) for pk in ids}
    except (TypeError, ValueError):
        errors.add(field, message)
        return []
    found = rows.filter(any_of("pk", wanted)).order_by().values_list("pk", "label")
    found = list(found) if wanted else []
    if len(found) != len(wanted):
        errors.add(field, message)
    return [Ref(kind, pk, label) for pk, label in found]


def service_accounts(service, ids, field, errors):
    return _resolve(
        lambda wanted: _accounts_among(service=service, ids=wanted),
        ids,
        field,
        errors,
        _("Choose accounts of this service."),
    )


def service_contacts(service, ids, field, errors):
    return _resolve(
        lambda wanted: _contacts_among(service=service, ids=wanted),
        ids,
        field,
        errors,
        _("Choose external contacts of this service."),
    )


def pending_items(group, *functions) -> list[tuple[str, int | None, int | None]]:
    """(function, account id, contact id) of the items of the group's pending tasks not yet
    applied (of these `functions`, or all), in the order they were asked. A page that
    needs several views of them (the users page: members, managers, boxes in progress)
    reads them once and passes them on."""
    return _pending_items(tuple(functions))(group=group)


def _pending_items_of(group, functions=()):
    items = TaskItem.objects.filter(task__group=group, task__status__in=Task.PENDING)
    if functions:
        items = items.filter(task__function__in=functions)
    return (
        items.exclude(status=TaskItem.Status.DONE)
        .order_by("task_id", "pk")
        .values_list("task__function", "account_id", "contact_id")
    )


# The reads of every page and change of a group's users, compiled once per process
# (prepared.py): on those paths compiling cost as much as running.
@functools.cache
def _pending_items(functions: tuple) -> Prepared:
    """pending_items of these functions (a few sets of them: members, administrators...)."""
    return Prepared(lambda group: _pending_items_of(group, functions), group=Group)


_managers = Prepared(
    lambda group: GroupManager.objects.filter(group=group).values_list("account_id", flat=True),
    group=Group,
)
# Up to this many accounts and as many contacts looked up at once: a page of the picker
# and the pending changes, most often (more take the ORM's ordinary path).
_LOOKED_UP = 32
_members_among = Prepared(
    lambda group, accounts, contacts: (
        GroupMember.objects.filter(group=group)
        .filter(Q(account__in=accounts) | Q(contact__in=contacts))
        .values_list("account_id", "contact_id")
    ),
    group=Group,
    accounts=Ids(_LOOKED_UP),
    contacts=Ids(_LOOKED_UP),
)
_accounts_among = Prepared(
    lambda service, ids: Account.objects.filter(service=service, pk__in=ids).select_related(
        "address__domain"
    ),
    service=ExchangeService,
    ids=Ids(_LOOKED_UP),
)
_contacts_among = Prepared(
    lambda service, ids: ExternalContact.objects.filter(service=service, pk__in=ids),
    service=ExchangeService,
    ids=Ids(_LOOKED_UP),
)
_member_count = Prepared(
    lambda group: GroupMemberCount.objects.filter(group=group).values_list("members", flat=True),
    group=Group,
)


def _pending_changes(group, *functions, pending=None):
    """The pending items of these functions, in order, replayed by the callers so that
    "remove X" then "add X" leaves X in (and "add X" then "remove X" leaves it out):
    read, or picked from the caller's `pending` (pending_items)."""
    if pending is None:
        return pending_items(group, *functions)
    return [row for row in pending if row[0] in functions]


def expected_members(group: Group, pending=None) -> set[tuple[str, int]]:
    """Members once the pending tasks are applied: ("account", id) and ("contact", id).
    `pending`: the group's pending_items, when the caller has read them."""
    live = {
        ("account", a) if a else ("contact", c)
        for a, c in group.members.values_list("account_id", "contact_id")
    }
    for function, a, c in _pending_changes(group, Fn.ADD_MEMBER, Fn.DELETE_MEMBER, pending=pending):
        member = ("account", a) if a else ("contact", c)
        (live.add if function == Fn.ADD_MEMBER else live.discard)(member)
    return live


def member_outlook(
    group: Group, among, *, counted=True, pending=None
) -> tuple[set[tuple[str, int]], int]:
    """Which of `among` (("account", id), ("contact", id)) will be members once the pending
    tasks are applied, and how many members the group will then have (None unless
    `counted`). Reads only those members and the pending items, and counts the rest: a
    one-item change costs the same in a group of 10,000 (expected_members reads them all).
    `pending`: the group's pending_items, when the caller has read them."""
    changes = [
        (function, ("account", a) if a else ("contact", c))
        for function, a, c in _pending_changes(
            group, Fn.ADD_MEMBER, Fn.DELETE_MEMBER, pending=pending
        )
    ]
    looked_up = set(among) | {member for _f, member in changes}
    accounts = [pk for kind, pk in looked_up if kind == "account"]
    contacts = [pk for kind, pk in looked_up if kind == "contact"]
    live = {
        ("account", a) if a else ("contact", c)
        for a, c in _members_among(group=group, accounts=accounts, contacts=contacts)
    }
    count = sum(_member_count(group=group)) if counted else None
    for function, member in changes:
        if function == Fn.ADD_MEMBER and member not in live:
            live.add(member)
            count = count + 1 if counted else None
        elif function == Fn.DELETE_MEMBER and member in live:
            live.discard(member)
            count = count - 1 if counted else None
    return live & set(among), count


def expected_managers(group: Group, pending=None) -> set[int]:
    live = set(_managers(group=group))
    changes = _pending_changes(group, Fn.ADD_MANAGER, Fn.DELETE_MANAGER, pending=pending)
    for function, account_id, _c in changes:
        (live.add if function == Fn.ADD_MANAGER else live.discard)(account_id)
    return live


def expected_delegations(group: Group, pending=None) -> dict[int, str]:
    """Account id -> right, once the pending tasks are applied."""
    rights = dict(group.delegations.values_list("account_id", "kind"))
    granted = {add: kind for kind, (add, _delete) in DELEGATION_FUNCTIONS.items()}
    functions = [f for pair in DELEGATION_FUNCTIONS.values() for f in pair]
    for function, account_id, _c in _pending_changes(group, *functions, pending=pending):
        if function in granted:
            rights[account_id] = granted[function]
        else:
            rights.pop(account_id, None)
    return rights


def list_names(objects) -> str:
    names = [str(o) for o in objects]
    shown = ", ".join(names[:5])
    return shown + (_(" and %(count)d more") % {"count": len(names) - 5} if len(names) > 5 else "")


def new_task(
    group, function, user, *, params=None, items=(), refs=(), reserved_address=None
) -> Task:
    """The task and its items: `items` objects, or `refs` (Ref)."""
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
    objects = [TaskItem(task=task, label=str(obj), **{item_field_of(obj): obj}) for obj in items]
    if connection.vendor == "postgresql" and refs:
        _insert_refs(task, refs)
    else:
        objects += [TaskItem(task=task, label=r.label, **{f"{r.kind}_id": r.pk}) for r in refs]
    TaskItem.objects.bulk_create(objects, batch_size=2000)
    return task


def _insert_refs(task, refs) -> None:
    """The task's items named by `refs`, written by one INSERT from arrays (PostgreSQL):
    building 10,000 TaskItem objects for bulk_create was 0.7 s of the 1.2 s of a request
    creating a group of 10,000 members; this statement takes 0.1 s."""
    meta = TaskItem._meta
    qn = connection.ops.quote_name
    columns = ", ".join(
        qn(meta.get_field(name).column)
        for name in ("task", "account", "contact", "label", "status", "error")
    )
    ids = {"account": [], "contact": []}
    for ref in refs:
        ids[ref.kind].append(ref.pk)
        ids["contact" if ref.kind == "account" else "account"].append(None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} ({columns}) SELECT %s, account, contact, label, "
            "%s, '' FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS item(account, "
            "contact, label)",
            [task.pk, TaskItem.Status.TODO, *ids.values(), [ref.label for ref in refs]],
        )


def item_field_of(obj) -> str:
    if isinstance(obj, Account):
        return "account"
    if isinstance(obj, ExternalContact):
        return "contact"
    return "alias"


def send_on_commit(*tasks: Task):
    """Wake a worker for the tasks once they are committed (new_task set their enqueued_at)."""
    ids = [t.pk for t in tasks]
    transaction.on_commit(lambda: engine.enqueue(ids, sent_now=False))


def json_settings(values: dict) -> dict:
    return {k: str(v) if hasattr(v, "label") else v for k, v in values.items()}
