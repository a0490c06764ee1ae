from django.urls import path

from .views import groups, services, tasks, wizard

app_name = "panel"

service = "services/<slug:service>"
urlpatterns = [
    path("", services.home, name="home"),
    path("services/", services.service_list, name="services"),
    path(f"{service}/", services.service_info, name="service"),
    path(f"{service}/accounts/", services.accounts, name="accounts"),
    path(f"{service}/contacts/", services.contacts, name="contacts"),
    path(f"{service}/groups/", groups.group_list, name="groups"),
    path(f"{service}/groups/new/", wizard.start, name="group-create"),
    path(
        f"{service}/groups/new/<slug:wizard>/",
        wizard.CreateGroupWizard.as_view(),
        name="group-wizard",
    ),
    path(f"{service}/groups/<int:group>/row/", groups.group_row, name="group-row"),
    path(f"{service}/groups/<int:group>/delete/", groups.group_delete, name="group-delete"),
    path(f"{service}/address-check/", groups.address_check, name="address-check"),
    path(f"{service}/tasks/", tasks.task_list, name="tasks"),
    path(f"{service}/tasks/<int:task>/retry/", tasks.task_retry, name="task-retry"),
    path(f"{service}/tasks/<int:task>/cancel/", tasks.task_cancel, name="task-cancel"),
]
