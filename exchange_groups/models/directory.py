"""Addresses and the mailboxes and contacts that groups are made of."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ..audit import AuditedHistory
from .service import Domain, ExchangeService

# The OVHcloud pattern for a local part: runs of letters, digits, - and _, joined by a
# single . or +.
LOCAL_PART_RE = re.compile(r"^[-_a-zA-Z0-9]+((\.|\+)[-_a-zA-Z0-9]+)*$")
LOCAL_PART_MAX_LENGTH = 64

validate_local_part = RegexValidator(
    LOCAL_PART_RE,
    _(
        "Use letters, digits, “-” and “_”, with a single “.” or “+” between them "
        "(not at the start or the end)."
    ),
    code="invalid_local_part",
)


class AddressQuerySet(models.QuerySet):
    def named(self, local_part: str, domain):
        """The address `local_part`@`domain`, in any case, looked up by the expression of
        address_unique_on_platform (lower case), so that its index answers: compared in
        upper case (`local_part__iexact`), every address of the platform was read (28 ms
        for 66,000, on every letter typed in the wizard's address check)."""
        lower = Lower("local_part")
        return self.alias(lower_local_part=lower).filter(
            lower_local_part=local_part.lower(), domain=domain
        )


class Address(models.Model):
    """One address of the platform, used once: by an account, a group, an alias, or
    reserved by a pending change.

    The unique constraint is what keeps an address single on the whole platform, so two
    requests racing for it cannot both succeed: the second insert fails.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account")
        GROUP = "group", _("Group")
        ALIAS = "alias", _("Alias")
        RESERVED = "reserved", _("Reserved by a pending change")

    domain = models.ForeignKey(
        Domain, on_delete=models.PROTECT, related_name="addresses", verbose_name=_("domain")
    )
    local_part = models.CharField(
        _("local part"), max_length=LOCAL_PART_MAX_LENGTH, validators=[validate_local_part]
    )
    kind = models.CharField(_("used by"), max_length=16, choices=Kind)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["domain__name", "local_part"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                Lower("local_part"), "domain", name="address_unique_on_platform"
            ),
        ]
        # The lists (groups, accounts, the member pickers) are ordered by local part: a
        # page walks these indexes instead of sorting every address of the service.
        indexes = [
            models.Index(
                fields=["local_part"], condition=Q(kind="account"), name="account_address_order"
            ),
            models.Index(
                fields=["domain", "local_part"],
                condition=Q(kind="account"),
                name="account_address_domain_order",
            ),
            # The groups list: (local part, id) so that ties are ordered by the index too;
            # a service's own list walks its domain's entries (queries.in_its_domain),
            # support's list of every group the platform-wide order.
            models.Index(
                fields=["local_part", "id"], condition=Q(kind="group"), name="group_address_order"
            ),
            models.Index(
                fields=["domain", "local_part", "id"],
                condition=Q(kind="group"),
                name="group_address_domain_order",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.domain.name}"


class Account(models.Model):
    """A mailbox of the service. Managed by support and seed data; customers pick them."""

    class State(models.TextChoices):
        OK = "ok", _("OK")
        CREATING = "creating", _("Creating")
        SUSPENDED = "suspended", _("Suspended")
        DELETING = "deleting", _("Deleting")
        # The mailbox was deleted on the platform (found by the account sync): kept, so
        # that the groups it is still in show it, until support repairs them.
        GONE = "gone", _("Deleted on the platform")

    service = models.ForeignKey(
        ExchangeService,
        on_delete=models.CASCADE,
        related_name="accounts",
        verbose_name=_("service"),
    )
    address = models.OneToOneField(
        Address, on_delete=models.PROTECT, related_name="account", verbose_name=_("address")
    )
    display_name = models.CharField(_("display name"), max_length=256, blank=True)
    first_name = models.CharField(_("first name"), max_length=64, blank=True)
    last_name = models.CharField(_("last name"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.OK)

    history = AuditedHistory()

    class Meta:
        ordering = ["address__local_part"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self):
        return self.address.email

    def clean(self):
        if self.address_id and self.address.domain.service_id != self.service_id:
            raise ValidationError({"address": _("The domain belongs to another service.")})


class ExternalContact(models.Model):
    """An address outside the platform that groups may deliver to."""

    service = models.ForeignKey(
        ExchangeService,
        on_delete=models.CASCADE,
        related_name="external_contacts",
        verbose_name=_("service"),
    )
    email = models.EmailField(_("email address"), max_length=254)
    display_name = models.CharField(_("display name"), max_length=256, blank=True)
    first_name = models.CharField(_("first name"), max_length=64, blank=True)
    last_name = models.CharField(_("last name"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["email"]
        verbose_name = _("external contact")
        verbose_name_plural = _("external contacts")
        constraints = [
            models.UniqueConstraint(
                "service", Lower("email"), name="external_contact_unique_per_service"
            ),
        ]

    def __str__(self):
        return self.email
