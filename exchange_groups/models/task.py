"""Tasks: one requested change each, the source of truth for the asynchronous engine."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import reasons
from .directory import Account, Address, ExternalContact
from .group import Alias, Group
from .service import ExchangeService

# A running task with more items than this shows its progress, "n / N".
PROGRESS_MIN_ITEMS = 200


def item_counts(task_ref: str = "pk") -> tuple[Subquery, Subquery]:
    """(items done, items) of the task `task_ref` points to, as correlated counts."""
    items = TaskItem.objects.filter(task=OuterRef(task_ref)).order_by().values("task")
    done = items.filter(status=TaskItem.Status.DONE).annotate(n=Count("*")).values("n")
    total = items.annotate(n=Count("*")).values("n")
    return (
        Subquery(done, output_field=IntegerField()),
        Subquery(total, output_field=IntegerField()),
    )


class TaskQuerySet(models.QuerySet):
    """The task's lifecycle lives here, one method per transition:

        todo --claim--> doing --finish--> done
                        doing --back_off--> todo (another attempt, later)
                        doing --fail--> error --retry--> todo
                        doing --release / requeue--> todo (the attempt does not count)
        todo --cancel--> cancelled

    Each is a compare-and-swap: one conditional UPDATE that filters on the status it
    leaves (and, for a worker, on its claim token) and says whether it won. Two workers,
    or a worker and an operator, racing for the same task cannot both win; a worker whose
    claim was withdrawn changes nothing."""

    def claim(self, task_id: int, token: uuid.UUID, *, now: datetime) -> int | None:
        """todo -> doing for the worker holding `token`, if the task is due and nothing
        earlier on its group is pending. One UPDATE, which returns how many of the task's
        items are not done yet (None: not claimed).

        Written in SQL: built by the ORM (Exists, Q, Coalesce), the same statement cost
        1.7 ms of Python per task, ten times its time in PostgreSQL."""
        q = connection.ops.quote_name
        task, group, item = (q(m._meta.db_table) for m in (Task, Group, TaskItem))
        field = Task._meta.get_field
        lease = now + timedelta(seconds=settings.TASK_LEASE_SECONDS)
        moment = field("started_at").get_db_prep_value(now, connection)
        pending = ", ".join(["%s"] * len(Task.PENDING))
        # A change to a group that is not created yet (its creation failed and awaits a
        # retry) stays scheduled: it is woken when the creation is done.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {task} SET status = %s, claim = %s, lease_expires_at = %s, "
                f"attempts = attempts + 1, started_at = COALESCE(started_at, %s) "
                f"WHERE id = %s AND status = %s AND run_after <= %s "
                f"AND NOT EXISTS (SELECT 1 FROM {task} e WHERE e.group_id = {task}.group_id "
                f"AND e.id < {task}.id AND e.status IN ({pending})) "
                f"AND (function = %s OR NOT EXISTS (SELECT 1 FROM {group} g "
                f"WHERE g.id = {task}.group_id AND g.state = %s)) "
                f"RETURNING (SELECT COUNT(*) FROM {item} i "
                f"WHERE i.task_id = {task}.id AND i.status <> %s)",
                [
                    Task.Status.DOING,
                    field("claim").get_db_prep_value(token, connection),
                    field("lease_expires_at").get_db_prep_value(lease, connection),
                    moment,
                    task_id,
                    Task.Status.TODO,
                    moment,
                    *Task.PENDING,
                    Task.Function.ADD_GROUP,
                    Group.State.CREATING,
                    TaskItem.Status.DONE,
                ],
            )
            row = cursor.fetchone()
        return None if row is None else row[0]

    def held(self, task_id: int, token: uuid.UUID):
        """The task, if it is running under this claim."""
        return self.filter(pk=task_id, claim=token, status=Task.Status.DOING)

    def renew(self, task_id: int, token: uuid.UUID, *, until: datetime) -> bool:
        """The claim's lease extended (the worker's heartbeat)."""
        return bool(self.held(task_id, token).update(lease_expires_at=until))

    def release(
        self, task_id: int, token: uuid.UUID, *, run_after: datetime | None = None, crashed=False
    ) -> bool:
        """doing -> todo, the claim given back by its worker (or taken back by the sweep
        once its lease expired: `crashed`, counted apart): a crash is not the task's
        failure, the attempt does not count."""
        also = {} if run_after is None else {"run_after": run_after}
        if crashed:
            also["crashes"] = F("crashes") + 1
        return bool(
            self.held(task_id, token).update(
                status=Task.Status.TODO,
                claim=None,
                lease_expires_at=None,
                attempts=F("attempts") - 1,
                **also,
            )
        )

    def finish(self, task_id: int, token: uuid.UUID, *, now: datetime) -> tuple[bool, int | None]:
        """doing -> done with its items not yet done, by the holder of the claim. Returns
        (won, the group's next scheduled task) in two statements: the task's UPDATE says
        which task comes next with RETURNING, then its items. In SQL, as claim is."""
        q = connection.ops.quote_name
        table = q(Task._meta.db_table)
        field = Task._meta.get_field
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, finished_at = %s, error = '', "
                f"error_detail = '[]', claim = NULL, lease_expires_at = NULL "
                f"WHERE id = %s AND claim = %s AND status = %s "
                f"RETURNING (SELECT MIN(n.id) FROM {table} n "
                f"WHERE n.group_id = {table}.group_id AND n.status = %s)",
                [
                    Task.Status.DONE,
                    field("finished_at").get_db_prep_value(now, connection),
                    task_id,
                    field("claim").get_db_prep_value(token, connection),
                    Task.Status.DOING,
                    Task.Status.TODO,
                ],
            )
            row = cursor.fetchone()
        if row is None:
            return False, None
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {q(TaskItem._meta.db_table)} SET status = %s, error = '', "
                f"finished_at = %s WHERE task_id = %s AND status <> %s",
                [
                    TaskItem.Status.DONE,
                    field("finished_at").get_db_prep_value(now, connection),
                    task_id,
                    TaskItem.Status.DONE,
                ],
            )
        return True, row[0]

    def back_off(
        self, task_id: int, token: uuid.UUID, *, run_after: datetime, error: str, detail: list
    ) -> bool:
        """doing -> todo after a failed attempt, to run again once `run_after` is past."""
        return bool(
            self.held(task_id, token).update(
                status=Task.Status.TODO,
                error=error,
                error_detail=detail,
                claim=None,
                lease_expires_at=None,
                run_after=run_after,
            )
        )

    def fail(
        self, task_id: int, token: uuid.UUID, *, now: datetime, error: str, detail: list
    ) -> bool:
        """doing -> error: the last attempt failed, the task waits for an operator."""
        return bool(
            self.held(task_id, token).update(
                status=Task.Status.ERROR,
                finished_at=now,
                error=error,
                error_detail=detail,
                claim=None,
                lease_expires_at=None,
            )
        )

    def retry(self, task_id: int) -> bool:
        """error -> todo with fresh attempts, asked by a customer or an operator; its items
        in error are to do again (those done stay done)."""
        now = timezone.now()
        won = self.filter(pk=task_id, status=Task.Status.ERROR).update(
            status=Task.Status.TODO,
            attempts=0,
            crashes=0,
            error="",
            finished_at=None,
            run_after=now,
            enqueued_at=now,
            claim=None,
        )
        if won:
            TaskItem.objects.filter(task_id=task_id, status=TaskItem.Status.ERROR).update(
                status=TaskItem.Status.TODO, error=""
            )
        return bool(won)

    def requeue(self, task_id: int) -> bool:
        """doing -> todo, taken back by an operator (its worker died or hangs): the claim
        is withdrawn, so a worker still holding it records nothing."""
        now = timezone.now()
        return bool(
            self.filter(pk=task_id, status=Task.Status.DOING).update(
                status=Task.Status.TODO,
                claim=None,
                lease_expires_at=None,
                run_after=now,
                enqueued_at=now,
            )
        )

    def cancel(self, task_id: int | None = None, *, group_id: int | None = None) -> int:
        """todo -> cancelled: one task, or every task still scheduled on a group. Returns
        how many were cancelled."""
        if (task_id is None) == (group_id is None):
            raise TypeError("cancel() takes a task id or a group id")
        which = {"pk": task_id} if task_id is not None else {"group_id": group_id}
        return self.filter(status=Task.Status.TODO, **which).update(
            status=Task.Status.CANCELLED, finished_at=timezone.now(), claim=None
        )

    def with_progress(self):
        """Items done and items, counted for the running tasks only (the others cost
        nothing: CASE does not run the count)."""
        done, total = item_counts()
        doing = Q(status=Task.Status.DOING)
        return self.annotate(
            items_done=Case(When(doing, then=done)), items_total=Case(When(doing, then=total))
        )


def progress(done, total) -> tuple[int, int] | None:
    """(done, total) when worth showing: a running task with more than a few hundred items."""
    if total is not None and total > PROGRESS_MIN_ITEMS:
        return (done or 0, total)
    return None


class Task(models.Model):
    class Function(models.TextChoices):
        # The OVHcloud function names, with the words a customer reads.
        ADD_GROUP = "addDistributionGroup", _("Group creation")
        SET_GROUP = "setDistributionGroup", _("Group settings change")
        DELETE_GROUP = "deleteDistributionGroup", _("Group deletion")
        ADD_MEMBER = "addDistributionGroupMember", _("Members added")
        DELETE_MEMBER = "deleteDistributionGroupMember", _("Members removed")
        ADD_MANAGER = "addDistributionGroupManager", _("Administrators added")
        DELETE_MANAGER = "deleteDistributionGroupManager", _("Administrators removed")
        ADD_SEND_AS = "addDistributionGroupSendAs", _("Send As right granted")
        DELETE_SEND_AS = "deleteDistributionGroupSendAs", _("Send As right removed")
        ADD_SEND_ON_BEHALF = "addDistributionGroupSendOnBehalfTo", _("Send on Behalf right granted")
        DELETE_SEND_ON_BEHALF = (
            "deleteDistributionGroupSendOnBehalfTo",
            _("Send on Behalf right removed"),
        )
        ADD_ALIAS = "addDistributionGroupAlias", _("Alias added")
        DELETE_ALIAS = "deleteDistributionGroupAlias", _("Alias removed")

    class Status(models.TextChoices):
        TODO = "todo", _("Scheduled")
        DOING = "doing", _("In progress")
        DONE = "done", _("Done")
        ERROR = "error", _("Error")
        CANCELLED = "cancelled", _("Cancelled")

    # Not finished: these still hold what they requested (an address, an item) and keep
    # the tasks after them on the same group waiting.
    PENDING = (Status.TODO, Status.DOING)
    OPEN = (Status.TODO, Status.DOING, Status.ERROR)

    service = models.ForeignKey(
        ExchangeService, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("service")
    )
    group = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("group"),
    )
    # The group's address when the task was requested: still readable once it is deleted.
    object_label = models.CharField(_("object"), max_length=320)
    function = models.CharField(_("task"), max_length=48, choices=Function)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.TODO, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    reserved_address = models.ForeignKey(
        Address,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reserving_tasks",
        verbose_name=_("reserved address"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # How many times its worker died under it (the sweep took it back): not attempts.
    crashes = models.PositiveSmallIntegerField(_("worker crashes"), default=0, editable=False)
    error = models.TextField(_("error"), blank=True)
    # The same reason as message ids and parameters (exchange_groups.reasons), so that it
    # is shown in the reader's language; `error` keeps it in the reference language.
    error_detail = models.JSONField(_("error detail"), default=list, blank=True, editable=False)
    # Engine bookkeeping: when it may run next, when its wake-up message was last sent,
    # and the claim of the worker applying it, valid until the lease expires.
    run_after = models.DateTimeField(_("not before"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("last sent to workers"), null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        permissions = [("operate_task", _("Can retry, cancel and send again tasks"))]
        indexes = [
            models.Index(fields=["group", "status"], name="task_group_status"),
            # A group's last task (its status and error on the groups list): read from the
            # end of this index, not by sorting every task the group ever had (20,000 tasks
            # of one group made the groups list's page query 2 ms -> 6 ms).
            models.Index(fields=["group", "id"], name="task_group_order"),
            # Recent tasks, newest first: the id breaks ties, so the page is read in order.
            models.Index(fields=["service", "-created_at", "-id"], name="task_service_recent"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_function_display()} {self.object_label}"

    @property
    def error_message(self) -> str:
        """The error reason in the reader's language (the stored text when the reason
        predates its message ids)."""
        if not self.error:
            return ""
        return reasons.render(self.error_detail) if self.error_detail else self.error

    @property
    def progress(self) -> tuple[int, int] | None:
        """(items done, items) while it runs, for a big task (needs with_progress())."""
        return progress(getattr(self, "items_done", None), getattr(self, "items_total", None))

    @property
    def can_retry(self) -> bool:
        return self.status == self.Status.ERROR

    @property
    def can_cancel(self) -> bool:
        return self.status == self.Status.TODO

    @property
    def can_requeue(self) -> bool:
        return self.status == self.Status.DOING


class TaskItem(models.Model):
    """One item a task carries (a member, a manager, a delegation, an alias), with its own
    outcome: a retry applies only the items not yet done."""

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        DONE = "done", _("Done")
        ERROR = "error", _("Error")

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="items", verbose_name=_("task")
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="task_items",
        verbose_name=_("account"),
    )
    # A contact deleted from the service leaves its items, named by their label (its
    # address): its removal from the groups is still to be applied on the platform.
    contact = models.ForeignKey(
        ExternalContact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="task_items",
        verbose_name=_("external contact"),
    )
    alias = models.ForeignKey(
        Alias,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="task_items",
        verbose_name=_("alias"),
    )
    # The item's address when requested, for messages and once the object is gone.
    label = models.CharField(_("item"), max_length=320)
    status = models.CharField(_("status"), max_length=8, choices=Status, default=Status.TODO)
    error = models.CharField(_("error"), max_length=500, blank=True)
    finished_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("task item")
        verbose_name_plural = _("task items")

    def __str__(self):
        return self.label
