"""Service functions: every change a customer or a support agent asks for goes through here.

Each function checks its rules first. On a violation it raises a ValidationError keyed by
the form field the rule concerns (NON_FIELD_ERRORS for the object as a whole), having
written nothing. Otherwise it writes its rows and its tasks in one transaction, one task
per function carrying all of its items, and sends the tasks to the workers once the
transaction has committed. Views, the admin and the API import this package and call
these functions, and nothing else, to change data.
"""

from .aliases import add_alias, remove_alias
from .common import (
    ADDRESS_TAKEN,
    GROUP_SETTINGS,
    check_address,
    expected_delegations,
    expected_managers,
    expected_members,
)
from .groups import check_group, check_members, create_group, delete_group, update_group
from .members import (
    add_delegations,
    add_managers,
    add_members,
    remove_delegations,
    remove_managers,
    remove_members,
)
from .tasks import cancel_task, retry_task

__all__ = [
    "ADDRESS_TAKEN",
    "GROUP_SETTINGS",
    "add_alias",
    "add_delegations",
    "add_managers",
    "add_members",
    "cancel_task",
    "check_address",
    "check_group",
    "check_members",
    "create_group",
    "delete_group",
    "expected_delegations",
    "expected_managers",
    "expected_members",
    "remove_alias",
    "remove_delegations",
    "remove_managers",
    "remove_members",
    "retry_task",
    "update_group",
]
