"""Read-only queries the customer pages share."""

from django.db.models import F, Q, Value

from .models import Account, ExternalContact
from .models.expressions import full_address

CONTACTS_ONLY = "contacts"


def directory(service, q: str = "", domain: str = "", accounts_only: bool = False):
    """The service's accounts and external contacts as one list of (kind, pk, address,
    name), ordered by address. `domain`: a domain id (its accounts), CONTACTS_ONLY, or
    empty for all."""
    full = full_address()
    # An account's address is always of kind "account": said here so that the partial
    # indexes on account addresses serve the order. A mailbox deleted on the platform is
    # not offered (the account sync marks it gone).
    accounts = (
        Account.objects.filter(service=service, address__kind="account")
        .exclude(state=Account.State.GONE)
        .annotate(mail=full)
    )
    contacts = ExternalContact.objects.filter(service=service).annotate(mail=F("email"))
    if q:
        accounts = accounts.filter(Q(mail__icontains=q) | Q(display_name__icontains=q))
        contacts = contacts.filter(Q(mail__icontains=q) | Q(display_name__icontains=q))
    if domain == CONTACTS_ONLY:
        accounts = accounts.none()
    elif domain:
        accounts = accounts.filter(address__domain_id=domain)
        contacts = contacts.none()
    columns = ("kind", "pk", "mail", "name")
    accounts = (
        accounts.annotate(kind=Value("account"), name=F("display_name"))
        .order_by()
        .values_list(*columns)
    )
    if accounts_only or (domain and domain != CONTACTS_ONLY):
        # Accounts alone are ordered by columns an index holds (account_address_domain_order), so
        # that a page reads its rows from the index instead of sorting every account.
        return accounts.order_by("address__local_part", "address__domain__name")
    contacts = (
        contacts.annotate(kind=Value("contact"), name=F("display_name"))
        .order_by()
        .values_list(*columns)
    )
    return accounts.union(contacts, all=True).order_by("mail")


def managers_without_mail(service, managers, member_accounts) -> list[str]:
    """The addresses of the administrators who are not contacts of the group: they
    receive none of its mail (a manager receives the group's mail only as a member)."""
    ids = set(managers) - set(member_accounts)
    if not ids:
        return []
    found = Account.objects.filter(service=service, pk__in=ids).annotate(mail=full_address())
    return list(found.order_by("mail").values_list("mail", flat=True))
