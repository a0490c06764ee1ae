from django.conf import settings
from django.db import models
from django.db.models import Count, Min, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from ..audit import AuditedHistory


class ExchangeServiceQuerySet(models.QuerySet):
    def granted_to(self, user):
        """The services a customer may manage: the scope of every customer query."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(customers=user)

    def with_sole_domain(self):
        """`sole_domain_id`: the service's domain when it has exactly one (most do), else
        None; read with the service, it spares a page reading the domains to know it
        (queries.in_its_domain)."""
        domains = (
            Domain.objects.filter(service=OuterRef("pk"))
            .order_by()
            .values("service")
            .annotate(n=Count("pk"), first=Min("pk"))
            .filter(n=1)
            .values("first")
        )
        return self.annotate(sole_domain_id=Subquery(domains))


class ExchangeService(models.Model):
    organization_name = models.CharField(_("organization"), max_length=64)
    name = models.CharField(_("service name"), max_length=64, unique=True)
    display_name = models.CharField(_("display name"), max_length=128, blank=True)
    customers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="exchange_services",
        blank=True,
        verbose_name=_("customers"),
        help_text=_("The customer logins that may manage this service."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ExchangeServiceQuerySet.as_manager()

    # The audit trail: who changed what and when (the admin and the "Historique" page).
    history = AuditedHistory()

    class Meta:
        ordering = ["name"]
        verbose_name = _("Exchange service")
        verbose_name_plural = _("Exchange services")

    def __str__(self):
        return self.display_name or self.name


class Domain(models.Model):
    class State(models.TextChoices):
        OK = "ok", _("OK")
        CREATING = "creating", _("Creating")
        DELETING = "deleting", _("Deleting")
        SUSPENDED = "suspended", _("Suspended")

    service = models.ForeignKey(
        ExchangeService, on_delete=models.CASCADE, related_name="domains", verbose_name=_("service")
    )
    name = models.CharField(_("domain name"), max_length=253, unique=True)
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.OK)

    history = AuditedHistory()

    class Meta:
        ordering = ["name"]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self):
        return self.name

    @property
    def is_usable(self) -> bool:
        """Only domains in state ok are offered for new addresses."""
        return self.state == self.State.OK


class ServiceCount(models.Model):
    """How many accounts and tasks a service has, kept by the database: triggers on the
    accounts' and tasks' tables (migration 0017) count every row inserted and deleted,
    whoever writes it (the account sync, the services, support, a cascade). A page of the
    accounts tab or of recent tasks typed by its number deep in the list reads it to know
    whether to read the page from the end, instead of counting 50,000 rows (7-40 ms). No
    row: none of either. Never written from Python."""

    service = models.OneToOneField(
        ExchangeService,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="kept_counts",
        verbose_name=_("service"),
    )
    # No CHECK (>= 0): a count gone wrong must never make a deletion fail.
    # db_default: a trigger counting accounts creates the row without saying its tasks.
    accounts = models.IntegerField(_("accounts"), default=0, db_default=0)
    tasks = models.IntegerField(_("tasks"), default=0, db_default=0)

    class Meta:
        verbose_name = _("service count")
        verbose_name_plural = _("service counts")

    def __str__(self):
        return f"{self.accounts} / {self.tasks}"
