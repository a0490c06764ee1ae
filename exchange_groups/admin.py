"""The Django admin, for support staff. Changes to groups, members and tasks go through
the service functions (see issue 5 for the support console); here, the data is visible."""

from django.contrib import admin

from .models import (
    Account,
    Address,
    Alias,
    Delegation,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
    TaskItem,
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(ExchangeService)
class ExchangeServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization_name", "display_name", "created_at"]
    search_fields = ["name", "organization_name", "display_name", "customers__username"]
    filter_horizontal = ["customers"]
    inlines = [DomainInline]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "state"]
    list_filter = ["state"]
    list_select_related = ["service"]
    search_fields = ["name", "service__name"]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["domain"]
    search_fields = ["local_part", "domain__name"]
    readonly_fields = ["created_at"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "display_name", "service", "state"]
    list_filter = ["state", "service"]
    list_select_related = ["address__domain", "service"]
    search_fields = ["address__local_part", "address__domain__name", "display_name"]
    raw_id_fields = ["address"]


@admin.register(ExternalContact)
class ExternalContactAdmin(admin.ModelAdmin):
    list_display = ["email", "display_name", "service"]
    list_select_related = ["service"]
    search_fields = ["email", "display_name"]


class MemberInline(admin.TabularInline):
    model = GroupMember
    extra = 0
    raw_id_fields = ["account", "contact"]


class ManagerInline(admin.TabularInline):
    model = GroupManager
    extra = 0
    raw_id_fields = ["account"]


class DelegationInline(admin.TabularInline):
    model = Delegation
    extra = 0
    raw_id_fields = ["account"]


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0
    raw_id_fields = ["address"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "display_name", "service", "state", "updated_at"]
    list_filter = ["state", "service"]
    list_select_related = ["address__domain", "service"]
    search_fields = ["address__local_part", "address__domain__name", "display_name"]
    raw_id_fields = ["address"]
    inlines = [MemberInline, ManagerInline, DelegationInline, AliasInline]


class TaskItemInline(admin.TabularInline):
    model = TaskItem
    extra = 0
    fields = ["label", "status", "error", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "pk", "function", "object_label", "service", "status", "created_at",
        "finished_at", "attempts",
    ]  # fmt: skip
    list_filter = ["status", "function", "service", "created_at"]
    list_select_related = ["service"]
    search_fields = ["object_label", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Task._meta.fields]
    inlines = [TaskItemInline]

    def has_add_permission(self, request):
        return False
