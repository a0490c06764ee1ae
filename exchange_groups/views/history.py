"""Historique: who changed a group, when, and what, from the audit trail."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import access
from ..audit_diff import group_trail


@access.customer_view
@require_GET
def group_history(request, service, group):
    page = Paginator(group_trail(group), 30).get_page(request.GET.get("page"))
    context = {"service": service, "group": group, "tab": "groups", "page": page}
    return render(request, "exchange_groups/group_history.html", context)
