"""The one guard of every customer page and API view: the user must be logged in, and every
object is fetched here, scoped to the services the user was granted. Another customer's
object is a 404, never a 403 (nothing is confirmed either way)."""

import functools
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import ExchangeService, ExternalContact, Task
from .prepared import Prepared
from .queries import groups_overview


def _one(queryset, message: str, **lookup):
    found = queryset.filter(**lookup).first()
    return _first([] if found is None else [found], message)


def _first(rows: list, message: str):
    """The object found, or a 404 saying `message`."""
    if not rows:
        raise Http404(message)
    return rows[0]


def service_for(request, service_name: str | None = None, **lookup) -> ExchangeService:
    """A service granted to the user, by name (the panel) or any lookup (the API)."""
    if service_name is not None and not lookup:
        # Every page of the panel reads it: by a query compiled once (prepared.py).
        found = _service_named()(user=request.user, name=service_name)
        return _first(found, _("No such Exchange service."))
    if service_name is not None:
        lookup["name"] = service_name
    services = ExchangeService.objects.granted_to(request.user)
    return _one(services, _("No such Exchange service."), **lookup)


@functools.cache
def _service_named() -> Prepared:
    return Prepared(
        lambda user, name: (
            ExchangeService.objects.granted_to(user).filter(name=name).with_sole_domain()
        ),
        user=get_user_model(),
        name=str,
    )


def group_for(request, service: ExchangeService, group_id=None, *, queryset=None, **lookup):
    """A group of the service, by id (the panel) or any lookup on `queryset` (the API)."""
    groups = queryset if queryset is not None else groups_overview()
    if group_id is not None and not lookup:
        # Every page of a group reads it: by a query compiled once per process.
        found = _group_by_id(groups)(service=service, pk=group_id)
        return _first(found, _("No such mailing list."))
    if group_id is not None:
        lookup["pk"] = group_id
    return _one(groups.filter(service=service), _("No such mailing list."), **lookup)


@functools.cache
def _group_by_id(groups) -> Prepared:
    """The group of a service by id, read from `groups` (a queryset built once per view)."""
    return Prepared(
        lambda service, pk: groups.filter(service=service, pk=pk), service=ExchangeService, pk=int
    )


def task_for(request, service: ExchangeService, task_id: int) -> Task:
    return _one(Task.objects.filter(service=service), _("No such task."), pk=task_id)


def contact_for(request, service: ExchangeService, contact_id=None, *, queryset=None, **lookup):
    """An external contact of the service, by id (the panel) or any lookup (the API)."""
    if contact_id is not None:
        lookup["pk"] = contact_id
    contacts = queryset if queryset is not None else ExternalContact.objects.all()
    return _one(contacts.filter(service=service), _("No such external contact."), **lookup)


def customer_view(view=None, *, operational=False, groups=None):
    """Decorates a customer view: logged in, then the URL's `service`, `group` and `task`
    arguments are replaced by the objects (404 if not the user's). With operational=True,
    a group that is still being created or deleted sends the user back to the list with a
    message. `groups`: the queryset the group is read from (by default with its overview),
    for a page that shows less of it."""

    def decorate(view):
        @login_required
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if "service" in kwargs:
                kwargs["service"] = service_for(request, kwargs["service"])
            if "group" in kwargs:
                group = kwargs["group"] = group_for(
                    request, kwargs["service"], kwargs["group"], queryset=groups
                )
                if operational and not group.is_operational:
                    messages.error(
                        request, _("This group is not operational yet: wait until it is.")
                    )
                    return redirect("panel:groups", service=kwargs["service"].name)
            if "task" in kwargs:
                kwargs["task"] = task_for(request, kwargs["service"], kwargs["task"])
            return view(request, *args, **kwargs)

        return guarded

    return decorate(view) if view is not None else decorate
