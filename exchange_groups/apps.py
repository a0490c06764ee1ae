from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ExchangeGroupsConfig(AppConfig):
    name = "exchange_groups"
    verbose_name = _("Exchange contact groups")

    def ready(self):
        from .roles import ensure_support_role

        # After the permissions themselves are created (also a post_migrate receiver).
        post_migrate.connect(ensure_support_role, sender=self)
