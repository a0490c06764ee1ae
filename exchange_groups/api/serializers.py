"""The objects of the API, named as the OVHcloud Exchange API names them."""

from rest_framework import serializers

from ..models import Group, Task

SIZE = {"min_value": 1, "max_value": 100, "allow_null": True, "required": False}


class ErrorSerializer(serializers.Serializer):
    class_ = serializers.CharField(help_text="e.g. Client::BadRequest")
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = fields.pop("class_")
        return fields


class TaskSerializer(serializers.ModelSerializer):
    todoDate = serializers.DateTimeField(source="created_at")  # noqa: N815 (OVHcloud names)
    finishDate = serializers.DateTimeField(source="finished_at", allow_null=True)  # noqa: N815

    class Meta:
        model = Task
        fields = ["id", "function", "status", "todoDate", "finishDate"]


class MailingListSerializer(serializers.Serializer):
    mailingListAddress = serializers.CharField(source="email")  # noqa: N815
    displayName = serializers.CharField(source="display_name")  # noqa: N815
    maxReceiveSize = serializers.IntegerField(source="max_receive_size", allow_null=True)  # noqa: N815
    maxSendSize = serializers.IntegerField(source="max_send_size", allow_null=True)  # noqa: N815
    hiddenFromGAL = serializers.BooleanField(source="hidden_from_gal")  # noqa: N815
    senderAuthentification = serializers.BooleanField(source="sender_authentication")  # noqa: N815
    joinRestriction = serializers.ChoiceField(  # noqa: N815
        source="join_restriction", choices=Group.JoinRestriction.values
    )
    departRestriction = serializers.ChoiceField(  # noqa: N815
        source="depart_restriction", choices=Group.DepartRestriction.values
    )
    state = serializers.ChoiceField(choices=Group.State.values)
    taskPendingId = serializers.IntegerField(allow_null=True, source="pending_task_id")  # noqa: N815
    creationDate = serializers.DateTimeField(source="created_at")  # noqa: N815
    lastUpdateDate = serializers.DateTimeField(source="updated_at")  # noqa: N815


class MailingListWriteSerializer(serializers.Serializer):
    """POST (create) and PUT (change: every field optional)."""

    mailingListAddress = serializers.EmailField(max_length=320)  # noqa: N815
    displayName = serializers.CharField(  # noqa: N815
        max_length=256, required=False, allow_blank=True, source="display_name"
    )
    maxReceiveSize = serializers.IntegerField(source="max_receive_size", **SIZE)  # noqa: N815
    maxSendSize = serializers.IntegerField(source="max_send_size", **SIZE)  # noqa: N815
    hiddenFromGAL = serializers.BooleanField(required=False, source="hidden_from_gal")  # noqa: N815
    senderAuthentification = serializers.BooleanField(  # noqa: N815
        required=False, source="sender_authentication"
    )
    joinRestriction = serializers.ChoiceField(  # noqa: N815
        choices=Group.JoinRestriction.values, required=False, source="join_restriction"
    )
    departRestriction = serializers.ChoiceField(  # noqa: N815
        choices=Group.DepartRestriction.values, required=False, source="depart_restriction"
    )


class MemberAccountSerializer(serializers.Serializer):
    memberAccountId = serializers.IntegerField(min_value=1)  # noqa: N815


class MemberContactSerializer(serializers.Serializer):
    memberContactId = serializers.IntegerField(min_value=1)  # noqa: N815


class ManagerAccountSerializer(serializers.Serializer):
    managerAccountId = serializers.IntegerField(min_value=1)  # noqa: N815


class AllowedAccountSerializer(serializers.Serializer):
    allowedAccountId = serializers.IntegerField(min_value=1)  # noqa: N815


class AliasSerializer(serializers.Serializer):
    alias = serializers.EmailField(max_length=320)


class AliasObjectSerializer(serializers.Serializer):
    alias = serializers.CharField()
    state = serializers.CharField()


class AccountItemSerializer(serializers.Serializer):
    """One account or contact of a group: its id and address."""

    id = serializers.IntegerField()
    emailAddress = serializers.CharField()  # noqa: N815


class ExternalContactSerializer(serializers.Serializer):
    externalEmailAddress = serializers.CharField(source="email", max_length=254)  # noqa: N815
    displayName = serializers.CharField(  # noqa: N815
        source="display_name", max_length=256, required=False, allow_blank=True
    )
    firstName = serializers.CharField(  # noqa: N815
        source="first_name", max_length=64, required=False, allow_blank=True
    )
    lastName = serializers.CharField(  # noqa: N815
        source="last_name", max_length=64, required=False, allow_blank=True
    )
