"""Tasks: one requested change each, the source of truth for the asynchronous engine."""

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, When
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
    contact = models.ForeignKey(
        ExternalContact,
        on_delete=models.CASCADE,
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
