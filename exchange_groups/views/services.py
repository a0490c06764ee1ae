from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import access
from ..models import ExchangeService
from ..paging import cursors, narrow_page
from ..queries import (
    LISTED,
    account_order_keys,
    accounts_by_id,
    accounts_of,
    kept_count,
    with_groups,
)
from .rendering import render_region


@access.customer_view
@require_GET
def home(request):
    services = ExchangeService.objects.granted_to(request.user)
    if services.count() == 1:
        return redirect("panel:groups", service=services.get().name)
    return redirect("panel:services")


@access.customer_view
@require_GET
def service_list(request):
    services = (
        ExchangeService.objects.granted_to(request.user)
        .annotate(group_count=Count("groups", distinct=True))
        .prefetch_related("domains")
    )
    return render(request, "exchange_groups/service_list.html", {"services": services})


@access.customer_view
@require_GET
def service_info(request, service):
    context = {
        "service": service,
        "tab": "info",
        "domains": service.domains.all(),
        "account_count": service.accounts.count(),
        "contact_count": service.external_contacts.count(),
        "group_count": service.groups.count(),
    }
    return render(request, "exchange_groups/service_info.html", context)


@access.customer_view
@require_GET
def accounts(request, service):
    q = request.GET.get("q", "").strip()
    rows = accounts_of(service).order_by("address__local_part", "pk")
    if q:
        rows = rows.filter(Q(address__local_part__icontains=q) | Q(display_name__icontains=q))
    # No count of tens of thousands of accounts: the page reads its own rows from the index
    # (account_address_order), then their groups. A page typed deep in the list needs the
    # number of rows listed (paging.CountlessPaginator), the same rows exactly, so that a
    # page read from the end is the right one: every account of the service, as the
    # database keeps their count (counting 50,000 took 7 to 40 ms); a search's, counted.
    # Such a page is found along the local parts of the domain's accounts alone.
    page = narrow_page(
        rows,
        request.GET.get("page"),
        LISTED,
        lambda ids: with_groups(accounts_by_id(ids=ids), "account"),
        count=False,
        counted=None if q else kept_count(service, "accounts"),
        walked=None if q else account_order_keys(service),
        **cursors(request),
    )
    context = {"service": service, "tab": "accounts", "page": page, "q": q}
    return render_region(request, "exchange_groups/accounts.html", "table", context)
