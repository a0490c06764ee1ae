"""Forms of the customer panel. The rules themselves live in the service functions: a
form's clean() asks them, so the same message shows next to the same field everywhere."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Domain, Group

PROVIDER_LOCK = _(
    "For security reasons, the provider has disabled this option: only the administrators "
    "of the group can add or remove its members."
)
SIZE_HELP = _("From 1 to 100 MB. Leave empty for the maximum value (100 MB).")


class GroupSettingsForm(forms.Form):
    """The first step of the wizard: the address and the settings of design.md §2.1."""

    local_part = forms.CharField(label=_("Email address"), required=False, max_length=200)
    domain = forms.ModelChoiceField(
        label=_("Domain"),
        queryset=Domain.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of this service's domains.")},
    )
    display_name = forms.CharField(label=_("Group name"), required=False, max_length=400)
    max_receive_size = forms.IntegerField(
        label=_("Maximum receive size (MB)"),
        required=False,
        help_text=SIZE_HELP,
        widget=forms.NumberInput(attrs={"placeholder": _("Maximum value (100 MB)")}),
    )
    max_send_size = forms.IntegerField(
        label=_("Maximum send size (MB)"),
        required=False,
        help_text=SIZE_HELP,
        widget=forms.NumberInput(attrs={"placeholder": _("Maximum value (100 MB)")}),
    )
    join_restriction = forms.ChoiceField(
        label=_("Manage subscribers"),
        choices=Group.JoinRestriction.choices,
        initial=Group.JoinRestriction.CLOSED,
        disabled=True,
        help_text=PROVIDER_LOCK,
    )
    depart_restriction = forms.ChoiceField(
        label=_("Manage unsubscribers"),
        choices=Group.DepartRestriction.choices,
        initial=Group.DepartRestriction.CLOSED,
        disabled=True,
        help_text=PROVIDER_LOCK,
    )
    hidden_from_gal = forms.BooleanField(
        label=_("Hide the group in Outlook (address list)"), required=False
    )
    sender_authentication = forms.BooleanField(
        label=_("Authentication required"),
        required=False,
        help_text=_("Only senders of the same platform may write to the group."),
    )

    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.fields["domain"].queryset = service.domains.filter(state=Domain.State.OK)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.check_group(
                self.service,
                local_part=data.get("local_part", ""),
                domain=data.get("domain"),
                **{f: data.get(f) for f in services.GROUP_SETTINGS},
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


class GroupEditForm(GroupSettingsForm):
    """Configurer le groupe: the same fields, filled in with today's values. Its clean()
    asks the service what would change, so the summary shows exactly that."""

    def __init__(self, *args, group, **kwargs):
        initial = {f: getattr(group, f) for f in services.GROUP_SETTINGS}
        initial.update(local_part=group.address.local_part, domain=group.address.domain_id)
        super().__init__(*args, service=group.service, initial=initial, **kwargs)
        self.group = group
        self.changes = {}

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "local_part": data.get("local_part", ""),
            "domain": data.get("domain"),
            **{f: data.get(f) for f in services.GROUP_SETTINGS},
        }

    def clean(self):
        data = forms.Form.clean(self)
        if self.errors:
            return data
        try:
            self.changes = services.plan_update(self.group, **self.service_values())
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


class AliasForm(forms.Form):
    local_part = forms.CharField(label=_("Alias"), required=False, max_length=200)
    domain = forms.ModelChoiceField(
        label=_("Domain"),
        queryset=Domain.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of this service's domains.")},
    )

    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = service.domains.filter(state=Domain.State.OK)


class ContactForm(forms.Form):
    email = forms.CharField(label=_("Email address"), required=False, max_length=400)
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=400)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=200)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=200)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file of addresses"),
        required=False,
        help_text=_("One address per line, or a column named “email” or “address”. At most 2 MB."),
    )


class MembersForm(forms.Form):
    """The second step. The selection (member_accounts, member_contacts, manager_accounts)
    is the picker's, kept in the wizard's draft so that ticks survive paging and searching;
    this form checks it when the user goes on."""

    q = forms.CharField(label=_("Search"), required=False)

    def __init__(self, *args, service, selection, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.selection = selection

    def clean(self):
        data = super().clean()
        try:
            services.check_members(self.service, **self.selection)
        except ValidationError as exc:
            self.add_error(None, ValidationError(exc.messages))
        return data


class ConfirmForm(forms.Form):
    """The summary step: nothing to enter, "Confirm" creates the group."""


class SendingTestForm(forms.Form):
    """ "Test sending": the sender, whether it authenticates, the size, and how it sends."""

    MODES = [
        ("own", _("From its own address")),
        ("send_as", _("As the group (Send As)")),
        ("send_on_behalf", _("On behalf of the group (Send on Behalf)")),
    ]
    MAX_SIZE_KB = 150 * 1024  # beyond the platform's 100 MB, to see that refusal too

    account = forms.ModelChoiceField(
        label=_("Sender: an account of the service"),
        queryset=None,
        required=False,
        empty_label=_("— an external address, typed below —"),
        error_messages={"invalid_choice": _("Choose one of this service's accounts.")},
    )
    external_address = forms.EmailField(
        label=_("or an external address"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter a valid email address, e.g. name@example.com.")},
    )
    authenticated = forms.BooleanField(
        label=_("The sender authenticates (SMTP authentication with its password)"),
        required=False,
    )
    password = forms.CharField(
        label=_("The account's password (only to really send it, never kept)"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
    )
    size_kb = forms.IntegerField(
        label=_("Message size (KB)"),
        min_value=1,
        max_value=MAX_SIZE_KB,
        initial=20,
        error_messages={
            "required": _("Enter a size in KB."),
            "invalid": _("Enter a whole number of KB."),
            "min_value": _("Enter at least 1 KB."),
            "max_value": _("Enter at most %(limit_value)s KB."),
        },
    )
    mode = forms.ChoiceField(
        label=_("How it sends"), choices=MODES, initial="own", widget=forms.RadioSelect
    )

    def __init__(self, *args, service, real_send=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.real_send = real_send
        self.fields["account"].queryset = service.accounts.select_related(
            "address__domain"
        ).exclude(state="gone")

    def clean(self):
        data = super().clean()
        account, external = data.get("account"), data.get("external_address")
        if "account" in self.errors or "external_address" in self.errors:
            return data
        if account and external:
            self.add_error("external_address", _("Choose an account or type an address, not both."))
        elif not account and not external:
            self.add_error("external_address", _("Choose an account or type an external address."))
        elif (
            external
            and self.service.accounts.filter(
                address__local_part__iexact=external.split("@")[0],
                address__domain__name__iexact=external.split("@")[1],
            ).exists()
        ):
            self.add_error(
                "external_address", _("This is an account of the service: choose it in the list.")
            )
        if not account:
            if data.get("authenticated"):
                self.add_error(
                    "authenticated", _("Only an account of the platform can authenticate.")
                )
            if data.get("mode") in ("send_as", "send_on_behalf"):
                self.add_error("mode", _("Only an account of the service can hold this right."))
        if self.real_send and account and data.get("authenticated") and not data.get("password"):
            self.add_error("password", _("Enter the account's password to really send it."))
        return data

    @property
    def sender(self) -> str:
        account = self.cleaned_data.get("account")
        return account.address.email if account else self.cleaned_data["external_address"]
