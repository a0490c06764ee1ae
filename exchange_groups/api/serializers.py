"""The objects of the API, named as the OVHcloud Exchange API names them (camelCase fields,
as its clients send and read them)."""

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
    todoDate = serializers.DateTimeField(source="created_at")
    finishDate = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = Task
        fields = ["id", "function", "status", "todoDate", "finishDate"]


class MailingListSerializer(serializers.Serializer):
    mailingListAddress = serializers.CharField(source="email")
    displayName = serializers.CharField(source="display_name")
    maxReceiveSize = serializers.IntegerField(source="max_receive_size", allow_null=True)
    maxSendSize = serializers.IntegerField(source="max_send_size", allow_null=True)
    hiddenFromGAL = serializers.BooleanField(source="hidden_from_gal")
    senderAuthentification = serializers.BooleanField(source="sender_authentication")
    joinRestriction = serializers.ChoiceField(
        source="join_restriction", choices=Group.JoinRestriction.values
    )
    departRestriction = serializers.ChoiceField(
        source="depart_restriction", choices=Group.DepartRestriction.values
    )
    state = serializers.ChoiceField(choices=Group.State.values)
    taskPendingId = serializers.IntegerField(allow_null=True, source="pending_task_id")
    creationDate = serializers.DateTimeField(source="created_at")
    lastUpdateDate = serializers.DateTimeField(source="updated_at")


class MailingListWriteSerializer(serializers.Serializer):
    """POST (create) and PUT (change: every field optional)."""

    mailingListAddress = serializers.EmailField(max_length=320)
    displayName = serializers.CharField(
        max_length=256, required=False, allow_blank=True, source="display_name"
    )
    maxReceiveSize = serializers.IntegerField(source="max_receive_size", **SIZE)
    maxSendSize = serializers.IntegerField(source="max_send_size", **SIZE)
    hiddenFromGAL = serializers.BooleanField(required=False, source="hidden_from_gal")
    senderAuthentification = serializers.BooleanField(
        required=False, source="sender_authentication"
    )
    joinRestriction = serializers.ChoiceField(
        choices=Group.JoinRestriction.values, required=False, source="join_restriction"
    )
    departRestriction = serializers.ChoiceField(
        choices=Group.DepartRestriction.values, required=False, source="depart_restriction"
    )


class MemberAccountSerializer(serializers.Serializer):
    memberAccountId = serializers.IntegerField(min_value=1)


class MemberContactSerializer(serializers.Serializer):
    memberContactId = serializers.IntegerField(min_value=1)


class ManagerAccountSerializer(serializers.Serializer):
    managerAccountId = serializers.IntegerField(min_value=1)


class AllowedAccountSerializer(serializers.Serializer):
    allowedAccountId = serializers.IntegerField(min_value=1)


class AliasSerializer(serializers.Serializer):
    alias = serializers.EmailField(max_length=320)


class AliasObjectSerializer(serializers.Serializer):
    alias = serializers.CharField()
    state = serializers.CharField()


class AccountItemSerializer(serializers.Serializer):
    """One account or contact of a group: its id and address."""

    id = serializers.IntegerField()
    emailAddress = serializers.CharField()


class ExternalContactSerializer(serializers.Serializer):
    externalEmailAddress = serializers.CharField(source="email", max_length=254)
    displayName = serializers.CharField(
        source="display_name", max_length=256, required=False, allow_blank=True
    )
    firstName = serializers.CharField(
        source="first_name", max_length=64, required=False, allow_blank=True
    )
    lastName = serializers.CharField(
        source="last_name", max_length=64, required=False, allow_blank=True
    )
