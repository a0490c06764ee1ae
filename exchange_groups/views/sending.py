"""Tester l'envoi / Test sending: what the mail server would do with a message to the group
(sending.simulate, the same decision the mail server's policy service makes) and, with the
directory platform running, really sending one and showing where it landed."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from .. import access, sending
from ..delivery import MEGABYTE, Refusal
from ..forms import SendingTestForm

# Each refusal in plain words, the setting that causes it and the page that changes it.
EXPLANATIONS = {
    Refusal.SENDER_AUTHENTICATION: (
        gettext_lazy("The group accepts only senders of the platform who authenticate."),
        gettext_lazy("Authentication required"),
        "panel:group-configure",
    ),
    Refusal.MAX_RECEIVE_SIZE: (
        gettext_lazy("The message is larger than the largest message the group receives."),
        gettext_lazy("Maximum receive size"),
        "panel:group-configure",
    ),
    Refusal.GROUP_MAX_SEND_SIZE: (
        gettext_lazy("The message is larger than the largest message sent as the group."),
        gettext_lazy("Maximum send size"),
        "panel:group-configure",
    ),
    Refusal.ACCOUNT_MAX_SEND_SIZE: (
        gettext_lazy("The message is larger than the largest message this account may send."),
        gettext_lazy("The account's maximum send size (set by the provider)"),
        "panel:accounts",
    ),
    Refusal.SEND_AS: (
        gettext_lazy("This account does not hold the right to send as the group."),
        gettext_lazy("Send As"),
        "panel:group-delegations",
    ),
    Refusal.SEND_ON_BEHALF: (
        gettext_lazy("This account does not hold the right to send on behalf of the group."),
        gettext_lazy("Send on Behalf"),
        "panel:group-delegations",
    ),
    Refusal.UNKNOWN_RECIPIENT: (
        gettext_lazy(
            "The platform does not know this address: the group is missing from the "
            "directory. Support can put it back."
        ),
        gettext_lazy("The group on the platform"),
        None,
    ),
    Refusal.SENDER_NOT_OWNED: (
        gettext_lazy(
            "This address is an account of the platform: a message from it must be sent "
            "authenticated as that account."
        ),
        gettext_lazy("The sender authenticates"),
        None,
    ),
}


@access.customer_view(operational=True)
@require_http_methods(["GET", "POST"])
def sending_test(request, service, group):
    real_send = request.method == "POST" and request.POST.get("action") == "send"
    real_available = sending.real_sending_available()
    form = SendingTestForm(
        request.POST if request.method == "POST" else None,
        service=service,
        real_send=real_send,
    )
    context = {
        "service": service,
        "group": group,
        "tab": "groups",
        "form": form,
        "real_available": real_available,
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        test = sending.SampleMessage(
            sender=form.sender,
            authenticated=data["authenticated"],
            size=data["size_kb"] * 1024,
            mode=sending.Mode(data["mode"]),
        )
        account = data["account"].address.email if data["account"] else None
        try:
            verdict = sending.simulate(group, test, account)
        except sending.PlatformUnreachable:
            form.add_error(None, _("The platform could not be reached; try again in a moment."))
            return render(request, "exchange_groups/group_sending_test.html", context)
        context["verdict"] = verdict
        context["size_mb"] = round(test.size / MEGABYTE, 2)
        if verdict.refusal:
            reason, setting, page = EXPLANATIONS[verdict.refusal]
            args = [service.name] if page == "panel:accounts" else [service.name, group.pk]
            context["refusal"] = {
                "reason": reason,
                "setting": setting,
                "url": reverse(page, args=args) if page else "",
                "smtp": verdict.smtp_reply,
            }
        if real_send and real_available:
            context["sent"] = sending.send_for_real(group, test, data["password"], verdict)
        elif real_send:
            form.add_error(
                None, _("Real sending needs the directory platform and its mail server.")
            )
    return render(request, "exchange_groups/group_sending_test.html", context)
