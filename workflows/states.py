"""States of workflow instances, branches and tasks."""

import enum


class InstanceState(enum.StrEnum):
    WAITING_ACCEPTANCE = "waiting_acceptance"
    RUNNING = "running"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class BranchState(enum.StrEnum):
    ACTIVE = "active"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class TaskState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Outcome(enum.StrEnum):
    ACCEPT = "accept"
    APPROVE = "approve"
    REJECT = "reject"


ENDED_INSTANCE_STATES = {InstanceState.APPROVED, InstanceState.REJECTED, InstanceState.WITHDRAWN}
