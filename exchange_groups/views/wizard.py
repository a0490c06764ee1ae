"""The "Create a contact group" wizard (django-formtools), three steps.

Each wizard has its own id in its URL, and formtools keeps its data under that id in the
draft store (views/drafts.py: kind "wizard", pruned like every draft), so two wizards in
two browser tabs do not mix. The members step is the picker (views/picker.py), its state
in the wizard's extra data: paging and searching post the form, the ticks of the page
shown are merged in, and the step is shown again (as a partial when htmx asks) without
validating it.
"""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from formtools.wizard.views import SessionWizardView

from .. import access, services
from ..forms import ConfirmForm, GroupSettingsForm, MembersForm
from ..models import Account, ExternalContact
from .picker import MembersPicker

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


class _Refused(Exception):
    def __init__(self, error: ValidationError):
        self.error = error


class CreateGroupWizard(SessionWizardView):
    form_list = [(name, form) for name, form, _label in STEPS]
    template_name = "exchange_groups/group_wizard.html"
    storage_name = "exchange_groups.views.drafts.WizardDrafts"

    @method_decorator(access.customer_view)
    def dispatch(self, request, *args, service, **kwargs):
        self.service = service
        return super().dispatch(request, *args, service=service, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return f"create_group_{kwargs['wizard']}"

    # --- step 2: the picker, its state in the wizard's draft ------------------------------
    @cached_property
    def picker(self):
        """A new group has no members yet: every tick is a difference."""
        return MembersPicker(
            self.service, prefix="members-", form_id="wizard-form", page_size=PAGE_SIZE, count=True
        )

    def picker_state(self) -> dict:
        return {**self.picker.blank(), **(self.storage.extra_data or {})}

    def selection(self) -> dict[str, list[int]]:
        return self.picker.wanted(self.picker_state())

    def get(self, request, *args, **kwargs):
        """Show the current step as it was left (formtools would start over): a reload
        or a link back to this wizard loses nothing. /groups/new/ starts a new one."""
        step = self.steps.current
        data = self.storage.get_step_data(step)
        return self.render(self.get_form(step=step, data=data))

    def post(self, *args, **kwargs):
        current = self.request.POST.get(f"{self.prefix}-current_step", self.steps.current)
        if current == "members":
            self.storage.extra_data = self.picker.merge(self.picker_state(), self.request.POST)
            if self.request.POST.get("nav"):
                form = self.get_form(data=self.request.POST)
                if self.request.htmx:
                    context = self.get_context_data(form=form)
                    return render(self.request, self.picker.template, context)
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
            return {"q": self.picker_state()["q"]}
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
        state = self.picker_state()
        if current == "members":
            context.update(self.picker.context(state))
        else:
            context.update(self.picker.totals(self.picker.ticked(state)))
        if current == "confirm":
            sel = self.picker.wanted(state)
            context["settings"] = self.get_cleaned_data_for_step("settings")
            context["accounts"] = Account.objects.filter(
                service=self.service, pk__in=sel["member_accounts"]
            ).select_related("address__domain")
            context["contacts"] = ExternalContact.objects.filter(
                service=self.service, pk__in=sel["member_contacts"]
            )
            context["managers"] = Account.objects.filter(
                service=self.service, pk__in=sel["manager_accounts"]
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
        try:
            group = services.create_group(
                self.service,
                user=self.request.user,
                local_part=data["local_part"],
                domain=data["domain"],
                **self.selection(),
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
