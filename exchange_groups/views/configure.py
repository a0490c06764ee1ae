"""Configurer le groupe: the settings of the wizard's first step with today's values, a
summary of what changes (old value, new value), then confirm."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import access, services
from ..forms import GroupEditForm
from ..models import Group


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
                (_field_label(name), _shown(name, old), _shown(name, new))
                for name, (old, new) in form.changes.items()
            ]
    return render(request, "exchange_groups/group_configure.html", context)


def _field_label(name: str) -> str:
    if name == "address":
        return _("Email address")
    return str(Group._meta.get_field(name).verbose_name).capitalize()


def _shown(name, value) -> str:
    if name in ("max_receive_size", "max_send_size"):
        return _("Maximum value (100 MB)") if value is None else _("%(size)s MB") % {"size": value}
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value) if value not in (None, "") else "—"
