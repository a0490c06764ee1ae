"""The Django admin as the support console: find a customer's group from its address, see
its pending and failed tasks, retry or cancel one, and read who changed what.

Every list runs a constant number of queries whatever its size (select_related,
annotations, prefetching); task operations go through the same service functions as the
customer panel."""

import json

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from . import services
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
)
from .models.expressions import count_of
from .paging import CappedCountPaginator

admin.site.index_title = _("Support console")


def changelist_link(model, label, **filters):
    url = reverse(f"admin:exchange_groups_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


def change_link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:exchange_groups_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or obj)


class SupportAdmin(SimpleHistoryAdmin):
    """Shared by every model: the history button, and customers listed without a query per
    row (services are prefetched with their customers)."""

    # "x results (N total)" counts the whole table on every list: a million memberships.
    show_full_result_count = False
    # And the filtered count stops at 10,000 ("more than 10,000").
    paginator = CappedCountPaginator

    @admin.display(description=_("customers"))
    def customers(self, obj):
        service = obj if isinstance(obj, ExchangeService) else obj.service
        return ", ".join(u.get_username() for u in service.customers.all()) or "—"


@admin.register(ExchangeService)
class ExchangeServiceAdmin(SupportAdmin):
    list_display = ["name", "organization_name", "display_name", "customers", "groups_link"]
    search_fields = ["name", "organization_name", "display_name", "customers__username"]
    list_filter = ["created_at"]
    filter_horizontal = ["customers"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(group_count=count_of(Group, "service"))
            .prefetch_related("customers")
        )

    @admin.display(description=_("groups"), ordering="group_count")
    def groups_link(self, obj):
        return changelist_link(Group, obj.group_count, service__id__exact=obj.pk)


@admin.register(Domain)
class DomainAdmin(SupportAdmin):
    list_display = ["name", "service", "state"]
    list_filter = ["state", "service"]
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
class AccountAdmin(SupportAdmin):
    list_display = ["__str__", "display_name", "service", "customers", "state", "groups_link"]
    list_filter = ["state", "service"]
    list_select_related = ["address__domain", "service"]
    search_fields = [
        "address__local_part",
        "address__domain__name",
        "display_name",
        "service__name",
        "service__customers__username",
    ]
    raw_id_fields = ["address"]
    # As account_address_order holds them (an account's address is of kind "account"):
    # a page walks the index instead of sorting every account of the platform.
    ordering = ["address__local_part", "address_id"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(address__kind="account")
            .annotate(group_count=count_of(GroupMember, "account"))
            .prefetch_related("service__customers")
        )

    @admin.display(description=_("groups"), ordering="group_count")
    def groups_link(self, obj):
        return changelist_link(GroupMember, obj.group_count, account__id__exact=obj.pk)


@admin.register(ExternalContact)
class ExternalContactAdmin(SupportAdmin):
    list_display = ["email", "display_name", "service", "customers", "groups_link"]
    list_select_related = ["service"]
    list_filter = ["service"]
    search_fields = ["email", "display_name", "service__name", "service__customers__username"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(group_count=count_of(GroupMember, "contact"))
            .prefetch_related("service__customers")
        )

    @admin.display(description=_("groups"), ordering="group_count")
    def groups_link(self, obj):
        return changelist_link(GroupMember, obj.group_count, contact__id__exact=obj.pk)


class DriftFilter(admin.SimpleListFilter):
    title = _("platform differences")
    parameter_name = "drift"

    def lookups(self, request, model_admin):
        return [("yes", _("Differs from the platform"))]

    def queryset(self, request, queryset):
        return queryset.filter(drifts__isnull=False).distinct() if self.value() else queryset


@admin.register(Group)
class GroupAdmin(SupportAdmin):
    list_display = [
        "__str__",
        "display_name",
        "service",
        "customers",
        "state",
        "status_display",
        "member_count",
        "manager_count",
        "alias_count",
        "tasks_link",
    ]
    # Dates through the filter, not date_hierarchy: its drill-down read the distinct days of
    # every row listed on every view (8 ms for a service of 10,000 groups).
    list_filter = [DriftFilter, "state", "service", "created_at"]
    search_fields = [
        "address__local_part",
        "address__domain__name",
        "display_name",
        "service__name",
        "service__customers__username",
    ]
    readonly_fields = ["address", "related", "platform_differences", "created_at", "updated_at"]
    actions = ["repair_drift", "adopt_drift"]

    def has_operate_permission(self, request):
        return request.user.has_perm("exchange_groups.operate_task")

    def _settle(self, request, queryset, operation, done_message):
        for group in queryset:
            try:
                operation(group, user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{group}: {' '.join(exc.messages)}", messages.WARNING)
            else:
                self.message_user(request, done_message % {"group": group}, messages.SUCCESS)

    @admin.action(
        description=_("Repair the platform differences (the panel's version)"),
        permissions=["operate"],
    )
    def repair_drift(self, request, queryset):
        self._settle(
            request,
            queryset,
            services.repair_drift,
            _("%(group)s: tasks created to put the platform back to the panel's version."),
        )

    @admin.action(
        description=_("Adopt the platform's version of the differences"), permissions=["operate"]
    )
    def adopt_drift(self, request, queryset):
        self._settle(
            request,
            queryset,
            services.adopt_drift,
            _("%(group)s: the panel now shows the platform's version."),
        )

    # As group_address_order holds them (a group's address is of kind "group").
    ordering = ["address__local_part", "address_id"]

    def get_queryset(self, request):
        return (
            Group.objects.with_overview()
            .filter(address__kind="group")
            .select_related("service")
            .prefetch_related("service__customers")
        )

    @admin.display(description=_("status"))
    def status_display(self, obj):
        return obj.status.label

    @admin.display(description=_("contacts"), ordering="member_count")
    def member_count(self, obj):
        return changelist_link(GroupMember, obj.member_count, group__id__exact=obj.pk)

    @admin.display(description=_("administrators"), ordering="manager_count")
    def manager_count(self, obj):
        return changelist_link(GroupManager, obj.manager_count, group__id__exact=obj.pk)

    @admin.display(description=_("aliases"), ordering="alias_count")
    def alias_count(self, obj):
        return changelist_link(Alias, obj.alias_count, group__id__exact=obj.pk)

    @admin.display(description=_("tasks"))
    def tasks_link(self, obj):
        label = _("pending") if obj.has_pending_task else _("all")
        return changelist_link(Task, label, group__id__exact=obj.pk)

    @admin.display(description=_("platform differences"))
    def platform_differences(self, obj):
        """What the drift check found (settled with the actions of the groups list)."""
        rows = [
            (d.get_kind_display(), d.get_subject_display(), d.name, d.panel_value,
             d.platform_value, d.found_at)
            for d in obj.drifts.all()
        ]  # fmt: skip
        if not rows:
            return "—"
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "{}</table>",
            _("difference"), _("concerns"), _("item"), _("in the panel"),
            _("on the platform"), _("found"),
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                rows,
            ),
        )  # fmt: skip

    @admin.display(description=_("related"))
    def related(self, obj):
        links = [
            changelist_link(GroupMember, _("members"), group__id__exact=obj.pk),
            changelist_link(GroupManager, _("administrators"), group__id__exact=obj.pk),
            changelist_link(Delegation, _("delegations"), group__id__exact=obj.pk),
            changelist_link(Alias, _("aliases"), group__id__exact=obj.pk),
            changelist_link(Task, _("tasks"), group__id__exact=obj.pk),
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:exchange_groups_group_history", args=[obj.pk]),
                _("history"),
            ),
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links))


class GroupPartAdmin(SupportAdmin):
    """Members, managers, delegations and aliases: listed per group, linked both ways."""

    list_filter = ["group__service"]
    search_fields = ["group__address__local_part", "group__display_name"]
    # Listed group by group, newest first within a group: a service's rows are then read
    # from its groups' indexes. Newest first across all groups made PostgreSQL walk every
    # membership of the platform backwards to find a small service's (0.3 s at a million).
    ordering = ["-group_id", "-id"]

    @admin.display(description=_("group"))
    def group_link(self, obj):
        return change_link(obj.group)


@admin.register(GroupMember)
class GroupMemberAdmin(GroupPartAdmin):
    list_display = ["__str__", "group_link", "created_at"]
    list_select_related = ["group__address__domain", "account__address__domain", "contact"]
    raw_id_fields = ["group", "account", "contact"]
    search_fields = [
        *GroupPartAdmin.search_fields,
        "account__address__local_part",
        "contact__email",
    ]


@admin.register(GroupManager)
class GroupManagerAdmin(GroupPartAdmin):
    list_display = ["__str__", "group_link", "created_at"]
    list_select_related = ["group__address__domain", "account__address__domain"]
    raw_id_fields = ["group", "account"]


@admin.register(Delegation)
class DelegationAdmin(GroupPartAdmin):
    list_display = ["account", "kind", "group_link", "created_at"]
    list_filter = ["kind", "group__service"]
    list_select_related = ["group__address__domain", "account__address__domain"]
    raw_id_fields = ["group", "account"]


@admin.register(Alias)
class AliasAdmin(GroupPartAdmin):
    list_display = ["__str__", "state", "group_link", "created_at"]
    list_filter = ["state", "group__service"]
    list_select_related = ["group__address__domain", "address__domain"]
    raw_id_fields = ["group", "address"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no count of every task on each list
    list_display = [
        "pk",
        "function_label",
        "group_link",
        "service",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "short_error",
        "requested_by",
    ]
    # Dates through the filter, not date_hierarchy: its drill-down read the distinct days of
    # every row listed on every view (8 ms for a service of 10,000 groups).
    list_filter = ["status", "function", "service", "created_at"]
    list_select_related = ["service", "group", "requested_by"]
    search_fields = ["object_label", "error", "service__name", "requested_by__username"]
    actions = ["retry", "cancel", "requeue"]
    fields = [
        "function_label",
        "group_link",
        "service",
        "status",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "error",
        "parameters",
        "items_summary",
        "run_after",
        "enqueued_at",
        "lease_expires_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        return request.user.has_perm("exchange_groups.operate_task")

    @admin.display(description=_("task"), ordering="function")
    def function_label(self, obj):
        return obj.get_function_display()

    @admin.display(description=_("group"), ordering="object_label")
    def group_link(self, obj):
        return change_link(obj.group, obj.object_label) if obj.group_id else obj.object_label

    @admin.display(description=_("error"))
    def short_error(self, obj):
        error = obj.error_message
        return (error[:80] + "…") if len(error) > 80 else error

    @admin.display(description=_("parameters"))
    def parameters(self, obj):
        text = json.dumps(obj.params, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description=_("items"))
    def items_summary(self, obj):
        counts = dict(
            obj.items.order_by()
            .values_list("status")
            .annotate(n=Count("*"))
            .values_list("status", "n")
        )
        if not counts:
            return "—"
        summary = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        failed = obj.items.filter(status="error")[:50]
        lines = format_html_join("", "<li>{}: {}</li>", ((i.label, i.error) for i in failed))
        return format_html("{}<ul>{}</ul>", summary, lines)

    def _operate(self, request, queryset, operation, verb, wrong_status):
        done, skipped = 0, 0
        for task in queryset:
            try:
                operation(task, user=request.user)
                done += 1
            except ValidationError:
                skipped += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d task %(verb)s.", "%(n)d tasks %(verb)s.", done)
                % {"n": done, "verb": verb},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext("%(n)d task skipped: %(why)s", "%(n)d tasks skipped: %(why)s", skipped)
                % {"n": skipped, "why": wrong_status},
                messages.WARNING,
            )

    @admin.action(description=_("Retry the selected tasks in error"), permissions=["operate"])
    def retry(self, request, queryset):
        self._operate(
            request,
            queryset,
            services.retry_task,
            _("sent again"),
            _("only a task in error can be retried."),
        )

    @admin.action(description=_("Cancel the selected scheduled tasks"), permissions=["operate"])
    def cancel(self, request, queryset):
        self._operate(
            request,
            queryset,
            services.cancel_task,
            _("cancelled"),
            _("only a scheduled task not yet started can be cancelled."),
        )

    @admin.action(
        description=_("Send again the selected tasks stuck in progress"), permissions=["operate"]
    )
    def requeue(self, request, queryset):
        self._operate(
            request,
            queryset,
            services.requeue_task,
            _("sent again"),
            _("only a task in progress can be sent again."),
        )
