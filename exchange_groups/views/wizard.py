"""The "Create a contact group" wizard (django-formtools), three steps.

Each wizard has its own id in its URL, and formtools keeps its data under that id, so two
wizards in two browser tabs do not mix. The members step keeps its ticks in the wizard's
storage: paging and searching post the form, the ticks of the page shown are merged in,
and the step is shown again (as a partial when htmx asks) without validating it.
"""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from formtools.wizard.views import SessionWizardView

from .. import access, services
from ..forms import ConfirmForm, GroupSettingsForm, MembersForm
from ..models import Account, ExternalContact
from ..queries import managers_without_mail

PAGE_SIZE = 10
STEPS = [
    ("settings", GroupSettingsForm, gettext_lazy("Group settings")),
    ("members", MembersForm, gettext_lazy("Members and administrators")),
    ("confirm", ConfirmForm, gettext_lazy("Summary")),
]


@access.customer_view
@require_GET
def start(request, service):
    """A new wizard, with an id of its own."""
    return redirect("panel:group-wizard", service=service.name, wizard=secrets.token_urlsafe(8))


def directory(service, q: str):
    """The service's accounts and external contacts as one list, ordered by address."""
    accounts = Account.objects.filter(service=service)
    contacts = ExternalContact.objects.filter(service=service)
    if q:
        accounts = accounts.annotate(
            full=Concat("address__local_part", Value("@"), "address__domain__name")
        ).filter(Q(full__icontains=q) | Q(display_name__icontains=q))
        contacts = contacts.filter(Q(email__icontains=q) | Q(display_name__icontains=q))
    accounts = (
        accounts.annotate(
            kind=Value("account"),
            mail=Concat("address__local_part", Value("@"), "address__domain__name"),
            name=F("display_name"),
        )
        .order_by()
        .values_list("kind", "pk", "mail", "name")
    )
    contacts = (
        contacts.annotate(kind=Value("contact"), mail=F("email"), name=F("display_name"))
        .order_by()
        .values_list("kind", "pk", "mail", "name")
    )
    return accounts.union(contacts, all=True).order_by("mail")


class _Refused(Exception):
    def __init__(self, error: ValidationError):
        self.error = error


class CreateGroupWizard(SessionWizardView):
    form_list = [(name, form) for name, form, _label in STEPS]
    template_name = "exchange_groups/group_wizard.html"

    @method_decorator(access.customer_view)
    def dispatch(self, request, *args, service, **kwargs):
        self.service = service
        return super().dispatch(request, *args, service=service, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return f"create_group_{kwargs['wizard']}"

    # --- the selection of step 2, kept in the wizard's storage -------------------------
    def selection(self) -> dict[str, list[int]]:
        extra = self.storage.extra_data or {}
        return {k: extra.get(k, []) for k in ("accounts", "contacts", "managers")}

    def _merge_ticks(self, post):
        """Apply the ticks of the page that was shown; ticks on other pages stay."""
        prefix = self.get_form_prefix("members")
        shown = set(post.getlist(f"{prefix}-shown"))
        members = set(post.getlist(f"{prefix}-member"))
        managers = set(post.getlist(f"{prefix}-manager"))
        sel = self.selection()
        keep = {
            "accounts": {f"account:{pk}" for pk in sel["accounts"]},
            "contacts": {f"contact:{pk}" for pk in sel["contacts"]},
            "managers": {f"account:{pk}" for pk in sel["managers"]},
        }
        keep["accounts"] = (keep["accounts"] - shown) | {k for k in members if k[:8] == "account:"}
        keep["contacts"] = (keep["contacts"] - shown) | {k for k in members if k[:8] == "contact:"}
        # Administrators are accounts only: a forged contact key is dropped here.
        keep["managers"] = (keep["managers"] - shown) | {k for k in managers if k[:8] == "account:"}
        extra = dict(self.storage.extra_data or {})
        for key, values in keep.items():
            extra[key] = sorted(int(v.split(":")[1]) for v in values if v.split(":")[1].isdigit())
        nav = post.get("nav", "")
        if nav == "search":
            extra["q"], extra["page"] = post.get(f"{prefix}-q", "").strip(), 1
        elif nav.startswith("page:") and nav[5:].isdigit():
            extra["page"] = int(nav[5:])
        self.storage.extra_data = extra

    def get(self, request, *args, **kwargs):
        """Show the current step as it was left (formtools would start over): a reload
        or a link back to this wizard loses nothing. /groups/new/ starts a new one."""
        step = self.steps.current
        data = self.storage.get_step_data(step)
        return self.render(self.get_form(step=step, data=data))

    def post(self, *args, **kwargs):
        current = self.request.POST.get(f"{self.prefix}-current_step", self.steps.current)
        if current == "members":
            self._merge_ticks(self.request.POST)
            if self.request.POST.get("nav"):
                form = self.get_form(data=self.request.POST)
                if self.request.htmx:
                    context = self.get_context_data(form=form)
                    return render(self.request, f"{self.template_name}#picker", context)
                return self.render(form)
        return super().post(*args, **kwargs)

    # --- forms and pages ---------------------------------------------------------------------
    def get_form_kwargs(self, step=None):
        if step == "settings":
            return {"service": self.service}
        if step == "members":
            return {"service": self.service, "selection": self.selection()}
        return {}

    def get_form_initial(self, step):
        if step == "members":
            return {"q": (self.storage.extra_data or {}).get("q", "")}
        return {}

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        context.update(
            service=self.service,
            tab="groups",
            steps=[(name, label) for name, _form, label in STEPS],
            step_index=[name for name, _f, _l in STEPS].index(current),
            step_label=dict((name, label) for name, _f, label in STEPS)[current],
        )
        sel = self.selection()
        context["selection"] = sel
        context["member_count"] = len(sel["accounts"]) + len(sel["contacts"])
        context["manager_count"] = len(sel["managers"])
        context["managers_without_mail"] = managers_without_mail(
            self.service, sel["managers"], sel["accounts"]
        )
        if current == "members":
            extra = self.storage.extra_data or {}
            q = extra.get("q", "")
            page = Paginator(directory(self.service, q), PAGE_SIZE).get_page(extra.get("page", 1))
            members = {("account", pk) for pk in sel["accounts"]}
            members |= {("contact", pk) for pk in sel["contacts"]}
            managers = set(sel["managers"])
            rows = [
                {
                    "key": f"{kind}:{pk}",
                    "kind": kind,
                    "address": address,
                    "name": name,
                    "member": (kind, pk) in members,
                    "manager": kind == "account" and pk in managers,
                }
                for kind, pk, address, name in page
            ]
            context.update(q=q, page=page, rows=rows)
        if current == "confirm":
            context["settings"] = self.get_cleaned_data_for_step("settings")
            context["accounts"] = Account.objects.filter(
                service=self.service, pk__in=sel["accounts"]
            ).select_related("address__domain")
            context["contacts"] = ExternalContact.objects.filter(
                service=self.service, pk__in=sel["contacts"]
            )
            context["managers"] = Account.objects.filter(
                service=self.service, pk__in=sel["managers"]
            ).select_related("address__domain")
        return context

    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except _Refused as refused:
            # The address was taken since the first step (another request won the race):
            # back to that step with the message at the field, every choice kept.
            self.storage.current_step = "settings"
            form = self.get_form("settings", data=self.storage.get_step_data("settings"))
            if form.is_valid():
                form.add_error(None, refused.error)
            return self.render(form)

    def done(self, form_list, **kwargs):
        data = self.get_cleaned_data_for_step("settings")
        sel = self.selection()
        try:
            group = services.create_group(
                self.service,
                user=self.request.user,
                local_part=data["local_part"],
                domain=data["domain"],
                member_accounts=sel["accounts"],
                member_contacts=sel["contacts"],
                manager_accounts=sel["managers"],
                **{f: data.get(f) for f in services.GROUP_SETTINGS},
            )
        except ValidationError as exc:
            raise _Refused(exc) from exc
        messages.success(
            self.request,
            _(
                "Your request has been taken into account: the group %(group)s is being "
                "created. Follow it in the list or on the Recent tasks page."
            )
            % {"group": group.email},
        )
        return redirect("panel:groups", service=self.service.name)
