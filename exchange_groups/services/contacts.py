"""External contacts of a service, and importing a group's members from a list of
addresses (a CSV file)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from ..models import (
    Account,
    Address,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    Task,
    TaskItem,
)
from ..models import group as group_rules
from ..models.expressions import full_address
from .common import (
    Errors,
    Fn,
    Ref,
    expected_members,
    new_task,
    require_operational,
    send_on_commit,
)


def _platform_domain(email: str) -> bool:
    return Domain.objects.filter(name__iexact=email.rsplit("@", 1)[-1]).exists()


def create_contact(
    service: ExchangeService, *, user, email: str, display_name="", first_name="", last_name=""
) -> ExternalContact:
    errors = Errors()
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors.add("email", _("Enter a valid email address, such as name@example.com."))
    else:
        if ExternalContact.objects.filter(service=service, email__iexact=email).exists():
            errors.add("email", _("This address is already an external contact of the service."))
        elif _platform_domain(email):
            errors.add(
                "email",
                _("This address belongs to the Exchange platform: it cannot be external."),
            )
    for name, value, limit in (
        ("display_name", display_name, 256),
        ("first_name", first_name, 64),
        ("last_name", last_name, 64),
    ):
        if len(value or "") > limit:
            errors.add(name, _("At most %(max)d characters.") % {"max": limit})
    errors.raise_if_any()
    try:
        with transaction.atomic():
            return ExternalContact.objects.create(
                service=service,
                email=email,
                display_name=(display_name or "").strip() or email,
                first_name=(first_name or "").strip(),
                last_name=(last_name or "").strip(),
            )
    except IntegrityError:
        raise ValidationError(
            {"email": _("This address is already an external contact of the service.")}
        ) from None


def delete_contact(contact: ExternalContact, *, user) -> list[Task]:
    """Remove an external contact from the service. It leaves every group at once: the
    panel forgets it now, and one task per group takes it out of the group on the platform
    (the task's item keeps its address). Returns those tasks. Refused while a change
    involving it is still to be applied."""
    pending = TaskItem.objects.filter(contact=contact, task__status__in=Task.PENDING).exclude(
        status=TaskItem.Status.DONE
    )
    if pending.exists():
        raise ValidationError(
            _("A change to this contact is still being applied: wait until it is done.")
        )
    groups = list(Group.objects.filter(members__contact=contact).select_related("address__domain"))
    for group in groups:
        require_operational(group)
    with transaction.atomic():
        tasks = [new_task(group, Fn.DELETE_MEMBER, user, items=[contact]) for group in groups]
        contact.delete()  # its memberships with it; its task items keep its address
        if tasks:
            send_on_commit(*tasks)
    return tasks


@dataclass
class ImportPreview:
    """What importing a list of addresses into a group would do, line by line."""

    accounts: list = field(default_factory=list)  # Ref of each account to add
    contacts: list = field(default_factory=list)  # ExternalContact to add
    unknown: list = field(default_factory=list)  # valid outside addresses: new contacts?
    refused: list = field(default_factory=list)  # (text, reason)
    members_now: int = 0  # the group's members, with those its pending tasks add

    @property
    def known(self) -> int:
        return len(self.accounts) + len(self.contacts)

    @property
    def over_limit(self) -> str:
        """Why confirming would be refused: the group would pass its member limit (with
        the unknown addresses, when they are created)."""
        count = self.members_now + self.known + len(self.unknown)
        if count <= group_rules.MAX_MEMBERS:
            return ""
        return _("A group has at most %(max)d members; it would have %(count)d.") % {
            "max": group_rules.MAX_MEMBERS,
            "count": count,
        }


def preview_import(group: Group, addresses: list[str]) -> ImportPreview:
    """Classify addresses for an import into `group`, writing nothing."""
    preview = ImportPreview()
    service = group.service
    wanted = []
    seen = set()
    for raw in addresses:
        text = raw.strip()
        if not text:
            continue
        key = text.lower()
        if key in seen:
            preview.refused.append((text, _("Listed twice.")))
            continue
        seen.add(key)
        try:
            validate_email(text)
        except ValidationError:
            preview.refused.append((text, _("Not a valid email address.")))
            continue
        wanted.append((text, key))

    keys = [key for _text, key in wanted]
    # Looked up by (lower(local part), domain): the unique index of addresses answers
    # 20,000 lines in one pass, where matching a computed "local@domain" reads them all.
    locals_ = {key.rsplit("@", 1)[0] for key in keys}
    domains = {d.name.lower(): d.pk for d in Domain.objects.filter(service=service)}
    wanted_domains = {key.rsplit("@", 1)[1] for key in keys} & set(domains)
    # Read as plain values (Ref): a model object for each of 15,000 accounts was a third
    # of the preview.
    accounts = {
        f"{low}@{domain}": Ref("account", pk, label)
        for pk, low, domain, label in Account.objects.filter(service=service)
        .annotate(
            low=Lower("address__local_part"), domain=Lower("address__domain__name"),
            label=full_address(),
        )
        .filter(low__in=locals_, address__domain__in=[domains[d] for d in wanted_domains])
        .values_list("pk", "low", "domain", "label")
    }  # fmt: skip
    contacts = {
        c.email.lower(): c
        for c in ExternalContact.objects.filter(service=service)
        .annotate(low=Lower("email"))
        .filter(low__in=[key for key in keys if key not in accounts])
    }
    rest = [key for key in keys if key not in accounts and key not in contacts]
    # One query for the domains, not one per address (10,000 lines must preview in seconds).
    platform_domains = set(
        Domain.objects.annotate(low=Lower("name"))
        .filter(low__in={key.rsplit("@", 1)[-1] for key in rest})
        .values_list("low", flat=True)
    )
    platform = {
        f"{low}@{domain}"
        for low, domain in Address.objects.annotate(
            low=Lower("local_part"), dom=Lower("domain__name")
        )
        .filter(
            low__in={key.rsplit("@", 1)[0] for key in rest},
            dom__in={key.rsplit("@", 1)[1] for key in rest} & platform_domains,
        )
        .values_list("low", "dom")
    }
    members = expected_members(group)
    preview.members_now = len(members)
    for text, key in wanted:
        if key in accounts:
            obj, kind = accounts[key], "account"
        elif key in contacts:
            obj, kind = contacts[key], "contact"
        elif key in platform:
            preview.refused.append((text, _("An address of the platform, but not an account.")))
            continue
        elif key.rsplit("@", 1)[-1] in platform_domains:
            preview.refused.append((text, _("No such account on the platform.")))
            continue
        else:
            preview.unknown.append(text)
            continue
        if (kind, obj.pk) in members:
            preview.refused.append((text, _("Already a member of the group.")))
        elif kind == "account":
            preview.accounts.append(obj)
        else:
            preview.contacts.append(obj)
    return preview


def import_members(
    group: Group, *, user, addresses: list[str], create_unknown: bool = True
) -> Task:
    """Add the importable addresses as members, in one task; unknown outside addresses
    become external contacts of the service first when the customer asked for it."""
    require_operational(group)
    preview = preview_import(group, addresses)
    new = preview.unknown if create_unknown else []
    total = len(expected_members(group)) + len(preview.accounts) + len(preview.contacts) + len(new)
    if not (preview.accounts or preview.contacts or new):
        raise ValidationError({"file": _("Nothing to import: no address can be added.")})
    if total > group_rules.MAX_MEMBERS:
        raise ValidationError(
            {
                "file": _("A group has at most %(max)d members; it would have %(count)d.")
                % {"max": group_rules.MAX_MEMBERS, "count": total}
            }
        )
    with transaction.atomic():
        created = [
            ExternalContact.objects.create(service=group.service, email=email, display_name=email)
            for email in new
        ]
        task = new_task(
            group, Fn.ADD_MEMBER, user, refs=preview.accounts, items=[*preview.contacts, *created]
        )
        send_on_commit(task)
    return task
