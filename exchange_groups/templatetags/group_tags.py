from django import template

from .. import group_settings
from ..models import Task

register = template.Library()


@register.filter
def function_label(function: str) -> str:
    """A task function's name in words ("addDistributionGroupMember" -> "Ajout de membres")."""
    return Task.Function(function).label


@register.filter
def setting(value, name: str) -> str:
    """A group setting's value as every page shows it (exchange_groups/group_settings.py)."""
    return group_settings.shown(name, value)
