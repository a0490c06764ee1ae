"""The baseline page: a login-required view that renders 20 group rows from one query in
the site's layout (base.html), with none of the panel's work. Served at
/bench/bare/<service>/ beside the project's URLs."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from controlpanel.urls import urlpatterns as project_urlpatterns

TEMPLATE = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<table>{% for g in groups %}<tr>'
    "<td>{{ g.display_name }}</td><td>{{ g.email }}</td><td>{{ g.get_state_display }}</td>"
    "</tr>{% endfor %}</table>{% endblock %}"
)


@login_required
def bare(request, service):
    from exchange_groups.models import Group

    groups = (
        Group.objects.filter(service__name=service)
        .select_related("address__domain")
        .order_by("pk")[:20]
    )
    return HttpResponse(TEMPLATE.render({"groups": groups}, request))


urlpatterns = [path("bench/bare/<slug:service>/", bare), *project_urlpatterns]
