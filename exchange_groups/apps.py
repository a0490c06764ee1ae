from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeGroupsConfig(AppConfig):
    name = "exchange_groups"
    verbose_name = _("Exchange contact groups")
