"""Contacts externes: list, add (validated), delete after a confirmation naming the groups
the contact will leave."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import access, services
from ..forms import ContactForm
from ..models import ExternalContact, GroupMember
from ..queries import LISTED, with_groups
from .rendering import render_region


def _with_groups(queryset):
    memberships = GroupMember.objects.select_related("group__address__domain")
    return queryset.prefetch_related(Prefetch("memberships", queryset=memberships))


@access.customer_view
@require_http_methods(["GET", "POST"])
def contacts(request, service):
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.create_contact(service, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(email)s was added.") % {"email": contact.email})
            return redirect("panel:contacts", service=service.name)
    q = request.GET.get("q", "").strip()
    rows = ExternalContact.objects.filter(service=service)
    if q:
        rows = rows.filter(Q(email__icontains=q) | Q(display_name__icontains=q))
    page = Paginator(rows, LISTED).get_page(request.GET.get("page"))
    page.object_list = with_groups(page.object_list, "contact")
    context = {"service": service, "tab": "contacts", "page": page, "q": q, "form": form}
    return render_region(request, "exchange_groups/contacts.html", "table", context)


@access.customer_view
@require_http_methods(["GET", "POST"])
def contact_delete(request, service, contact):
    contact = access.contact_for(
        request, service, contact, queryset=_with_groups(ExternalContact.objects.all())
    )
    if request.method == "POST":
        try:
            tasks = services.delete_contact(contact, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("panel:contacts", service=service.name)
        done = _("%(email)s was deleted.") % {"email": contact.email}
        if tasks:
            done += " " + _("Its removal from %(groups)s is under way (Recent tasks).") % {
                "groups": ", ".join(task.object_label for task in tasks)
            }
        messages.success(request, done)
        return redirect("panel:contacts", service=service.name)
    groups = [m.group for m in contact.memberships.all()]
    context = {"service": service, "tab": "contacts", "contact": contact, "groups": groups}
    return render(request, "exchange_groups/contact_delete.html", context)
