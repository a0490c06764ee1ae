"""Aliases of a group."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..audit import record_bulk
from ..models import (
    Address,
    Alias,
    Group,
    Task,
)
from ..models import group as group_rules
from .common import (
    Errors,
    Fn,
    check_address,
    new_task,
    require_operational,
    reserve_address,
    send_on_commit,
)


def add_alias(group: Group, *, user, local_part: str, domain) -> Alias:
    """Reserve the alias's address and send its task. Returns the alias (state creating),
    carrying that task as `new_tasks`."""
    require_operational(group)
    errors = Errors()
    domain = check_address(group.service, local_part, domain, errors)
    if group.aliases.count() >= group_rules.MAX_ALIASES:
        errors.add(
            "local_part",
            _("A group has at most %(max)d aliases.") % {"max": group_rules.MAX_ALIASES},
        )
    errors.raise_if_any()
    with transaction.atomic():
        address = reserve_address(domain, local_part, Address.Kind.ALIAS)
        alias = Alias.objects.create(group=group, address=address, state=Alias.State.CREATING)
        task = new_task(group, Fn.ADD_ALIAS, user, items=[alias])
        send_on_commit(task)
    alias.new_tasks = [task]
    return alias


def remove_alias(alias: Alias, *, user) -> Task:
    group = alias.group
    require_operational(group)
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
        record_bulk(Alias, [alias], "~")
        task = new_task(group, Fn.DELETE_ALIAS, user, items=[alias])
        send_on_commit(task)
    return task
