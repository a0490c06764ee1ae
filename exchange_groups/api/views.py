"""The API, shaped like the OVHcloud Exchange API's mailing lists and tasks. Views parse the
request, call the same service functions as the panel, and answer with the task. URL
arguments keep the OVHcloud names (camelCase: `mailingListAddress`...)."""

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access, services
from ..models import Account, Alias, Delegation, ExternalContact, Group, Task
from ..models.expressions import full_address
from .errors import ServiceRefused
from .serializers import (
    AccountItemSerializer,
    AliasObjectSerializer,
    AliasSerializer,
    ExternalContactSerializer,
    MailingListSerializer,
    MailingListWriteSerializer,
    TaskSerializer,
)

TASK_CREATED = {201: TaskSerializer}
STRINGS = {200: {"type": "array", "items": {"type": "string"}}}
INTEGERS = {200: {"type": "array", "items": {"type": "integer"}}}


def _address(path="address"):
    """The address in lower case, as the API's lookups compare it."""
    return Lower(full_address(path))


class ServiceView(APIView):
    """Everything below /email/exchange/{organizationName}/service/{exchangeService}/, scoped
    to the services the token's owner was granted: anything else is a 404."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.service = access.service_for(
            request, organization_name=kwargs["organizationName"], name=kwargs["exchangeService"]
        )

    def get_group(self, address: str) -> Group:
        pending = Task.objects.filter(group=OuterRef("pk"), status__in=Task.PENDING).order_by("pk")
        groups = Group.objects.with_overview().annotate(
            full=_address(), pending_task_id=Subquery(pending.values("pk")[:1])
        )
        return access.group_for(
            self.request, self.service, queryset=groups, full=address.strip().lower()
        )

    def split(self, address: str):
        """'local@domain' -> (local part, domain id or None) for the service functions."""
        local_part, _sep, domain_name = address.strip().rpartition("@")
        domain = self.service.domains.filter(name__iexact=domain_name).first()
        return local_part, domain.pk if domain else None

    def call(self, function, *args, item_field=None, **kwargs):
        from django.core.exceptions import ValidationError

        try:
            return function(*args, **kwargs)
        except ValidationError as exc:
            raise ServiceRefused(exc, item_field) from exc


def task_response(task: Task) -> Response:
    return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


ADDRESS_FILTER = OpenApiParameter(
    "mailingListAddress", OpenApiTypes.STR, description="Filter: addresses containing this text."
)


class MailingLists(ServiceView):
    @extend_schema(operation_id="mailingList_list", parameters=[ADDRESS_FILTER], responses=STRINGS)
    def get(self, request, **kwargs):
        groups = Group.objects.filter(service=self.service).annotate(full=_address())
        if text := request.query_params.get("mailingListAddress", "").strip().strip("%"):
            groups = groups.filter(full__icontains=text.lower())
        return Response(list(groups.order_by("full").values_list("full", flat=True)))

    @extend_schema(request=MailingListWriteSerializer, responses=TASK_CREATED)
    def post(self, request, **kwargs):
        data = MailingListWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        local_part, domain = self.split(values.pop("mailingListAddress"))
        group = self.call(
            services.create_group,
            self.service,
            user=request.user,
            local_part=local_part,
            domain=domain,
            **values,
        )
        return task_response(group.new_tasks[0])


class MailingList(ServiceView):
    @extend_schema(operation_id="mailingList_get", responses=MailingListSerializer)
    def get(self, request, mailingListAddress, **kwargs):
        return Response(MailingListSerializer(self.get_group(mailingListAddress)).data)

    @extend_schema(request=MailingListWriteSerializer, responses=TASK_CREATED)
    def put(self, request, mailingListAddress, **kwargs):
        group = self.get_group(mailingListAddress)
        data = MailingListWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if new_address := values.pop("mailingListAddress", None):
            values["local_part"], values["domain"] = self.split(new_address)
        task = self.call(services.update_group, group, user=request.user, **values)
        return task_response(task)

    @extend_schema(request=None, responses=TASK_CREATED)
    def delete(self, request, mailingListAddress, **kwargs):
        group = self.get_group(mailingListAddress)
        return task_response(self.call(services.delete_group, group, user=request.user))


# --- members, managers, delegations: one pair of views per kind ---------------------------


class Part:
    """How one kind of sub-resource maps onto the domain."""

    def __init__(self, key, items, add, remove):
        self.key, self.items, self.add, self.remove = key, items, add, remove


def _accounts_of(queryset):
    return queryset.annotate(mail=_address("account__address")).values_list("account_id", "mail")


PARTS = {
    "member/account": Part(
        "memberAccountId",
        lambda g: _accounts_of(g.members.filter(account__isnull=False)),
        lambda g, u, pk: services.add_members(g, user=u, accounts=[pk]),
        lambda g, u, pk: services.remove_members(g, user=u, accounts=[pk]),
    ),
    "member/contact": Part(
        "memberContactId",
        lambda g: g.members.filter(contact__isnull=False).values_list(
            "contact_id", "contact__email"
        ),
        lambda g, u, pk: services.add_members(g, user=u, contacts=[pk]),
        lambda g, u, pk: services.remove_members(g, user=u, contacts=[pk]),
    ),
    "manager/account": Part(
        "managerAccountId",
        lambda g: _accounts_of(g.managers.all()),
        lambda g, u, pk: services.add_managers(g, user=u, accounts=[pk]),
        lambda g, u, pk: services.remove_managers(g, user=u, accounts=[pk]),
    ),
    "sendAs": Part(
        "allowedAccountId",
        lambda g: _accounts_of(g.delegations.filter(kind=Delegation.Kind.SEND_AS)),
        lambda g, u, pk: services.add_delegations(g, user=u, kind="send_as", accounts=[pk]),
        lambda g, u, pk: services.remove_delegations(g, user=u, kind="send_as", accounts=[pk]),
    ),
    "sendOnBehalfTo": Part(
        "allowedAccountId",
        lambda g: _accounts_of(g.delegations.filter(kind=Delegation.Kind.SEND_ON_BEHALF)),
        lambda g, u, pk: services.add_delegations(g, user=u, kind="send_on_behalf", accounts=[pk]),
        lambda g, u, pk: services.remove_delegations(
            g, user=u, kind="send_on_behalf", accounts=[pk]
        ),
    ),
}


def part_views(path: str):
    """The collection view (GET ids, POST add) and the item view (GET, DELETE) of a kind."""
    from rest_framework import serializers

    part = PARTS[path]
    camel = "".join(word[0].upper() + word[1:] for word in path.split("/"))
    body = type(
        f"{camel}Body",
        (serializers.Serializer,),
        {part.key: serializers.IntegerField(min_value=1, max_value=2**62)},
    )
    name = camel[0].lower() + camel[1:]

    class Collection(ServiceView):
        @extend_schema(
            operation_id=f"{name}_list",
            responses=INTEGERS,
        )
        def get(self, request, mailingListAddress, **kwargs):
            group = self.get_group(mailingListAddress)
            return Response(sorted(pk for pk, _mail in part.items(group)))

        @extend_schema(operation_id=f"{name}_add", request=body, responses=TASK_CREATED)
        def post(self, request, mailingListAddress, **kwargs):
            group = self.get_group(mailingListAddress)
            data = body(data=request.data)
            data.is_valid(raise_exception=True)
            pk = data.validated_data[part.key]
            task = self.call(part.add, group, request.user, pk, item_field=part.key)
            return task_response(task)

    class Item(ServiceView):
        @extend_schema(operation_id=f"{name}_get", responses=AccountItemSerializer)
        def get(self, request, mailingListAddress, pk, **kwargs):
            group = self.get_group(mailingListAddress)
            found = dict(part.items(group)).get(pk)
            if found is None:
                raise NotFound(_("Not in this mailing list."))
            return Response({"id": pk, "emailAddress": found})

        @extend_schema(operation_id=f"{name}_remove", request=None, responses=TASK_CREATED)
        def delete(self, request, mailingListAddress, pk, **kwargs):
            group = self.get_group(mailingListAddress)
            if pk not in dict(part.items(group)):
                raise NotFound(_("Not in this mailing list."))
            return task_response(
                self.call(part.remove, group, request.user, pk, item_field=part.key)
            )

    return Collection.as_view(), Item.as_view()


# --- aliases -------------------------------------------------------------------------------


class Aliases(ServiceView):
    @extend_schema(operation_id="alias_list", responses=STRINGS)
    def get(self, request, mailingListAddress, **kwargs):
        group = self.get_group(mailingListAddress)
        aliases = group.aliases.annotate(full=_address())
        return Response(sorted(aliases.values_list("full", flat=True)))

    @extend_schema(request=AliasSerializer, responses=TASK_CREATED)
    def post(self, request, mailingListAddress, **kwargs):
        group = self.get_group(mailingListAddress)
        data = AliasSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        local_part, domain = self.split(data.validated_data["alias"])
        alias = self.call(
            services.add_alias, group, user=request.user, local_part=local_part, domain=domain,
            item_field="alias",
        )  # fmt: skip
        return task_response(alias.new_tasks[0])


class AliasItem(ServiceView):
    def get_alias(self, group, alias) -> Alias:
        found = group.aliases.annotate(full=_address()).filter(full=alias.strip().lower()).first()
        if found is None:
            raise NotFound(_("No such alias."))
        return found

    @extend_schema(operation_id="alias_get", responses=AliasObjectSerializer)
    def get(self, request, mailingListAddress, alias, **kwargs):
        found = self.get_alias(self.get_group(mailingListAddress), alias)
        return Response({"alias": found.full, "state": found.state})

    @extend_schema(request=None, responses=TASK_CREATED)
    def delete(self, request, mailingListAddress, alias, **kwargs):
        found = self.get_alias(self.get_group(mailingListAddress), alias)
        return task_response(self.call(services.remove_alias, found, user=request.user))


# --- tasks, accounts, external contacts ------------------------------------------------------


class Tasks(ServiceView):
    @extend_schema(
        operation_id="task_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Task.Status.values),
            OpenApiParameter("function", OpenApiTypes.STR, enum=Task.Function.values),
        ],
        responses=INTEGERS,
    )
    def get(self, request, **kwargs):
        tasks = Task.objects.filter(service=self.service)
        if value := request.query_params.get("status"):
            tasks = tasks.filter(status=value)
        if value := request.query_params.get("function"):
            tasks = tasks.filter(function=value)
        return Response(list(tasks.order_by("-pk").values_list("pk", flat=True)))


class TaskDetail(ServiceView):
    @extend_schema(operation_id="task_get", responses=TaskSerializer)
    def get(self, request, pk, **kwargs):
        return Response(TaskSerializer(access.task_for(request, self.service, pk)).data)


class Accounts(ServiceView):
    @extend_schema(responses=STRINGS)
    def get(self, request, **kwargs):
        accounts = Account.objects.filter(service=self.service).annotate(full=_address())
        return Response(list(accounts.order_by("full").values_list("full", flat=True)))


class ExternalContacts(ServiceView):
    @extend_schema(operation_id="externalContact_list", responses=STRINGS)
    def get(self, request, **kwargs):
        contacts = ExternalContact.objects.filter(service=self.service).order_by("email")
        return Response(list(contacts.values_list("email", flat=True)))

    @extend_schema(
        operation_id="externalContact_create",
        request=ExternalContactSerializer,
        responses={201: ExternalContactSerializer},
    )
    def post(self, request, **kwargs):
        data = ExternalContactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = self.call(
            services.create_contact, self.service, user=request.user, **data.validated_data
        )
        return Response(ExternalContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ExternalContactItem(ServiceView):
    def get_contact(self, email) -> ExternalContact:
        return access.contact_for(self.request, self.service, email__iexact=email)

    @extend_schema(operation_id="externalContact_get", responses=ExternalContactSerializer)
    def get(self, request, externalEmailAddress, **kwargs):
        return Response(ExternalContactSerializer(self.get_contact(externalEmailAddress)).data)

    @extend_schema(operation_id="externalContact_delete", request=None, responses={204: None})
    def delete(self, request, externalEmailAddress, **kwargs):
        services.delete_contact(self.get_contact(externalEmailAddress), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskOperation(ServiceView):
    """POST task/{id}/retry (a task in error) and task/{id}/cancel (a task not started)."""

    operation = None

    @extend_schema(request=None, responses={200: TaskSerializer})
    def post(self, request, pk, **kwargs):
        task = access.task_for(request, self.service, pk)
        task = self.call(type(self).operation, task, user=request.user)
        return Response(TaskSerializer(task).data)


class TaskRetry(TaskOperation):
    operation = staticmethod(services.retry_task)


class TaskCancel(TaskOperation):
    operation = staticmethod(services.cancel_task)
