"""Differences between what the panel says is live and what the platform holds, found by
the drift check (exchange_groups/platform_sync.py). Support repairs them or adopts the
platform's version (services/platform.py); the customer sees a notice on the group."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .group import Group


class Drift(models.Model):
    class Kind(models.TextChoices):
        GROUP_MISSING = "group_missing", _("Group missing on the platform")
        SETTING = "setting", _("Setting differs")
        MISSING = "missing", _("Missing on the platform")
        EXTRA = "extra", _("Only on the platform")
        ACCOUNT_GONE = "account_gone", _("Mailbox deleted on the platform")

    class Subject(models.TextChoices):
        GROUP = "group", _("Group")
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Administrator")
        SEND_AS = "send_as", _("Send As")
        SEND_ON_BEHALF = "send_on_behalf", _("Send on Behalf")
        ALIAS = "alias", _("Alias")
        SETTING = "setting", _("Setting")

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="drifts", verbose_name=_("group")
    )
    kind = models.CharField(_("difference"), max_length=16, choices=Kind)
    subject = models.CharField(_("concerns"), max_length=16, choices=Subject)
    # The address of the member, administrator, delegate or alias; the field name of a
    # setting.
    name = models.CharField(_("item"), max_length=320, blank=True)
    panel_value = models.CharField(_("in the panel"), max_length=320, blank=True)
    platform_value = models.CharField(_("on the platform"), max_length=320, blank=True)
    found_at = models.DateTimeField(_("found"), auto_now_add=True)

    class Meta:
        ordering = ["group", "subject", "name"]
        verbose_name = _("platform difference")
        verbose_name_plural = _("platform differences")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.get_subject_display()} {self.name}".strip()
