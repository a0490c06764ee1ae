"""API tokens: a customer creates, names and revokes them. A new token is shown once."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import access
from ..models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. “provisioning script”."),
        error_messages={"required": gettext_lazy("Give the token a name.")},
    )


@access.customer_view
@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        token, created = ApiToken.issue(request.user, form.cleaned_data["name"].strip())
        form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.filter(user=request.user),
        "services": request.user.exchange_services.all(),
    }
    return render(request, "exchange_groups/api_tokens.html", context)


@access.customer_view
@require_POST
def revoke(request, token):
    token = get_object_or_404(ApiToken.objects.active(), user=request.user, pk=token)
    token.revoke()
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("panel:api-tokens")
