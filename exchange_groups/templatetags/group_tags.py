from django import template

from ..models import Task

register = template.Library()


@register.filter
def function_label(function: str) -> str:
    """A task function's name in words ("addDistributionGroupMember" -> "Ajout de membres")."""
    return Task.Function(function).label
