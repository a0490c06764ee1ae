"""Contact groups and what hangs off them. Rows here are what is live on the platform:
a requested change lives in its task until a worker has applied it."""

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from ..audit import AuditedHistory
from .directory import Account, Address, ExternalContact
from .expressions import count_of
from .service import ExchangeService

MAX_SIZE_MB = 100
MAX_MEMBERS = 10_000
MAX_ALIASES = 1_000


class GroupQuerySet(models.QuerySet):
    def granted_to(self, user):
        from .service import ExchangeService

        return self.filter(service__in=ExchangeService.objects.granted_to(user))

    def with_drift(self):
        """What every page of a group shows of it: its address, and whether it differs
        from the platform (the notice above its tabs)."""
        from .drift import Drift

        return self.select_related("address__domain").annotate(
            has_drift=Exists(Drift.objects.filter(group=OuterRef("pk")))
        )

    def with_overview(self):
        """What the groups list shows: counts, and whether a task is pending or failed."""
        from .task import Task

        tasks = Task.objects.filter(group=OuterRef("pk"))
        return self.with_drift().annotate(
            alias_count=count_of(Alias, "group"),
            manager_count=count_of(GroupManager, "group"),
            # Kept by the database (GroupMemberCount), not counted: a 10,000-member group
            # cost 1 to 2.5 ms on every page that shows it.
            member_count=Coalesce(
                Subquery(GroupMemberCount.objects.filter(group=OuterRef("pk")).values("members")),
                Value(0),
            ),
            has_pending_task=Exists(tasks.filter(status__in=Task.PENDING)),
            last_task_status=Subquery(tasks.order_by("-pk").values("status")[:1]),
        )


class Group(models.Model):
    class State(models.TextChoices):
        CREATING = "creating", _("Creating")
        OK = "ok", _("Operational")
        DELETING = "deleting", _("Deleting")
        SUSPENDED = "suspended", _("Suspended")
        SUSPENDING = "suspending", _("Suspending")
        REOPENING = "reopening", _("Reopening")

    class Status(models.TextChoices):
        """What the customer reads of a group: its state, or that of its tasks (`status`).
        The one place its words and its badge (Bootstrap colour, icon) are defined."""

        OK = "ok", _("Operational")
        CREATING = "creating", _("Creation in progress")
        DELETING = "deleting", _("Deletion in progress")
        PENDING = "pending", _("Task scheduled or in progress")
        ERROR = "error", _("Error")
        SUSPENDED = "suspended", _("Suspended")
        SUSPENDING = "suspending", _("Suspending")
        REOPENING = "reopening", _("Reopening")

        @property
        def colour(self) -> str:
            """Its badge's Bootstrap colour."""
            return STATUS_BADGES.get(self, ("secondary", ""))[0]

        @property
        def icon(self) -> str:
            """Its badge's icon; "busy" is a spinner: work is under way."""
            return STATUS_BADGES.get(self, ("secondary", ""))[1]

        @property
        def is_settled(self) -> bool:
            """Nothing will change by itself: the list stops watching the row."""
            return self in ("ok", "error", "suspended")

    class JoinRestriction(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        APPROVAL_REQUIRED = "approvalRequired", _("Approval required")

    class DepartRestriction(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    service = models.ForeignKey(
        ExchangeService, on_delete=models.CASCADE, related_name="groups", verbose_name=_("service")
    )
    address = models.OneToOneField(
        Address, on_delete=models.PROTECT, related_name="group", verbose_name=_("email address")
    )
    display_name = models.CharField(_("group name"), max_length=256, blank=True)
    # Empty means the maximum, 100 MB.
    max_receive_size = models.PositiveSmallIntegerField(
        _("maximum receive size (MB)"), null=True, blank=True
    )
    max_send_size = models.PositiveSmallIntegerField(
        _("maximum send size (MB)"), null=True, blank=True
    )
    join_restriction = models.CharField(
        _("join restriction"),
        max_length=16,
        choices=JoinRestriction,
        default=JoinRestriction.CLOSED,
    )
    depart_restriction = models.CharField(
        _("depart restriction"),
        max_length=16,
        choices=DepartRestriction,
        default=DepartRestriction.CLOSED,
    )
    hidden_from_gal = models.BooleanField(_("hidden from the address list"), default=False)
    sender_authentication = models.BooleanField(_("sender authentication required"), default=False)
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.CREATING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last updated"), auto_now=True)

    objects = GroupQuerySet.as_manager()

    history = AuditedHistory()

    class Meta:
        ordering = ["address__local_part"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_receive_size__isnull=True)
                | Q(max_receive_size__gte=1, max_receive_size__lte=MAX_SIZE_MB),
                name="group_max_receive_size_1_to_100",
            ),
            models.CheckConstraint(
                condition=Q(max_send_size__isnull=True)
                | Q(max_send_size__gte=1, max_send_size__lte=MAX_SIZE_MB),
                name="group_max_send_size_1_to_100",
            ),
        ]

    def __str__(self):
        return self.address.email

    @property
    def email(self) -> str:
        return self.address.email

    @property
    def is_operational(self) -> bool:
        return self.state == self.State.OK

    @property
    def last_error(self) -> str:
        """Why the group is in error: its last task's reason, in the reader's language
        (needs with_overview())."""
        from .task import Task

        if self.status != "error":
            return ""
        last = Task.objects.filter(group=self).order_by("-pk")  # along task_group_order
        task = last.only("error", "error_detail").first()
        return task.error_message if task else ""

    @property
    def status(self) -> "Group.Status":
        """The status the customer reads, from the state and the tasks (needs
        with_overview()): creating, deleting, suspended..., pending, error or ok."""
        return self.status_of(
            self.state,
            getattr(self, "has_pending_task", False),
            getattr(self, "last_task_status", None),
        )

    @classmethod
    def status_of(cls, state: str, has_pending_task: bool, last_task_status: str | None) -> str:
        """The rule behind `status`, for rows read as values (the CSV export)."""
        if last_task_status == "error" and not has_pending_task:
            return cls.Status.ERROR
        if state == cls.State.OK and has_pending_task:
            return cls.Status.PENDING
        return cls.Status(state)

    @property
    def progress(self) -> tuple[int, int] | None:
        """(items done, items) of its running task when it is a big one (needs
        queries.with_progress())."""
        from .task import progress

        return progress(getattr(self, "progress_done", None), getattr(self, "progress_total", None))

    @property
    def differs_from_platform(self) -> bool:
        """The drift check found a difference with the platform (support settles it)."""
        if hasattr(self, "has_drift"):
            return self.has_drift
        return self.drifts.exists()

    @property
    def is_settled(self) -> bool:
        return self.status.is_settled

    def abandon_deletion(self) -> bool:
        """Deleting -> ok: its deletion failed for good or was cancelled, the group is still
        live and operational again. Returns whether it was being deleted."""
        if self.state != self.State.DELETING:
            return False
        self.state = self.State.OK
        self.save(update_fields=["state", "updated_at"])
        return True

    def delete_with_addresses(self) -> None:
        """Delete the group with its aliases, and give back their addresses."""
        with transaction.atomic(savepoint=False):
            address_ids = [self.address_id, *self.aliases.values_list("address_id", flat=True)]
            self.delete()
            Address.objects.filter(pk__in=address_ids).delete()


STATUS_BADGES = {
    Group.Status.OK: ("success", "check-circle"),
    Group.Status.CREATING: ("info", "busy"),
    Group.Status.DELETING: ("warning", "busy"),
    Group.Status.PENDING: ("info", "busy"),
    Group.Status.ERROR: ("danger", "exclamation-triangle"),
}


class GroupMember(models.Model):
    """A member is an account or an external contact, never both."""

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="members", verbose_name=_("group")
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("account"),
    )
    contact = models.ForeignKey(
        ExternalContact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("external contact"),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        # Support's members list, group by group (newest first): a page walks this index
        # instead of joining and sorting all of a 10,000-member group's rows (40 ms).
        indexes = [models.Index(fields=["group", "id"], name="member_group_order")]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False, contact__isnull=True)
                | Q(account__isnull=True, contact__isnull=False),
                name="member_is_account_or_contact",
            ),
            models.UniqueConstraint(
                "group",
                "account",
                condition=Q(account__isnull=False),
                name="member_account_once_per_group",
            ),
            models.UniqueConstraint(
                "group",
                "contact",
                condition=Q(contact__isnull=False),
                name="member_contact_once_per_group",
            ),
        ]

    def __str__(self):
        return str(self.account or self.contact)


class GroupMemberCount(models.Model):
    """How many members a group has, kept by the database: triggers on the members' table
    (migration 0016) count every row inserted and deleted, whoever writes it (the engine's
    SQL, support in the admin, a deleted account's cascade). The groups list and the users
    page read it instead of counting a 10,000-member group's rows on every view. No row:
    no member. Never written from Python."""

    group = models.OneToOneField(
        Group,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="kept_member_count",
        verbose_name=_("group"),
    )
    # No CHECK (>= 0): a count gone wrong must never make a member's deletion fail.
    members = models.IntegerField(_("members"), default=0)

    class Meta:
        verbose_name = _("member count")
        verbose_name_plural = _("member counts")

    def __str__(self):
        return str(self.members)


class GroupManager(models.Model):
    """An administrator of the group: always an account (the foreign key says so). It
    receives the group's mail only if it is also a member."""

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="managers", verbose_name=_("group")
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="managed_groups", verbose_name=_("account")
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("group manager")
        verbose_name_plural = _("group managers")
        constraints = [
            models.UniqueConstraint("group", "account", name="manager_once_per_group"),
        ]

    def __str__(self):
        return str(self.account)


class Delegation(models.Model):
    class Kind(models.TextChoices):
        SEND_AS = "send_as", _("Send As")
        SEND_ON_BEHALF = "send_on_behalf", _("Send on Behalf")

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="delegations", verbose_name=_("group")
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="delegations", verbose_name=_("account")
    )
    kind = models.CharField(_("right"), max_length=16, choices=Kind)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            # One right per account and group: Send As and Send on Behalf exclude each other.
            models.UniqueConstraint("group", "account", name="delegation_one_right_per_account"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.account}"


class Alias(models.Model):
    class State(models.TextChoices):
        CREATING = "creating", _("Creating")
        OK = "ok", _("OK")
        DELETING = "deleting", _("Deleting")

    # A change of an alias (its state) is in its group's trail (Historique); a change of a
    # member, an administrator or a right is not (audit_diff.trail_index, audit.py).
    in_trail_when_changed = True

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("group")
    )
    address = models.OneToOneField(
        Address, on_delete=models.PROTECT, related_name="alias", verbose_name=_("address")
    )
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.CREATING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["address__local_part"]
        verbose_name = _("alias")
        verbose_name_plural = _("aliases")

    def __str__(self):
        return self.address.email

    def abandon_deletion(self) -> bool:
        """Deleting -> ok: its removal was cancelled. Returns whether it was being removed."""
        if self.state != self.State.DELETING:
            return False
        self.state = self.State.OK
        self.save(update_fields=["state"])
        return True

    def delete_with_address(self) -> None:
        """Delete the alias and give back its address."""
        with transaction.atomic(savepoint=False):
            address_id = self.address_id
            self.delete()
            Address.objects.filter(pk=address_id).delete()
