"""Historique: who changed a group, when, and what, from the audit trail."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import access
from ..audit_diff import trail_entries, trail_index


@access.customer_view
@require_GET
def group_history(request, service, group):
    # The page's 30 entries are read and worded, not the group's whole history.
    page = Paginator(trail_index(group), 30).get_page(request.GET.get("page"))
    page.object_list = trail_entries(group, list(page.object_list))
    context = {"service": service, "group": group, "tab": "groups", "page": page}
    return render(request, "exchange_groups/group_history.html", context)
