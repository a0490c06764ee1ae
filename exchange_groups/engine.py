"""The worker side: claim a task, apply it through the provisioning backend, record it.

The task row is the source of truth; a Celery message only says "look at task N". So:
- a message may arrive twice, late or never: claiming is a conditional update (todo ->
  doing) that only one worker wins, and the periodic sweep re-sends what was lost;
- a worker may die mid-task: its claim carries a short lease, renewed by a heartbeat while
  the backend works, and the sweep frees the task once the lease expires; backends are
  idempotent, so applying it again gives the same result. A crash (a dead worker, a lost
  database connection) is not the task's failure: it does not use up an attempt. A task
  that kills its worker every time fails for good after TASK_MAX_CRASHES, so that it does
  not hold its group's next tasks back without end;
- the tasks of one group run in the order they were requested: a task is only claimed
  when no earlier task of its group is still pending, and each finished task wakes the
  next one. The worker that finished it applies that next one itself, in the same call
  (for up to TASK_DRAIN_SECONDS), so that a queue of changes to one group costs one
  message, not one per change; and a wake-up for several tasks of one group is one
  message, for the first.
Each move of a task's status is one of TaskQuerySet's compare-and-swap methods
(models/task.py): claim, renew, release, finish, back_off, fail.
"""

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from . import reasons
from .audit import on_behalf_of, task_reason
from .backends.base import BackendError
from .models import Group, Task, TaskItem
from .prepared import Prepared

log = logging.getLogger(__name__)

Status = Task.Status
# Functions about the group itself; every other function carries items.
GROUP_FUNCTIONS = {
    Task.Function.ADD_GROUP,
    Task.Function.SET_GROUP,
    Task.Function.DELETE_GROUP,
}


@cache
def get_backend():
    """The provisioning backend named in settings, one instance per process."""
    return import_string(settings.PROVISIONING_BACKEND)(**settings.PROVISIONING_OPTIONS)


def enqueue(task_ids: Iterable[int], countdown: float | None = None, *, sent_now=True) -> None:
    """Send wake-up messages. A failure to reach the broker is logged, not raised: the
    task rows are committed, and the sweep will send them again. `sent_now=False` when the
    rows already say when they were sent (a new task is created with it): one UPDATE less
    on the customer's request."""
    from .tasks import execute_task

    task_ids = list(task_ids)
    if sent_now:
        Task.objects.filter(pk__in=task_ids).update(enqueued_at=timezone.now())
    for task_id in first_of_each_group(task_ids):
        try:
            execute_task.apply_async((task_id,), countdown=countdown)
        except Exception as exc:
            log.warning("Task %s not sent to the broker (%s); the sweep will send it", task_id, exc)


def first_of_each_group(task_ids: list[int]) -> list[int]:
    """The tasks that need a message: the first of each group's (a later one could not be
    claimed before it, and is woken when it is done), and every task of no group."""
    if len(task_ids) < 2:
        return task_ids
    firsts: dict[int, int] = {}
    alone = []
    for pk, group_id in Task.objects.filter(pk__in=task_ids).values_list("pk", "group_id"):
        if group_id is None:
            alone.append(pk)
        elif pk < firsts.get(group_id, pk + 1):
            firsts[group_id] = pk
    return sorted([*firsts.values(), *alone])


def claim(task_id: int) -> uuid.UUID | None:
    """Take the task for this worker if it is due and nothing earlier on its group is
    pending. Returns the claim token, or None when another worker has it, it is done, or
    it must wait."""
    return _claim(task_id)[0]


def _claim(task_id: int) -> tuple[uuid.UUID | None, int]:
    """The claim token (or None) and how many of the task's items are not done yet, from
    one conditional UPDATE (TaskQuerySet.claim)."""
    token = uuid.uuid4()
    pending = Task.objects.claim(task_id, token, now=timezone.now())
    return (None, 0) if pending is None else (token, pending)


def execute(task_id: int) -> None:
    """Apply the task; then, while the next task of its group is due, that one too."""
    started = time.monotonic()
    while task_id is not None:
        try:
            task_id = _execute_one(task_id)
        except DATABASE_LOST as exc:
            # The task to send again: not always the one asked for, when this call had
            # gone on to its group's next ones.
            exc.task_id = task_id
            raise
        # Up to TASK_DRAIN_SECONDS: one busy group does not keep a worker from the others.
        if task_id is not None and time.monotonic() - started > settings.TASK_DRAIN_SECONDS:
            enqueue([task_id])
            return


def _execute_one(task_id: int) -> int | None:
    """Apply one task. Returns the next task of its group to apply, if it is now due."""
    token, pending = _claim(task_id)
    if token is None:
        _wake_later_if_early(task_id)
        return None
    try:
        with leases.holding(task_id, token):
            return _run(task_id, token, pending)
    except DATABASE_LOST:
        _release(task_id, token)
        raise


# The database went away (failover, restart, a cut connection): the worker's trouble, not
# the task's. The caller gets the error back, so that its message is not acknowledged.
DATABASE_LOST = (OperationalError, InterfaceError)


# A big task is applied this many items at a time, each chunk committed with its items
# marked done, so that its progress shows ("n / N") and a retry starts where it stopped.
CHUNK = 500


# The task as _run reads it, by a query compiled once per process (prepared.py): every
# task reads it. The reserved address (a change of address, rare) is read when used:
# joined to every task, it cost a third of this query's time.
_task_read = Prepared(
    lambda pk: Task.objects.select_related("group__address__domain", "requested_by").filter(pk=pk),
    pk=int,
)


def _run(task_id: int, token: uuid.UUID, pending_items: int) -> int | None:
    """Apply the task and record its outcome. Returns its group's next task, due now."""
    (task,) = _task_read(pk=task_id)
    task.pending_items = pending_items
    # Error reasons are stored as message ids (translated when shown) and as text in the
    # product's reference language. Every change is recorded in the audit trail as made
    # for the customer who asked, by this task.
    with override(settings.LANGUAGE_CODE), on_behalf_of(task.requested_by, task_reason(task)):
        try:
            # What the backend writes to the database and the task's outcome are one
            # transaction, one commit: a task that fails as a whole leaves nothing behind
            # (but the chunks of a big task already committed, which a retry skips).
            _apply_untranslated(get_backend().prepare, task)
            failures = {}
            if task.pending_items > CHUNK:
                failures = _apply_untranslated(_apply_in_chunks, task)
            with transaction.atomic():
                failures |= _apply_untranslated(_apply, task, failures)
                return _record(task, token, failures, None)
        except BackendError as exc:
            failures, task_error = {}, [reasons.part(str(exc))]
        except DATABASE_LOST:
            raise
        except Exception:
            log.exception("Task %s failed", task_id)
            internal = gettext_noop("An internal error occurred; support has been told.")
            failures, task_error = {}, [reasons.part(internal)]
        with transaction.atomic():
            return _record(task, token, failures, task_error)


def _apply_untranslated(apply, *args):
    """Call the backend with translations off, so that its messages (the failed items'
    reasons, a BackendError's) come out as message ids."""
    with override(None):
        return apply(*args)


def _release(task_id: int, token: uuid.UUID) -> None:
    """Give the task back at once, without counting the attempt, when the database can be
    reached again; otherwise its lease runs out and the sweep gives it back."""
    _drop_if_broken()
    try:
        Task.objects.release(task_id, token)
    except DATABASE_LOST as exc:
        log.warning("Task %s: database unreachable (%s); the sweep will take it back", task_id, exc)
        _drop_if_broken()


def _drop_if_broken() -> None:
    """Close this thread's connection if the server dropped it, so the next query opens a
    fresh one instead of failing on the dead one."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


class _Leases:
    """Renews the leases of the tasks this process is applying, so that a lease can be
    short: a dead worker's task is taken back within TASK_LEASE_SECONDS, however long
    tasks run. One thread per process, started with its first task (a forked worker does
    not inherit its parent's), rather than one per task: starting and joining a thread
    for every task cost about a millisecond, more than the task's SQL."""

    def __init__(self):
        self.held: dict[int, uuid.UUID] = {}
        self.lock = threading.Lock()
        self.pid = None

    @contextlib.contextmanager
    def holding(self, task_id: int, token: uuid.UUID):
        with self.lock:
            self.held[task_id] = token
            if self.pid != os.getpid():
                self.pid = os.getpid()
                threading.Thread(target=self._beat, daemon=True, name="task-leases").start()
        try:
            yield
        finally:
            with self.lock:
                self.held.pop(task_id, None)

    def _beat(self):
        while True:
            # Every held task is renewed at most a third of a lease after its claim (or
            # its last renewal): its lease never runs out while it is held.
            time.sleep(settings.TASK_LEASE_SECONDS / 3)
            with self.lock:
                held = list(self.held.items())
            if not held:
                continue
            until = timezone.now() + timedelta(seconds=settings.TASK_LEASE_SECONDS)
            for task_id, token in held:
                try:
                    Task.objects.renew(task_id, token, until=until)
                except DATABASE_LOST as exc:
                    log.warning("Task %s: lease not renewed (%s)", task_id, exc)
                    _drop_if_broken()
            connection.close()  # this thread's own: no idle connection between renewals


leases = _Leases()


def _wake_later_if_early(task_id: int) -> None:
    """A message that arrives before the task's backoff is over (clocks differ a little
    between machines) is sent again for the right time instead of waiting for the sweep."""
    run_after = (
        Task.objects.filter(pk=task_id, status=Status.TODO)
        .values_list("run_after", flat=True)
        .first()
    )
    if run_after and run_after > timezone.now():
        enqueue([task_id], countdown=(run_after - timezone.now()).total_seconds())


def _apply(task: Task, skip=()) -> dict[int, str]:
    """Apply the task's items not yet done (but those in `skip`, failed in an earlier
    chunk). Returns item id -> error for the failed ones."""
    backend = get_backend()
    method = getattr(backend, task.function)
    # Lazy: read only by a backend that iterates them (the built-in one writes from the
    # item rows in SQL and does not).
    items = TaskItem.objects.filter(task_id=task.pk).exclude(status=TaskItem.Status.DONE)
    if skip:
        items = items.exclude(pk__in=list(skip))
    items = items.select_related(*backend.item_related)
    if task.function in GROUP_FUNCTIONS:
        method(task)
        return {}
    return method(task, items) or {}


def _apply_in_chunks(task: Task) -> dict[int, str]:
    """Apply all but the last CHUNK items of a big task, one committed chunk at a time;
    the last chunk goes with the outcome. Returns item id -> error for the failed ones."""
    backend = get_backend()
    method = getattr(backend, task.function)
    pending = TaskItem.objects.filter(task_id=task.pk).exclude(status=TaskItem.Status.DONE)
    failures: dict[int, str] = {}
    left = task.pending_items
    while left > CHUNK:
        # The chunk is the pending items up to the CHUNK-th one's id: said by that bound,
        # its statements carry no list of 500 ids (each was a third of their time).
        chunk = pending.exclude(pk__in=list(failures)).order_by("pk")
        last = chunk.values_list("pk", flat=True)[CHUNK - 1]
        chunk = chunk.filter(pk__lte=last)
        with transaction.atomic():
            failed = method(task, chunk.select_related(*backend.item_related)) or {}
            chunk.exclude(pk__in=list(failed)).update(
                status=TaskItem.Status.DONE, error="", finished_at=timezone.now()
            )
        failures |= failed
        left -= CHUNK
    return failures


def _record(task: Task, token, failures: dict[int, str], task_error: list | None) -> int | None:
    """Record the outcome. Returns the group's next task when this one is over (done, or
    failed for good) and the next one may run."""
    now = timezone.now()
    if not failures and not task_error:
        return _record_done(task, token, now)
    with transaction.atomic():
        # Only the holder of the claim records: a worker whose lease expired and whose task
        # was taken over by another leaves the outcome to that one.
        attempts = (
            Task.objects.select_for_update()
            .held(task.pk, token)
            .values_list("attempts", flat=True)
            .first()
        )
        if attempts is None:
            log.warning("Task %s: claim lost before recording, outcome discarded", task.pk)
            return None
        if not task_error:
            # The backend answered for its items: those it did not name were applied. When
            # the task failed as a whole, it said nothing about any item, so none is marked
            # done: the retry applies them all again (backends are idempotent).
            pending = task.items.exclude(status=TaskItem.Status.DONE)
            pending.exclude(pk__in=failures).update(
                status=TaskItem.Status.DONE, error="", finished_at=now
            )
        by_message: dict[str, list[int]] = {}
        for item_id, message in failures.items():
            by_message.setdefault(_(message)[:500], []).append(item_id)
        for message, item_ids in by_message.items():
            TaskItem.objects.filter(pk__in=item_ids).update(
                status=TaskItem.Status.ERROR, error=message, finished_at=now
            )
        detail = task_error or failure_summary(task, failures)
        message = reasons.render(detail)
        if attempts < settings.TASK_MAX_ATTEMPTS:
            backoff = settings.TASK_RETRY_BACKOFF * 2 ** (attempts - 1)
            run_after = now + timedelta(seconds=backoff)
            Task.objects.back_off(task.pk, token, run_after=run_after, error=message, detail=detail)
            transaction.on_commit(lambda: enqueue([task.pk], countdown=backoff))
            return None
        Task.objects.fail(task.pk, token, now=now, error=message, detail=detail)
        return _after_failure(task)


def _record_done(task: Task, token, now) -> int | None:
    """The outcome of a task fully applied, in two statements (TaskQuerySet.finish, raw SQL
    with RETURNING): the task done (only by the holder of the claim), returning the
    group's next task; then its items done."""
    won, next_id = Task.objects.finish(task.pk, token, now=now)
    if not won:
        # A worker whose lease expired and whose task was taken over by another leaves the
        # outcome to that one.
        log.warning("Task %s: claim lost before recording, outcome discarded", task.pk)
        return None
    return next_id


def failure_summary(task: Task, failures: dict[int, str]) -> list[dict]:
    """Sentences a customer can read: how many items failed, why, and which ones."""
    labels = dict(task.items.filter(pk__in=failures).values_list("pk", "label"))
    by_reason: dict[str, list[str]] = {}
    for pk, reason in failures.items():
        by_reason.setdefault(reason, []).append(labels.get(pk, str(pk)))
    count = len(failures)
    summary = [
        reasons.part(
            gettext_noop("%(count)d item could not be applied."),
            gettext_noop("%(count)d items could not be applied."),
            count,
            count=count,
        )
    ]
    for reason, names in by_reason.items():
        shown = ", ".join(names[:10])
        if len(names) > 10:
            more = reasons.part(gettext_noop("and %(count)d more"), count=len(names) - 10)
            names_part = reasons.part("(%(names)s %(more)s)", names=shown, more=more)
        else:
            names_part = reasons.part("(%(names)s)", names=shown)
        summary += [reasons.part(reason), names_part]
    return summary


def _after_failure(task: Task) -> int | None:
    """Move the group on when a task fails for good. Returns its next task."""
    if task.function == Task.Function.DELETE_GROUP and task.group_id:
        # The group is still live on the platform: it is operational again.
        group = Group.objects.filter(pk=task.group_id).first()
        if group is not None:
            group.abandon_deletion()
    if not task.group_id:
        return None
    return (
        Task.objects.filter(group_id=task.group_id, status=Status.TODO)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _fail_crashing(task: Task, now) -> bool:
    count = task.crashes + 1
    log.error("Task %s: its worker stopped %d times while applying it; failed", task.pk, count)
    message = gettext_noop(
        "The worker applying this task stopped %(count)d times; support has been told."
    )
    detail = [reasons.part(message, count=count)]
    with override(settings.LANGUAGE_CODE):
        text = reasons.render(detail)
    if not Task.objects.fail(task.pk, task.claim, now=now, error=text, detail=detail):
        return False
    Task.objects.filter(pk=task.pk).update(crashes=count)
    next_id = _after_failure(task)
    if next_id:
        transaction.on_commit(lambda: enqueue([next_id]))
    return True


def sweep() -> dict[str, int]:
    """Free tasks whose worker's lease expired and re-send tasks left waiting too long.
    Run periodically by Celery beat; safe to run anywhere, any number of times."""
    now = timezone.now()
    freed, failed = [], 0
    expired = Task.objects.filter(status=Status.DOING, lease_expires_at__lt=now)
    for task in expired.only("pk", "claim", "crashes", "function", "group_id"):
        # Its worker died: the attempt it had claimed does not count (attempts count the
        # backend's refusals, not crashes). A task that kills its worker every time fails
        # for good after TASK_MAX_CRASHES, so that its group's next tasks run.
        if task.crashes + 1 >= settings.TASK_MAX_CRASHES:
            with transaction.atomic():
                if _fail_crashing(task, now):
                    failed += 1
        elif Task.objects.release(task.pk, task.claim, run_after=now, crashed=True):
            freed.append(task.pk)

    stale = now - timedelta(seconds=settings.TASK_STALE_SECONDS)
    resend = list(
        Task.objects.filter(status=Status.TODO, run_after__lte=stale)
        .exclude(enqueued_at__gt=stale)
        .values_list("pk", flat=True)
    )
    if freed or resend:
        enqueue([*freed, *resend])
    if freed or resend or failed:
        log.info("Sweep: %d freed, %d re-sent, %d failed", len(freed), len(resend), failed)
    return {"freed": len(freed), "resent": len(resend), "failed": failed}
