"""Operations on tasks: retry one in error, cancel one not started."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    Address,
    Alias,
    Group,
    Task,
    TaskItem,
)
from .common import (
    F,
    _send_on_commit,
)


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
            raise _refused(_("Only a task in error can be retried."), "not_error")
        task.items.filter(status=TaskItem.Status.ERROR).update(
            status=TaskItem.Status.TODO, error=""
        )
        task.refresh_from_db()
        _send_on_commit(task)
    return task


def _refused(message, code) -> ValidationError:
    """A refusal about the task as a whole, with a code (the API answers 409 for these)."""
    return ValidationError({NON_FIELD_ERRORS: ValidationError(message, code=code)})


def requeue_task(task: Task, *, user) -> Task:
    """Take back a task stuck in doing (its worker died or hangs) and send it again. Its
    claim is withdrawn, so a worker still holding it will not record anything."""
    with transaction.atomic():
        updated = Task.objects.filter(pk=task.pk, status=Task.Status.DOING).update(
            status=Task.Status.TODO,
            claim=None,
            lease_expires_at=None,
            run_after=timezone.now(),
            enqueued_at=timezone.now(),
        )
        if not updated:
            raise _refused(_("Only a task in progress can be sent again."), "not_doing")
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
            raise _refused(
                _("Only a scheduled task that has not started can be cancelled."), "not_todo"
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
        if group.state == Group.State.DELETING:
            group.state = Group.State.OK
            group.save(update_fields=["state", "updated_at"])
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
                alias.state = Alias.State.OK
                alias.save(update_fields=["state"])
