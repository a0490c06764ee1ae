"""Every object a customer view touches is fetched through here, scoped to the services
the user was granted: another customer's object is a 404, never a 403."""

from django.shortcuts import get_object_or_404

from .models import ExchangeService, Group, Task


def service_for(request, service_name: str) -> ExchangeService:
    return get_object_or_404(ExchangeService.objects.granted_to(request.user), name=service_name)


def group_for(request, service: ExchangeService, group_id: int) -> Group:
    return get_object_or_404(Group.objects.with_overview().filter(service=service), pk=group_id)


def task_for(request, service: ExchangeService, task_id: int) -> Task:
    return get_object_or_404(Task.objects.filter(service=service), pk=task_id)
