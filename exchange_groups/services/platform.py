"""Support's answers to a difference between the panel and the platform (models/drift.py):
repair it (tasks put the platform back to what the panel shows) or adopt the platform's
version (the panel records what the platform holds: nothing to apply)."""

from types import SimpleNamespace

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..audit import on_behalf_of
from ..backends import live
from ..models import Account, Address, Alias, Delegation, Drift, ExternalContact, Group, Task
from .common import (
    DELEGATION_FUNCTIONS,
    GROUP_SETTINGS,
    Fn,
    json_settings,
    new_task,
    send_on_commit,
)

S, K = Drift.Subject, Drift.Kind
KINDS = {S.SEND_AS: Delegation.Kind.SEND_AS, S.SEND_ON_BEHALF: Delegation.Kind.SEND_ON_BEHALF}
# (add, delete) functions for each subject that holds items.
FUNCTIONS = {
    S.MEMBER: (Fn.ADD_MEMBER, Fn.DELETE_MEMBER),
    S.MANAGER: (Fn.ADD_MANAGER, Fn.DELETE_MANAGER),
    S.SEND_AS: DELEGATION_FUNCTIONS[Delegation.Kind.SEND_AS],
    S.SEND_ON_BEHALF: DELEGATION_FUNCTIONS[Delegation.Kind.SEND_ON_BEHALF],
    S.ALIAS: (Fn.ADD_ALIAS, Fn.DELETE_ALIAS),
}


def _drifts(group: Group) -> list[Drift]:
    drifts = list(group.drifts.all())
    if not drifts:
        raise ValidationError({NON_FIELD_ERRORS: _("This group has no difference to settle.")})
    if group.tasks.filter(status__in=Task.PENDING).exists():
        raise ValidationError(
            {NON_FIELD_ERRORS: _("A task of this group is pending: wait until it is done.")}
        )
    return drifts


def _objects(group: Group, subject: str, addresses: list[str]) -> list:
    """The panel's objects with these addresses (unknown addresses are left out)."""
    wanted = {a.lower() for a in addresses}
    if subject == S.ALIAS:
        return [
            a for a in group.aliases.select_related("address__domain") if str(a).lower() in wanted
        ]
    accounts = Account.objects.filter(service=group.service).select_related("address__domain")
    found = [a for a in accounts if a.address.email.lower() in wanted]
    if subject == S.MEMBER:
        found += [
            c
            for c in ExternalContact.objects.filter(service=group.service)
            if c.email.lower() in wanted
        ]
    return found


def repair_drift(group: Group, *, user) -> list[Task]:
    """Create the tasks that put the platform back to the panel's version of the group."""
    drifts = _drifts(group)
    tasks = []
    with transaction.atomic():
        if any(d.kind == K.GROUP_MISSING for d in drifts):
            tasks = _recreate(group, user)
        else:
            changed = [d for d in drifts if d.kind == K.SETTING]
            if changed:
                params = {
                    "changes": json_settings({d.name: getattr(group, d.name) for d in changed}),
                    "previous": {d.name: d.platform_value for d in changed},
                }
                tasks.append(new_task(group, Fn.SET_GROUP, user, params=params))
            for subject, (add, delete) in FUNCTIONS.items():
                missing = [d.name for d in drifts if d.subject == subject and d.kind == K.MISSING]
                extra = [d.name for d in drifts if d.subject == subject and d.kind == K.EXTRA]
                gone = [d.name for d in drifts if d.subject == subject and d.kind == K.ACCOUNT_GONE]
                if missing and (objects := _objects(group, subject, missing)):
                    tasks.append(new_task(group, add, user, items=objects))
                removed = _objects(group, subject, gone) if subject != S.ALIAS else []
                if subject == S.ALIAS:
                    tasks += _alias_removal(group, user, extra)
                else:
                    removed += _objects(group, subject, extra)
                if removed:
                    tasks.append(new_task(group, delete, user, items=removed))
        group.drifts.all().delete()
        send_on_commit(*tasks)
    return tasks


def _alias_removal(group, user, addresses) -> list[Task]:
    """Aliases only on the platform have no row: their items carry the address alone."""
    if not addresses:
        return []
    task = new_task(group, Fn.DELETE_ALIAS, user)
    task.items.bulk_create([task.items.model(task=task, label=a) for a in addresses])
    return [task]


def _recreate(group: Group, user) -> list[Task]:
    """The group's entry was deleted: create it again with everything the panel shows.
    Mailboxes deleted on the platform are not put back: they leave the group."""
    settings = {field: getattr(group, field) for field in GROUP_SETTINGS}
    tasks = [new_task(group, Fn.ADD_GROUP, user, params=json_settings(settings))]
    members = list(group.members.select_related("account__address__domain", "contact"))
    gone = [m.account for m in members if m.account_id and m.account.state == Account.State.GONE]
    present = [m.account or m.contact for m in members if m.account not in gone]
    managers = [m.account for m in group.managers.select_related("account__address__domain")]
    for function, objects in (
        (Fn.ADD_MEMBER, present),
        (Fn.DELETE_MEMBER, gone),
        (Fn.ADD_MANAGER, managers),
        *[
            (add, [d.account for d in group.delegations.filter(kind=kind)])
            for kind, (add, _delete) in DELEGATION_FUNCTIONS.items()
        ],
        (Fn.ADD_ALIAS, list(group.aliases.all())),
    ):
        if objects:
            tasks.append(new_task(group, function, user, items=objects))
    return tasks


def adopt_drift(group: Group, *, user) -> None:
    """Record the platform's version of the group in the panel (the customer would rather
    keep it): nothing is applied, the platform already holds it."""
    drifts = _drifts(group)
    with transaction.atomic(), on_behalf_of(user, "drift:adopt"):
        if any(d.kind == K.GROUP_MISSING for d in drifts):
            live.group_deleted(group.pk)
            return
        settings = {
            d.name: _setting(d.name, d.platform_value) for d in drifts if d.kind == K.SETTING
        }
        if settings:
            for field, value in settings.items():
                setattr(group, field, value)
            group.save()
        for subject in FUNCTIONS:
            added = [d.name for d in drifts if d.subject == subject and d.kind == K.EXTRA]
            removed = [
                d.name
                for d in drifts
                if d.subject == subject and d.kind in (K.MISSING, K.ACCOUNT_GONE)
            ]
            _record(group, subject, added, removed)
        group.drifts.all().delete()


def _setting(field: str, text: str):
    default = GROUP_SETTINGS[field]
    if isinstance(default, bool):
        return text == "True"
    if field.startswith("max_"):
        return int(text) if text else None
    return text


def _items(objects) -> list[SimpleNamespace]:
    """Objects in the shape of task items, for the live record."""
    return [
        SimpleNamespace(
            pk=None,
            account_id=o.pk if isinstance(o, Account) else None,
            contact_id=o.pk if isinstance(o, ExternalContact) else None,
            alias_id=o.pk if isinstance(o, Alias) else None,
        )
        for o in objects
    ]


def _record(group, subject, added: list[str], removed: list[str]) -> None:
    if subject == S.ALIAS:
        live.aliases_removed(_items(_objects(group, subject, removed)))
        for address in added:
            local_part, _at, domain_name = address.rpartition("@")
            domain = group.service.domains.filter(name__iexact=domain_name).first()
            taken = Address.objects.named(local_part, domain)
            if domain is not None and not taken.exists():
                mail = Address.objects.create(
                    domain=domain, local_part=local_part, kind=Address.Kind.ALIAS
                )
                Alias.objects.create(group=group, address=mail, state=Alias.State.OK)
        return
    record_add, record_remove = {
        S.MEMBER: (live.members_added, live.members_removed),
        S.MANAGER: (live.managers_added, live.managers_removed),
    }.get(subject) or (
        lambda g, items: live.delegations_granted(g, items, KINDS[subject]),
        lambda g, items: live.delegations_revoked(g, items, KINDS[subject]),
    )
    if removed:
        record_remove(group, _items(_objects(group, subject, removed)))
    if added:
        record_add(group, _items(_objects(group, subject, added)))
