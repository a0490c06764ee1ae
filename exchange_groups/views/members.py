"""Configurer les utilisateurs (members and administrators) and Gérer les délégations:
the picker (views/picker.py) showing today's state, a summary of what changes, then
confirm. Only the differences become tasks."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy  # class attributes: translated when shown
from django.views import View

from .. import access, services
from ..models import Group
from ..queries import CONTACTS_ONLY
from .drafts import Drafts
from .picker import DelegationsPicker, MembersPicker, Today


class TickedGroupPage(View):
    template_name = "exchange_groups/group_picker_page.html"
    heading = ""
    picker_class = MembersPicker
    kind = ""  # of the drafts
    done_message = ""

    # The page shows the group's address and drift notice, not its counts and statuses.
    @method_decorator(access.customer_view(operational=True, groups=Group.objects.with_drift()))
    def dispatch(self, request, *args, service, group, **kwargs):
        self.service, self.group = service, group
        self.drafts = Drafts(request, self.kind)
        return super().dispatch(request, *args, **kwargs)

    # --- what a subclass defines: initial_ticks() -> today's boxes ({column: [key]} or a
    # Today);
    # plan(wanted) -> the service's plan, apply(wanted) -> writes the tasks. --------------

    @cached_property
    def pending(self):
        """The group's pending items, read once for the boxes and the ticks."""
        return services.pending_items(self.group)

    @cached_property
    def picker(self):
        """Today's boxes (live, with the pending changes): the draft keeps only the
        customer's differences from them."""
        return self.picker_class(self.service, self.initial_ticks())

    # --- flow -------------------------------------------------------------------------------
    def get(self, request):
        # Viewing the page writes nothing: its draft starts at its first post.
        token = self.drafts.open(self.group.pk)
        return self.render_list(token, self.picker.blank())

    def post(self, request):
        token = request.POST.get("token", "")
        state = self.drafts.load(self.group.pk, token, blank=self.picker.blank())
        if state is None:  # expired or forged: start again from today's state
            messages.warning(request, _("This page had expired: here is the group as it is now."))
            return redirect(request.path)
        state = self.picker.merge(state, request.POST)
        self.drafts.save(self.group.pk, token, state)
        action = request.POST.get("action", "")
        if action in ("review", "confirm"):
            wanted = self.picker.wanted(state)
            try:
                plan = self.plan(wanted)
                if action == "confirm":
                    self.apply(wanted)
            except ValidationError as exc:
                return self.render_list(token, state, errors=exc.messages)
            if action == "review":
                return render(request, self.template_name, self.context(token, state, plan=plan))
            self.drafts.end(self.group.pk, token)
            messages.success(request, self.done_message % {"group": self.group.email})
            return redirect("panel:groups", service=self.service.name)
        nav = request.POST.get("nav", "")
        return self.render_list(token, state, partial=bool(request.htmx and nav))

    def render_list(self, token, state, errors=(), partial=False):
        template = self.picker.template if partial else self.template_name
        return render(self.request, template, self.context(token, state, errors=errors))

    def context(self, token, state, errors=(), plan=None):
        pending = services.pending_subjects(self.group, self.pending)
        return {
            "service": self.service,
            "group": self.group,
            "tab": "groups",
            "heading": self.heading,
            "token": token,
            **self.picker.context(state, lambda row: self.decorate(row, pending)),
            "domains": self.service.domains.all(),
            "contacts_only": CONTACTS_ONLY,
            "errors": errors,
            "plan": plan,
        }

    def decorate(self, row, pending):
        return row


class UsersPage(TickedGroupPage):
    heading = gettext_lazy("Configure the users")
    picker_class = MembersPicker
    kind = "users"
    done_message = gettext_lazy(
        "Your request has been taken into account: the members and administrators "
        "of %(group)s are being updated."
    )

    def initial_ticks(self):
        return GroupUsers(self.group, self.pending)

    def plan(self, wanted):
        return services.plan_users(self.group, **wanted)

    def apply(self, wanted):
        services.change_users(self.group, user=self.request.user, **wanted)

    def decorate(self, row, pending):
        row["member_pending"] = f"member:{row['key']}" in pending
        row["manager_pending"] = f"manager:{row['key']}" in pending
        return row


class GroupUsers(Today):
    """A group's contacts and administrators once its pending tasks are applied. The
    administrators (a few) are read whole; the contacts (up to 10,000) are asked about the
    keys a page shows, and counted (services.member_outlook): a page of the 10,000-member
    group neither reads nor holds all of them. `all("member")` (a review) reads them."""

    def __init__(self, group, pending):
        self.group, self.pending = group, pending
        managers = services.expected_managers(group, pending)
        self.managers = {f"account:{pk}" for pk in managers}
        self.members = None  # counted by the first `among`

    def all(self, column):
        if column == "manager":
            return self.managers
        members = services.expected_members(self.group, self.pending)
        return {f"{kind}:{pk}" for kind, pk in members}

    def among(self, keys):
        refs = set()
        for key in keys:
            kind, _colon, pk = key.partition(":")
            refs.add((kind, int(pk)))  # keys are checked (picker.KEY) or the directory's
        found, count = services.member_outlook(
            self.group, refs, counted=self.members is None, pending=self.pending
        )
        if self.members is None:
            self.members = count
        return {"member": {f"{kind}:{pk}" for kind, pk in found}, "manager": self.managers & keys}

    def count(self, column):
        if column == "manager":
            return len(self.managers)
        if self.members is None:
            self.among(set())
        return self.members


class DelegationsPage(TickedGroupPage):
    heading = gettext_lazy("Manage the delegations")
    picker_class = DelegationsPicker
    kind = "delegations"
    done_message = gettext_lazy(
        "Your request has been taken into account: the delegations of %(group)s are being updated."
    )

    def initial_ticks(self):
        rights = services.expected_delegations(self.group, self.pending)
        return {
            column: {f"account:{pk}" for pk, kind in rights.items() if kind == column}
            for column in self.picker_class.columns
        }

    def plan(self, wanted):
        return services.plan_delegations(self.group, **wanted)

    def apply(self, wanted):
        services.change_delegations(self.group, user=self.request.user, **wanted)

    def decorate(self, row, pending):
        row["busy"] = f"delegation:{row['key']}" in pending
        return row
