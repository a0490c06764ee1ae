"""Configurer les utilisateurs (members and administrators) and Gérer les délégations:
a searchable, paged list of boxes showing today's state, a summary of what changes, then
confirm. Only the differences become tasks."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy  # class attributes: translated when shown
from django.views import View

from .. import access, services
from ..paging import countless_page
from ..queries import CONTACTS_ONLY, directory, managers_without_mail
from .ticks import SessionTicks, ids, merge_ticks, ticked

PAGE_SIZE = 20


class TickedGroupPage(LoginRequiredMixin, View):
    template_name = ""
    scope = ""
    columns: tuple[str, ...] = ()
    accounts_only = False
    done_message = ""

    def dispatch(self, request, *args, service, group, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.service = access.service_for(request, service)
        self.group = access.group_for(request, self.service, group)
        if not self.group.is_operational:
            messages.error(request, _("This group is not operational yet: wait until it is."))
            return redirect("panel:groups", service=self.service.name)
        self.ticks = SessionTicks(request, f"{self.scope}:{self.group.pk}")
        return super().dispatch(request, *args, **kwargs)

    # --- what a subclass defines: initial_ticks() -> {column: [key]}, today's boxes;
    # plan(state) -> the service's plan, apply(state) -> writes the tasks. ----------------

    @cached_property
    def base(self) -> dict:
        """Today's boxes (live, with the pending changes): the session keeps only the
        customer's differences from them."""
        return {column: set(keys) for column, keys in self.initial_ticks().items()}

    def ticked(self, state) -> dict:
        return {column: ticked(state, self.base, column) for column in self.columns}

    # --- flow -------------------------------------------------------------------------------
    def get(self, request):
        token, state = self.ticks.start(
            {
                "q": "",
                # Every domain: the selection count then matches the boxes shown.
                "domain": "",
                "page": 1,
            }
        )
        return self.render_list(token, state)

    def post(self, request):
        token = request.POST.get("token", "")
        state = self.ticks.load(token)
        if state is None:  # expired or forged: start again from today's state
            messages.warning(request, _("This page had expired: here is the group as it is now."))
            return redirect(request.path)
        state = merge_ticks(state, request.POST, self.columns, self.base)
        nav = request.POST.get("nav", "")
        if nav == "search":
            state.update(q=request.POST.get("q", "").strip(), domain=request.POST.get("domain", ""))
            state["page"] = 1
        elif nav.startswith("page:") and nav[5:].isdigit():
            state["page"] = int(nav[5:])
        self.ticks.save(token, state)
        action = request.POST.get("action", "")
        if action in ("review", "confirm"):
            try:
                plan = self.plan(state)
                if action == "confirm":
                    self.apply(state)
            except ValidationError as exc:
                return self.render_list(token, state, errors=exc.messages)
            if action == "review":
                return render(request, self.template_name, self.context(token, state, plan=plan))
            self.ticks.end(token)
            messages.success(request, self.done_message % {"group": self.group.email})
            return redirect("panel:groups", service=self.service.name)
        return self.render_list(token, state, partial=bool(request.htmx and nav))

    def render_list(self, token, state, errors=(), partial=False):
        template = self.template_name + ("#picker" if partial else "")
        return render(self.request, template, self.context(token, state, errors=errors))

    def context(self, token, state, errors=(), plan=None):
        rows = directory(self.service, state["q"], state["domain"], self.accounts_only)
        # Tens of thousands of accounts: no count, the page reads its own rows only.
        page = countless_page(rows, state["page"], PAGE_SIZE)
        pending = services.pending_subjects(self.group)
        ticked = self.ticked(state)
        return {
            "service": self.service,
            "group": self.group,
            "tab": "groups",
            "token": token,
            "state": state,
            "page": page,
            "rows": [
                self.row(kind, pk, mail, name, ticked, pending) for kind, pk, mail, name in page
            ],
            "domains": self.service.domains.all(),
            "contacts_only": CONTACTS_ONLY,
            "counts": {column: len(keys) for column, keys in ticked.items()},
            "managers_without_mail": self.managers_without_mail(ticked),
            "errors": errors,
            "plan": plan,
        }

    def managers_without_mail(self, ticked):
        return []

    def row(self, kind, pk, mail, name, ticked, pending):
        key = f"{kind}:{pk}"
        row = {"key": key, "kind": kind, "address": mail, "name": name}
        row.update({column: key in ticked[column] for column in self.columns})
        return row


class UsersPage(TickedGroupPage):
    template_name = "exchange_groups/group_users.html"
    scope = "users"
    columns = ("member", "manager")
    done_message = gettext_lazy(
        "Your request has been taken into account: the members and administrators "
        "of %(group)s are being updated."
    )

    def initial_ticks(self):
        members = services.expected_members(self.group)
        return {
            "member": {f"{kind}:{pk}" for kind, pk in members},
            "manager": {f"account:{pk}" for pk in services.expected_managers(self.group)},
        }

    def wanted(self, state):
        ticked = self.ticked(state)
        return {
            "member_accounts": ids(ticked["member"], "account"),
            "member_contacts": ids(ticked["member"], "contact"),
            "manager_accounts": ids(ticked["manager"], "account"),
        }

    def managers_without_mail(self, ticked):
        return managers_without_mail(
            self.service, ids(ticked["manager"], "account"), ids(ticked["member"], "account")
        )

    def plan(self, state):
        return services.plan_users(self.group, **self.wanted(state))

    def apply(self, state):
        services.change_users(self.group, user=self.request.user, **self.wanted(state))

    def row(self, kind, pk, mail, name, ticked, pending):
        row = super().row(kind, pk, mail, name, ticked, pending)
        row["member_pending"] = f"member:{row['key']}" in pending
        row["manager_pending"] = f"manager:{row['key']}" in pending
        return row


class DelegationsPage(TickedGroupPage):
    template_name = "exchange_groups/group_delegations.html"
    scope = "delegations"
    columns = ("send_as", "send_on_behalf")
    accounts_only = True
    done_message = gettext_lazy(
        "Your request has been taken into account: the delegations of %(group)s are being updated."
    )

    def initial_ticks(self):
        rights = services.expected_delegations(self.group)
        return {
            column: {f"account:{pk}" for pk, kind in rights.items() if kind == column}
            for column in self.columns
        }

    def wanted(self, state):
        ticked = self.ticked(state)
        return {column: ids(ticked[column], "account") for column in self.columns}

    def plan(self, state):
        return services.plan_delegations(self.group, **self.wanted(state))

    def apply(self, state):
        services.change_delegations(self.group, user=self.request.user, **self.wanted(state))

    def row(self, kind, pk, mail, name, ticked, pending):
        row = super().row(kind, pk, mail, name, ticked, pending)
        row["busy"] = f"delegation:{row['key']}" in pending
        return row
