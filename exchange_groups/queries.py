"""Read-only queries the customer pages share."""

import functools

from django.db import connection
from django.db.models import F, Q, Value, prefetch_related_objects

from .models import (
    Account,
    Address,
    ExchangeService,
    ExternalContact,
    Group,
    GroupMember,
    ServiceCount,
    Task,
)
from .models.expressions import full_address
from .prepared import Ids, Prepared

CONTACTS_ONLY = "contacts"


@functools.cache
def groups_overview():
    """Group.objects.with_overview(), composed once per process: composing its correlated
    subqueries cost 2 to 2.5 ms a request, more than running them. Never evaluated
    itself: each use filters it, which clones it (as a generic view's class-level
    queryset is)."""
    return Group.objects.with_overview()


# The groups of a page of the groups list (GROUPS_PAGE of them), or a row it polls, read
# as groups_overview reads them, by a query compiled once per process (prepared.py).
GROUPS_PAGE = 20
overview_of = Prepared(lambda ids: groups_overview().filter(pk__in=ids), ids=Ids(GROUPS_PAGE))


def with_progress(groups: list[Group]) -> list[Group]:
    """`groups` (read by groups_overview) given their running task's progress ("n / N",
    Group.progress), read for the groups with a task pending only, by one query: most
    pages have none, and the counts as subqueries of every row cost 1.5 to 2 ms a page."""
    pending = [group.pk for group in groups if group.has_pending_task]
    running = tasks_with_progress().filter(group__in=pending, status=Task.Status.DOING)
    # A group's tasks run one at a time, in order: its first one running is the one.
    first = {task.group_id: task for task in running.order_by("-pk")} if pending else {}
    for group in groups:
        task = first.get(group.pk)
        group.progress_done, group.progress_total = (
            (task.items_done, task.items_total) if task else (None, None)
        )
    return groups


@functools.cache
def tasks_with_progress():
    """Task.objects.with_progress(), composed once per process (as groups_overview)."""
    return Task.objects.with_progress()


def accounts_of(service):
    """The service's accounts, as a list ordered by local part reads them from an index
    (account_address_domain_order, see in_its_domain)."""
    accounts = Account.objects.filter(service=service, address__kind="account")
    return in_its_domain(accounts, service)


def groups_of(service):
    """The service's groups, as the groups list orders them (group_address_domain_order,
    see in_its_domain)."""
    groups = Group.objects.filter(service=service, address__kind="group")
    return in_its_domain(groups, service)


def group_order_keys(service):
    """The groups list's order values (local part, address id) of the service's groups,
    read from its domain's entries of group_address_domain_order alone: a deep page typed
    by its number is found by walking them (paging.TwoEndedPaginator), where the groups
    joined to their addresses were sorted whole for an OFFSET (and asking PostgreSQL to
    keep only the addresses with their group sorted them all again). Every address of kind
    "group" is a group's own but one whose group support deleted alone in the admin: each
    such address before a page typed by its number moves it one row on (its rows are still
    the list's, in order; Next and Previous, by cursors, are exact). None for a service of
    several domains (whose groups are scattered among every other service's in the
    platform-wide index)."""
    return _addresses_in_order(service, Address.Kind.GROUP, "local_part", "id")


def account_order_keys(service):
    """The accounts tab's leading order value (the local part) of the service's accounts,
    read from its domain's entries of account_address_domain_order alone, for a deep page
    typed by its number (as group_order_keys, and as it, moved one row on by each address
    whose account support deleted alone): a local part is unique in its domain, so that
    the page is the accounts after the one before it. None for a service of several
    domains."""
    return _addresses_in_order(service, Address.Kind.ACCOUNT, "local_part")


def _addresses_in_order(service, kind, *fields):
    """The `fields` of the addresses of `kind` in the service's sole domain, in that
    order (one partial index holds them so), or None for a service of several domains."""
    sole = sole_domain(service)
    if sole is None:
        return None
    addresses = Address.objects.filter(domain_id=sole, kind=kind)
    return addresses.order_by(*fields).values_list(*fields)


def in_its_domain(rows, service):
    """`rows` (accounts or groups of `service`), narrowed to the service's domain when it
    has one (most do), so that a list ordered by local part walks that domain's entries of
    the (domain, local part) index, 20 of them for a page, where the platform-wide order
    would step over every other service's addresses between two of this one's (3 ms for a
    service of 100 groups on a platform of 11,000). That domain is read with the service by
    the guard of every page (ExchangeService.objects.with_sole_domain); a service read
    otherwise has its domains read into its prefetch cache, so that a page that lists them
    too (`service.domains.all()`) reads them once."""
    sole = sole_domain(service)
    if sole is not None:  # an address of the service is in a domain of the service
        rows = rows.filter(address__domain_id=sole)
    return rows


def sole_domain(service) -> int | None:
    """The id of the service's domain when it has exactly one (most do), else None: read
    with the service by the guard, or else from its domains, read into its prefetch cache
    (see in_its_domain)."""
    sole = getattr(service, "sole_domain_id", _UNREAD)
    if sole is _UNREAD:
        prefetch_related_objects([service], "domains")
        domains = service.domains.all()
        sole = domains[0].pk if len(domains) == 1 else None
    return sole


_UNREAD = object()


def kept_count(service, rows: str):
    """A function saying how many `rows` ("accounts", "tasks") the service has, as the
    database keeps it (ServiceCount): for a paginator that counts only for a page typed
    deep in the list (paging.CountlessPaginator)."""

    def count() -> int:
        kept = ServiceCount.objects.filter(service=service).values_list(rows, flat=True)
        return next(iter(kept), 0)

    return count


def directory(service, q="", domain="", accounts_only=False, *, limit: int | None = None):
    """The service's accounts and external contacts as one list of (kind, pk, address,
    name, ...), ordered by address: local part, then domain. `domain`: a domain id (its
    accounts), CONTACTS_ONLY, or empty for all. `limit`: how many rows the caller reads at
    most (its page's end), so that each half of the list is read that far and no further."""
    # An account's address is always of kind "account": said here so that the partial
    # indexes on account addresses serve the order. A mailbox deleted on the platform is
    # not offered (the account sync marks it gone).
    accounts = accounts_of(service).exclude(state=Account.State.GONE).annotate(mail=full_address())
    contacts = ExternalContact.objects.filter(service=service).annotate(mail=F("email"))
    if q:
        accounts = accounts.filter(Q(mail__icontains=q) | Q(display_name__icontains=q))
        contacts = contacts.filter(Q(mail__icontains=q) | Q(display_name__icontains=q))
    if domain == CONTACTS_ONLY:
        accounts = None
    elif domain:
        accounts = accounts.filter(address__domain_id=domain)
        contacts = contacts.none()
    # The order: an account's local part then domain, as account_address_order and
    # account_address_domain_order hold them; a contact's whole address (its local part
    # first, too). Not the computed full address, which no index holds: ordering tens of
    # thousands of accounts by it sorted them all for every page.
    columns = ("kind", "pk", "mail", "name", "order_key", "order_domain")
    order = ("order_key", "order_domain", "pk")
    contacts = contacts.annotate(
        kind=Value("contact"), name=F("display_name"), order_key=F("email"), order_domain=Value("")
    ).values_list(*columns)
    if accounts is None:
        return contacts.order_by(*order)
    accounts = accounts.annotate(
        kind=Value("account"),
        name=F("display_name"),
        order_key=F("address__local_part"),
        order_domain=F("address__domain__name"),
    ).values_list(*columns)
    if accounts_only or domain:
        return accounts.order_by(*order)
    if limit is not None and connection.features.supports_slicing_ordering_in_compound:
        # Each half read in order up to the page's end: a page costs its own rows. (SQLite
        # cannot limit the halves of a UNION; there the whole list is sorted.)
        accounts, contacts = accounts.order_by(*order)[:limit], contacts.order_by(*order)[:limit]
    else:
        accounts, contacts = accounts.order_by(), contacts.order_by()
    return accounts.union(contacts, all=True).order_by("order_key", "order_domain", "kind", "pk")


def directory_first_page(service, accounts_only: bool, size: int) -> list | None:
    """The first `size` + 1 rows of directory(service) (no search, no domain chosen: how
    the users and delegations pages open), by a query compiled once per process for each
    shape (prepared.py): composing and compiling the union cost more than running it.
    None for a service not read by the guard (its sole domain unknown): then the caller
    composes directory()."""
    sole = getattr(service, "sole_domain_id", _UNREAD)
    if sole is _UNREAD:
        return None
    read = _first_page(accounts_only, sole is not None, size)
    return read(service=service, **({"domain": sole} if sole is not None else {}))


@functools.cache
def _first_page(accounts_only: bool, one_domain: bool, size: int) -> Prepared:
    def build(service, domain=None):
        service.sole_domain_id = domain  # the stand-in service, as the guard reads one
        return directory(service, accounts_only=accounts_only, limit=size + 1)[: size + 1]

    if one_domain:
        return Prepared(build, service=ExchangeService, domain=int)
    return Prepared(build, service=ExchangeService)


def managers_without_mail(service, managers, member_accounts) -> list[str]:
    """The addresses of the administrators who are not contacts of the group: they
    receive none of its mail (a manager receives the group's mail only as a member)."""
    ids = set(managers) - set(member_accounts)
    if not ids:
        return []
    found = Account.objects.filter(service=service, pk__in=ids).annotate(mail=full_address())
    return list(found.order_by("mail").values_list("mail", flat=True))


def group_addresses(field: str, ids) -> dict[int, list[str]]:
    """The addresses of the groups that each of these accounts (`field` "account") or
    external contacts ("contact") is a member of, by its id, in the order of the addresses.
    Plain values: an account of a big service is in tens of groups and a page shows
    hundreds of memberships, each of which cost four model objects when prefetched. The
    groups are read by id in a second query: joined to the memberships, PostgreSQL read
    every group of the platform (a hash join) to find the few hundred of a page."""
    rows = _memberships(field)(ids=ids)
    mails = dict(_group_mails(ids={group for _owner, group in rows})) if rows else {}
    found: dict[int, list[str]] = {}
    for owner, group in rows:
        found.setdefault(owner, []).append(mails[group])
    for owned in found.values():
        owned.sort()
    return found


# A page of the accounts and contacts tabs: its rows, their memberships and their groups'
# addresses are read by queries compiled once per process (prepared.py); more ids than
# these take the ORM's ordinary path.
LISTED = 25
accounts_by_id = Prepared(
    lambda ids: Account.objects.filter(pk__in=ids).select_related("address__domain"),
    ids=Ids(LISTED),
)


@functools.cache
def _memberships(field: str) -> Prepared:
    return Prepared(
        lambda ids: GroupMember.objects.filter(**{f"{field}__in": ids}).values_list(field, "group"),
        ids=Ids(LISTED),
    )


_group_mails = Prepared(
    lambda ids: (
        Group.objects.filter(pk__in=ids).order_by().annotate(mail=full_address())
    ).values_list("pk", "mail"),
    ids=Ids(1024),
)


def with_groups(rows, field: str) -> list:
    """The rows (accounts or external contacts: `field`; a queryset, or a list read with
    their addresses), each with `groups`: the addresses of the groups it is a member of."""
    if not isinstance(rows, list):
        rows = list(rows.select_related("address__domain") if field == "account" else rows)
    groups = group_addresses(field, [row.pk for row in rows])
    for row in rows:
        row.groups = groups.get(row.pk, [])
    return rows
