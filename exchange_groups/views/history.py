"""Historique: who changed a group, when, and what, from the audit trail."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import access
from ..audit_diff import trail_page
from ..models import Group


# The page shows the group's address and drift notice, not its counts and statuses (the
# overview counts a big group's 10,000 members).
@access.customer_view(groups=Group.objects.with_drift())
@require_GET
def group_history(request, service, group):
    # The page's 30 entries are read and worded, not the group's whole history.
    page = trail_page(group, request.GET.get("page"))
    context = {"service": service, "group": group, "tab": "groups", "page": page}
    return render(request, "exchange_groups/group_history.html", context)
