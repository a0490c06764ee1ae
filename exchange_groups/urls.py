from django.urls import path

from .views import (
    aliases,
    configure,
    contacts,
    groups,
    history,
    members,
    sending,
    services,
    tasks,
    tokens,
    transfers,
    wizard,
)

app_name = "panel"

service = "services/<slug:service>"
group = f"{service}/groups/<int:group>"
urlpatterns = [
    path("", services.home, name="home"),
    path("services/", services.service_list, name="services"),
    path("api-tokens/", tokens.tokens, name="api-tokens"),
    path("api-tokens/<int:token>/revoke/", tokens.revoke, name="api-token-revoke"),
    path(f"{service}/", services.service_info, name="service"),
    path(f"{service}/accounts/", services.accounts, name="accounts"),
    path(f"{service}/contacts/", contacts.contacts, name="contacts"),
    path(
        f"{service}/contacts/<int:contact>/delete/",
        contacts.contact_delete,
        name="contact-delete",
    ),
    path(f"{service}/groups/", groups.group_list, name="groups"),
    path(f"{service}/groups/new/", wizard.start, name="group-create"),
    path(
        f"{service}/groups/new/<slug:wizard>/",
        wizard.CreateGroupWizard.as_view(),
        name="group-wizard",
    ),
    path(f"{service}/groups/<int:group_id>/row/", groups.group_row, name="group-row"),
    path(f"{service}/groups/<int:group>/delete/", groups.group_delete, name="group-delete"),
    path(f"{service}/groups/export.csv", transfers.export_groups, name="groups-export"),
    path(f"{group}/settings/", configure.configure_group, name="group-configure"),
    path(f"{group}/users/", members.UsersPage.as_view(), name="group-users"),
    path(f"{group}/delegations/", members.DelegationsPage.as_view(), name="group-delegations"),
    path(f"{group}/aliases/", aliases.aliases, name="aliases"),
    path(f"{group}/aliases/<int:alias>/delete/", aliases.alias_delete, name="alias-delete"),
    path(f"{group}/members.csv", transfers.export_members, name="group-export"),
    path(f"{group}/import/", transfers.import_members, name="group-import"),
    path(f"{group}/history/", history.group_history, name="group-history"),
    path(f"{group}/sending-test/", sending.sending_test, name="group-sending-test"),
    path(f"{service}/address-check/", groups.address_check, name="address-check"),
    path(f"{service}/tasks/", tasks.task_list, name="tasks"),
    path(f"{service}/tasks/<int:task>/retry/", tasks.task_retry, name="task-retry"),
    path(f"{service}/tasks/<int:task>/cancel/", tasks.task_cancel, name="task-cancel"),
]
