import functools
import html
import weakref
from types import SimpleNamespace

from django import template
from django.template.loader import get_template
from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .. import group_settings
from ..models import Task

register = template.Library()


@register.filter
def function_label(function: str) -> str:
    """A task function's name in words ("addDistributionGroupMember" -> "Ajout de membres")."""
    return Task.Function(function).label


@register.filter
def label(obj, field: str):
    """obj.get_<field>_display(), from a mapping built once per field: Django's rebuilds
    the mapping of the field's choices at every call, translating each label to hash it
    (a task's function has twenty: a third of the tasks page's rendering)."""
    value = getattr(obj, field)
    return _labels(type(obj), field).get(value, value)


@functools.cache
def _labels(model, field: str) -> dict:
    return dict(model._meta.get_field(field).flatchoices)  # lazy labels: translated when shown


@register.filter
def setting(value, name: str) -> str:
    """A group setting's value as every page shows it (exchange_groups/group_settings.py)."""
    return group_settings.shown(name, value)


@register.filter
def badges(addresses):
    """Each address as a light badge, the groups column of the accounts and contacts lists:
    a page shows hundreds (an account of a big service is in tens of groups), and a
    template loop (or format_html) costs about 10 µs an iteration where this costs one.
    Escaped as Django's escape does (html.escape)."""
    return mark_safe(  # each address escaped here
        "".join(
            f'<span class="badge text-bg-light border me-1">{html.escape(str(a))}</span>'
            for a in addresses
        )
    )


# An id no group has, put in the menu's links then replaced by the row's own; an address
# no group has (a control character is in none), replaced by the row's, escaped; and a
# service name no text of the menu holds, replaced by the service's.
_STAMP_ID = 987_654_321_012
_STAMP_EMAIL = "\x01group\x01"
_STAMP_SERVICE = "zz-service-stamp-987654321"

# The menus rendered with stamps, by compiled template (a template edited in development
# is compiled anew, and its menus with it), then by kind of row, language and script prefix:
# a few per process, whatever the number of services.
_menus: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@register.simple_tag(takes_context=True)
def group_menu(context, group):
    """A row's "..." menu (its button, named after the group, and its links): the same for
    every row but the service's name, the group's id and address. It is rendered once per
    process for each kind of row (operational or not) and language, and stamped with each
    row's: a page costs no render of it, where twenty rows cost twenty (ten URLs and
    labels each, 0.6 ms a render)."""
    kind = group.is_operational
    menus = context.render_context.setdefault("group_menu", {})
    if kind not in menus:
        service = context["service"].name
        menus[kind] = _stamped_menu(kind).replace(_STAMP_SERVICE, service)
    menu = menus[kind].replace(str(_STAMP_ID), str(group.pk))
    # Safe: rendered (and escaped) by the template; the address escaped here, the service
    # name is a slug.
    return mark_safe(menu.replace(_STAMP_EMAIL, html.escape(group.email)))


def _stamped_menu(kind: bool) -> str:
    template = get_template("exchange_groups/_group_menu.html")
    menus = _menus.setdefault(template.template, {})
    key = (kind, get_language(), get_script_prefix())
    if key not in menus:
        stamp = SimpleNamespace(pk=_STAMP_ID, email=_STAMP_EMAIL, is_operational=kind)
        service = SimpleNamespace(name=_STAMP_SERVICE)
        menus[key] = template.render({"service": service, "group": stamp})
    return menus[key]


@register.simple_tag(takes_context=True)
def group_url(context, name: str, group) -> str:
    """{% url name service.name group.pk %} for a row of a list: reversed once per page and
    name with a stamp id, then given the row's id (a reverse costs ~25 µs; a page of 20
    rows made 60)."""
    urls = context.render_context.setdefault("group_url", {})
    if name not in urls:
        urls[name] = reverse(name, args=[context["service"].name, _STAMP_ID])
    return urls[name].replace(str(_STAMP_ID), str(group.pk))
