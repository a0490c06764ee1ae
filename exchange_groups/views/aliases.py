"""A group's aliases: list with their status, add one, delete one after a confirmation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import access, services
from ..forms import AliasForm
from ..models import Alias
from ..models.group import MAX_ALIASES


@access.customer_view
@require_http_methods(["GET", "POST"])
def aliases(request, service, group):
    form = AliasForm(
        request.POST if request.method == "POST" else None,
        service=service,
        initial={"domain": group.address.domain_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            alias = services.add_alias(
                group,
                user=request.user,
                local_part=form.cleaned_data["local_part"],
                domain=form.cleaned_data["domain"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Your request has been taken into account: the alias %(alias)s is being added.")
                % {"alias": alias.address.email},
            )
            return redirect("panel:aliases", service=service.name, group=group.pk)
    context = {
        "service": service,
        "group": group,
        "tab": "groups",
        "form": form,
        "aliases": group.aliases.select_related("address__domain"),
        "max_aliases": MAX_ALIASES,
    }
    return render(request, "exchange_groups/group_aliases.html", context)


@access.customer_view
@require_http_methods(["GET", "POST"])
def alias_delete(request, service, group, alias):
    alias = get_object_or_404(
        Alias.objects.select_related("address__domain"), group=group, pk=alias
    )
    if request.method == "POST":
        try:
            services.remove_alias(alias, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Your request has been taken into account: the alias %(alias)s is being removed.")
                % {"alias": alias.address.email},
            )
        return redirect("panel:aliases", service=service.name, group=group.pk)
    context = {"service": service, "group": group, "tab": "groups", "alias": alias}
    return render(request, "exchange_groups/alias_delete.html", context)
