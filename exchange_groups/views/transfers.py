"""CSV exports (the groups list, one group's members) and importing members from a CSV."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, When
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import access, services
from ..csvfiles import UnreadableFile, read_addresses, streamed_csv
from ..forms import ImportForm
from ..models import Group, GroupManager, GroupMember
from ..models.expressions import full_address
from .drafts import Drafts
from .groups import search_groups

# The exports read this many rows at a time (a server-side cursor on PostgreSQL): what one
# holds in memory is a batch, whatever the number of groups or members.
EXPORT_BATCH = 500


@access.customer_view
@require_GET
def export_groups(request, service):
    groups = search_groups(
        Group.objects.with_overview().filter(service=service),
        request.GET.get("q", "").strip(),
        service,
    )
    header = [_("Group name"), _("Email address"), _("Aliases"), _("Administrators"),
              _("Contacts"), _("Status")]  # fmt: skip
    # Plain values, labels translated once: 10,000 rows stream in well under a second.
    labels = {status: str(label) for status, label in Group.Status.choices}
    values = groups.values_list(
        "display_name", "address__local_part", "address__domain__name", "alias_count",
        "manager_count", "member_count", "state", "has_pending_task", "last_task_status",
    )  # fmt: skip
    rows = (
        [name, f"{local}@{domain}", aliases, managers, members,
         labels[Group.status_of(state, pending, last)]]  # fmt: skip
        for name, local, domain, aliases, managers, members, state, pending, last
        in values.iterator(chunk_size=EXPORT_BATCH)
    )  # fmt: skip
    return streamed_csv(f"{service.name}-groups.csv", header, rows)


@access.customer_view
@require_GET
def export_members(request, service, group):
    managers = set(GroupManager.objects.filter(group=group).values_list("account_id", flat=True))
    # Concat gives "@" (not NULL) for an external contact, whose account parts are NULL:
    # the account's address only for an account, the contact's otherwise.
    account_address = full_address("account__address")
    members = (
        GroupMember.objects.filter(group=group)
        .annotate(
            mail=Case(
                When(account__isnull=False, then=account_address),
                default="contact__email",
                output_field=CharField(),
            ),
            name=Coalesce(
                "account__display_name", "contact__display_name", output_field=CharField()
            ),
        )
        .order_by("mail")
        .values_list("mail", "name", "account_id")
    )
    yes, no = _("yes"), _("no")

    def rows():
        for mail, name, account_id in members.iterator(chunk_size=EXPORT_BATCH):
            kind = _("Account") if account_id else _("External contact")
            yield [mail, name, kind, yes if account_id in managers else no, yes]
        # Administrators who are not contacts: listed too, they manage the group.
        member_accounts = GroupMember.objects.filter(group=group, account__isnull=False)
        others = GroupManager.objects.filter(group=group).exclude(
            account__in=member_accounts.values("account_id")
        )
        for manager in others.select_related("account__address__domain"):
            yield [str(manager.account), manager.account.display_name, _("Account"), yes, no]

    header = [_("Email address"), _("Name"), _("Type"), _("Administrator"), _("Contact")]
    return streamed_csv(f"{group.address.local_part}-members.csv", header, rows())


@access.customer_view
@require_http_methods(["GET", "POST"])
def import_members(request, service, group):
    """Upload, preview (what matches, what is unknown, what is refused and why), confirm."""
    context = {"service": service, "group": group, "tab": "groups"}
    # The preview is a draft (views/drafts.py), pruned like every draft: uploads never pile
    # up in the session. Its token ties the confirmation to the preview the user saw.
    drafts = Drafts(request, "import")
    if request.method == "POST" and request.POST.get("action") == "confirm":
        token = request.POST.get("token", "")
        kept = drafts.load(group.pk, token)
        if kept is None:
            messages.warning(request, _("This import had expired: upload the file again."))
            return redirect("panel:group-import", service=service.name, group=group.pk)
        try:
            services.import_members(
                group,
                user=request.user,
                addresses=kept["addresses"],
                create_unknown=bool(request.POST.get("create_unknown")),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("panel:group-import", service=service.name, group=group.pk)
        drafts.end(group.pk, token)
        messages.success(
            request,
            _("Your request has been taken into account: the contacts are being added to "
              "%(group)s.") % {"group": group.email},
        )  # fmt: skip
        return redirect("panel:groups", service=service.name)

    form = ImportForm(request.POST if request.method == "POST" else None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload is None:
            form.add_error("file", _("Choose a CSV file."))
        else:
            try:
                addresses = read_addresses(upload)
            except UnreadableFile as exc:
                form.add_error("file", str(exc))
            else:
                context["token"] = drafts.start(group.pk, {"addresses": addresses})
                context["preview"] = services.preview_import(group, addresses)
    context["form"] = form
    return render(request, "exchange_groups/group_import.html", context)
