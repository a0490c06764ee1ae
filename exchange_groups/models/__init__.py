from .directory import Account, Address, ExternalContact
from .drift import Drift
from .group import Alias, Delegation, Group, GroupManager, GroupMember, GroupMemberCount
from .service import Domain, ExchangeService, ServiceCount
from .task import Task, TaskItem
from .token import ApiToken

__all__ = [
    "ApiToken",
    "Account",
    "Address",
    "Alias",
    "Delegation",
    "Domain",
    "Drift",
    "ExchangeService",
    "ExternalContact",
    "Group",
    "GroupManager",
    "GroupMember",
    "GroupMemberCount",
    "ServiceCount",
    "Task",
    "TaskItem",
]
