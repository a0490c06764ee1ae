from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import access, services
from ..models import Task
from ..paging import countless_page, cursors
from ..queries import kept_count, tasks_with_progress
from .rendering import render_region

PAGE_SIZE = 25


@access.customer_view
@require_GET
def task_list(request, service):
    """Recent tasks, newest first. The table polls itself while a task is pending."""
    status = request.GET.get("status", "")
    tasks = tasks_with_progress().filter(service=service).order_by("-created_at", "-pk")
    # A page typed deep in the list is found along the tasks' order values alone (their
    # index, none of the progress subqueries): paging.CountlessPaginator.
    walked = Task.objects.filter(service=service).order_by("-created_at", "-pk")
    if status in Task.Status.values:
        tasks, walked = tasks.filter(status=status), walked.filter(status=status)
    else:
        status = ""
    # Tens of thousands of finished tasks: no count; the page walks task_service_recent.
    # A page typed deep in the list reads the count of the service's tasks the database
    # keeps, or counts those of a status (without their progress subqueries).
    if status:
        counted = Task.objects.filter(service=service, status=status)
    else:
        counted = kept_count(service, "tasks")
    page = countless_page(
        tasks,
        request.GET.get("page"),
        PAGE_SIZE,
        counted=counted,
        walked=walked.values_list("created_at", "pk"),
        **cursors(request),
    )
    context = {
        "service": service,
        "tab": "tasks",
        "page": page,
        "status": status,
        "statuses": Task.Status.choices,
        "polling": Task.objects.filter(service=service, status__in=Task.PENDING).exists(),
    }
    return render_region(request, "exchange_groups/task_list.html", "table", context)


def _task_action(request, service, task, action, done_message):
    try:
        action(task, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done_message % {"task": task.get_function_display()})
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("panel:tasks", service=service.name)


@access.customer_view
@require_POST
def task_retry(request, service, task):
    return _task_action(
        request, service, task, services.retry_task, _("“%(task)s” will be tried again.")
    )


@access.customer_view
@require_POST
def task_cancel(request, service, task):
    return _task_action(
        request, service, task, services.cancel_task, _("“%(task)s” has been cancelled.")
    )
