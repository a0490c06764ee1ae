from typing import NamedTuple

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.db.models.lookups import IContains
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import access, services
from ..models import ExchangeService, Group
from ..models.expressions import full_address
from ..paging import cursors, narrow_page
from ..prepared import Contains, Ids, Prepared
from ..queries import (
    GROUPS_PAGE,
    group_order_keys,
    groups_of,
    overview_of,
    sole_domain,
    with_progress,
)
from .rendering import render_region

# A search finds a few groups most often: up to this many, they are named by their ids
# (group_search), and paged from them (paging.narrow_page).
SEARCH_FEW = 100


class Search(NamedTuple):
    """What group_search found: the groups' condition; whether they are few (True: up to
    SEARCH_FEW, named by `ids`), more (False), or were not looked up first (None: a whole
    address, SQLite)."""

    condition: Q
    few: bool | None
    ids: frozenset = frozenset()


# The few groups found, in the list's order, by a query compiled once per process
# (prepared.py): compiling it with its up to SEARCH_FEW ids cost as much as running it.
_in_order = Prepared(
    lambda service, ids: (
        Group.objects.filter(service=service, pk__in=ids)
        .order_by("address__local_part", "address_id")
        .values_list("pk", flat=True)
    ),
    service=ExchangeService,
    ids=Ids(SEARCH_FEW),
)


def search_groups(queryset, q: str, service):
    """Server-side search by address (local part, domain or the whole address) or name,
    among the groups of `queryset` (the service's)."""
    return queryset.filter(group_search(q, service).condition) if q else queryset


def group_search(q: str, service) -> Search:
    """The groups of `service` that search_groups finds (Search)."""
    if "@" in q or connection.vendor != "postgresql":
        return Search(Q(IContains(full_address(), q)) | Q(display_name__icontains=q), None)
    # Without "@" the text is within the local part, the name or the domain: each is
    # looked up among the service's groups on its own, where a trigram index answers it
    # (migration 0009), and up to SEARCH_FEW groups found are named by their ids: the
    # page then reads those alone. The lookups are the service's own: a text common on
    # the platform is not read in every other customer's groups (88 ms for a service of
    # 100 groups on a platform of 11,000). A text found in more groups (a search for
    # "group" among groups named so) is tested on each group of the service instead, as
    # the list walks them: a union of 10,000 ids, counted then paged, took 80 ms twice.
    sole = sole_domain(service)
    if sole is None:
        found = _found(service=service, q=q)
    else:
        found = _found_in_domain(service=service, q=q, domain=sole)
    if len(set(found)) <= SEARCH_FEW:
        return Search(Q(pk__in=set(found)), True, frozenset(found))
    anywhere = Q(address__local_part__icontains=q) | Q(display_name__icontains=q)
    return Search(anywhere | Q(address__domain__name__icontains=q), False)


def _union_found(service, q: str, domain: int | None = None):
    """The ids of the groups whose local part, name or domain's name holds `q`: one
    lookup each, each answered by its own index, the local part's by the partial trigram
    index of group addresses (hence its kind), within the service's sole `domain` when it
    has one (queries.in_its_domain: 4.6 ms instead of 6.9 for "group0" at 10,000 groups).
    A group is in each part at most once: 3 * SEARCH_FEW + 1 rows are more than
    SEARCH_FEW groups, fewer rows are all of them."""
    in_domain = {} if domain is None else {"address__domain_id": domain}
    parts = (
        Q(address__kind="group", address__local_part__icontains=q, **in_domain),
        Q(display_name__icontains=q),
        Q(address__kind="group", address__domain__name__icontains=q),
    )
    first, *rest = (
        Group.objects.filter(part, service=service).order_by().values_list("pk", flat=True)
        for part in parts
    )
    return first.union(*rest, all=True)[: len(parts) * SEARCH_FEW + 1]


# Compiled once per process (prepared.py), for a service of one domain and for one of
# several: composing and compiling the union cost more than PostgreSQL's answer.
_found = Prepared(_union_found, service=ExchangeService, q=Contains)
_found_in_domain = Prepared(_union_found, service=ExchangeService, q=Contains, domain=int)


@access.customer_view
@require_GET
def group_list(request, service):
    q = request.GET.get("q", "").strip()
    search = group_search(q, service) if q else Search(Q(), None)
    found, few = search.condition, search.few
    # Ordered as group_address_domain_order holds them (queries.groups_of), so that a
    # page reads 20 entries of the index instead of sorting every group. But a few groups
    # found, named by their ids, are read by them and sorted: walking the domain's index
    # to find them read all its entries (3 ms in a service of 10,000 groups).
    if few:
        groups = _in_order(service=service, ids=search.ids)  # a list of ids, in order
    else:
        groups = groups_of(service).filter(found).order_by("address__local_part", "address_id")
    # The counts and statuses are computed for the 20 groups shown, not for every group.
    # The total counts the same groups on the groups' own service index: every group's
    # address is of kind "group", and the join to say so cost 2.5 ms per 10,000 groups.
    # A search that finds more than SEARCH_FEW groups is not counted: its count grew with
    # the groups found (10,000 matches of "group": 20 ms), for a total nobody pages
    # through; it says "more than SEARCH_FEW" and pages by Next and Previous (cursors).
    # The whole list's Next and Previous carry cursors too, towards a page deep in it; a
    # deep page typed by its number is found by walking the groups' addresses alone.
    many = few is False
    page = narrow_page(
        groups,
        request.GET.get("page"),
        GROUPS_PAGE,
        lambda ids: with_progress(overview_of(ids=ids)),
        count=not many,
        counted=Group.objects.filter(found, service=service),
        walked=None if q else group_order_keys(service),
        few=SEARCH_FEW if few else 0,
        **cursors(request),
    )
    context = {"service": service, "tab": "groups", "page": page, "q": q, "few": SEARCH_FEW}
    return render_region(request, "exchange_groups/group_list.html", "table", context)


@access.customer_view
@require_GET
def group_row(request, service, group_id):
    """One row of the list, polled by htmx while the group has work in progress. A group
    that no longer exists (its deletion is done) answers empty, and htmx removes the row:
    so the group is looked up here, within the user's service, not by the guard (a 404)."""
    if not request.htmx:
        return redirect("panel:groups", service=service.name)
    found = [group for group in overview_of(ids=[group_id]) if group.service_id == service.pk]
    if not found:
        return HttpResponse("")
    context = {"service": service, "group": with_progress(found)[0]}
    return render(request, "exchange_groups/group_list.html#row", context)


@access.customer_view
@require_http_methods(["GET", "POST"])
def group_delete(request, service, group):
    if request.method == "POST":
        try:
            services.delete_group(group, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Your request to delete %(group)s has been taken into account.")
                % {"group": group.email},
            )
        return redirect("panel:groups", service=service.name)
    context = {"service": service, "tab": "groups", "group": group}
    return render_region(request, "exchange_groups/group_delete.html", "confirm", context)


@access.customer_view
@require_GET
def address_check(request, service):
    """Whether the address typed in a form is free, shown as the user types."""
    prefix = request.GET.get("prefix", "")
    local_part = request.GET.get(f"{prefix}local_part", "")
    domain = request.GET.get(f"{prefix}domain", "")
    message, ok = "", False
    group_id = request.GET.get("group", "")
    group = service.groups.filter(pk=group_id).first() if group_id.isdigit() else None
    if (
        group
        and local_part.lower() == group.address.local_part.lower()
        and (domain == str(group.address.domain_id))
    ):
        message, ok = _("This is the group's current address."), True
    elif local_part:
        try:
            found = services.check_address(service, local_part, domain)
        except ValidationError as exc:
            message = " ".join(exc.messages)
        else:
            ok = True
            message = _("%(address)s is available.") % {"address": f"{local_part}@{found.name}"}
    return render(request, "exchange_groups/address_check.html", {"message": message, "ok": ok})
