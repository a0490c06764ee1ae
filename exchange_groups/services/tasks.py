"""Operations on tasks: retry one in error, cancel one not started."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Address, Alias, Task
from .common import Fn, send_on_commit


def retry_task(task: Task, *, user) -> Task:
    """Send a task in error back to the workers: only its items not yet done run again."""
    with transaction.atomic():
        if not Task.objects.retry(task.pk):
            raise _refused(_("Only a task in error can be retried."), "not_error")
        task.refresh_from_db()
        send_on_commit(task)
    return task


def _refused(message, code) -> ValidationError:
    """A refusal about the task as a whole, with a code (the API answers 409 for these)."""
    return ValidationError({NON_FIELD_ERRORS: ValidationError(message, code=code)})


def requeue_task(task: Task, *, user) -> Task:
    """Take back a task stuck in doing (its worker died or hangs) and send it again. Its
    claim is withdrawn, so a worker still holding it will not record anything."""
    with transaction.atomic():
        if not Task.objects.requeue(task.pk):
            raise _refused(_("Only a task in progress can be sent again."), "not_doing")
        task.refresh_from_db()
        send_on_commit(task)
    return task


def cancel_task(task: Task, *, user) -> Task:
    """Cancel a task that no worker has started, and give back what it had reserved."""
    with transaction.atomic():
        if not Task.objects.cancel(task.pk):
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
    if task.function == Fn.ADD_GROUP:
        # The group never reached the platform: drop the tasks queued behind its creation,
        # then the group and its address.
        Task.objects.cancel(group_id=group.pk)
        if not Task.objects.filter(group=group, status=Task.Status.DOING).exists():
            group.delete_with_addresses()
    elif task.function == Fn.DELETE_GROUP:
        group.abandon_deletion()
    elif task.function in (Fn.ADD_ALIAS, Fn.DELETE_ALIAS):
        for item in task.items.select_related("alias"):
            alias = item.alias
            if alias is None:
                continue
            if task.function == Fn.ADD_ALIAS and alias.state == Alias.State.CREATING:
                alias.delete_with_address()
            else:
                alias.abandon_deletion()
