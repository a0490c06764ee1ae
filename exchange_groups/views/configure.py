"""Configurer le groupe: the settings of the wizard's first step with today's values, a
summary of what changes (old value, new value), then confirm."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import access, group_settings, services
from ..forms import GroupEditForm


@access.customer_view(operational=True)
@require_http_methods(["GET", "POST"])
def configure_group(request, service, group):
    form = GroupEditForm(request.POST if request.method == "POST" else None, group=group)
    context = {"service": service, "group": group, "tab": "groups", "form": form}
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        if request.POST.get("action") == "confirm":
            try:
                services.update_group(group, user=request.user, **values)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Your request has been taken into account: %(group)s is being updated.")
                    % {"group": group.email},
                )
                return redirect("panel:groups", service=service.name)
        elif request.POST.get("action") == "review":
            context["changes"] = [
                (
                    group_settings.label(name),
                    group_settings.shown(name, old),
                    group_settings.shown(name, new),
                )  # fmt: skip
                for name, (old, new) in form.changes.items()
            ]
    return render(request, "exchange_groups/group_configure.html", context)
