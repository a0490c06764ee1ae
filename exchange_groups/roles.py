"""The "Support" role: support staff see everything in the admin and operate tasks (retry,
cancel, send again) but change and delete nothing else. Kept up to date after every
migrate, so new models are covered without a manual step."""

from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission

SUPPORT = "Support"


def ensure_support_role(**kwargs) -> AuthGroup:
    role, _created = AuthGroup.objects.get_or_create(name=SUPPORT)
    permissions = Permission.objects.filter(
        content_type__app_label__in=["exchange_groups", "auth"], codename__startswith="view_"
    ) | Permission.objects.filter(
        content_type__app_label="exchange_groups", codename="operate_task"
    )
    role.permissions.set(permissions)
    return role
