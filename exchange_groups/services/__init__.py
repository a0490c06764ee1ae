"""Service functions: every change a customer or a support agent asks for goes through here.

Each function checks its rules first. On a violation it raises a ValidationError keyed by
the form field the rule concerns (NON_FIELD_ERRORS for the object as a whole), having
written nothing. Otherwise it writes its rows and its tasks in one transaction, one task
per function carrying all of its items, and sends the tasks to the workers once the
transaction has committed. A function that sends tasks returns them (a task, or a list of
tasks); the two that create an object return it, carrying its tasks as `new_tasks`
(create_group, add_alias). Views, the admin and the API import this package and call
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
    member_outlook,
    pending_items,
)
from .contacts import (
    ImportPreview,
    create_contact,
    delete_contact,
    import_members,
    preview_import,
)
from .groups import (
    check_group,
    check_members,
    create_group,
    delete_group,
    plan_update,
    update_group,
)
from .members import (
    add_delegations,
    add_managers,
    add_members,
    change_delegations,
    change_users,
    pending_subjects,
    plan_delegations,
    plan_users,
    remove_delegations,
    remove_managers,
    remove_members,
)
from .platform import adopt_drift, repair_drift
from .tasks import cancel_task, requeue_task, retry_task

__all__ = [
    "ImportPreview",
    "create_contact",
    "delete_contact",
    "import_members",
    "preview_import",
    "ADDRESS_TAKEN",
    "GROUP_SETTINGS",
    "add_alias",
    "adopt_drift",
    "repair_drift",
    "add_delegations",
    "add_managers",
    "add_members",
    "cancel_task",
    "change_delegations",
    "change_users",
    "pending_subjects",
    "plan_delegations",
    "plan_users",
    "check_address",
    "check_group",
    "check_members",
    "create_group",
    "delete_group",
    "expected_delegations",
    "expected_managers",
    "expected_members",
    "member_outlook",
    "pending_items",
    "plan_update",
    "remove_alias",
    "remove_delegations",
    "remove_managers",
    "remove_members",
    "requeue_task",
    "retry_task",
    "update_group",
]
