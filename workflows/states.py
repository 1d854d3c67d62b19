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
    WAITING_APPLICANT = "waiting_applicant"  # supplement requested: the branch's clock is paused
    PAUSED = "paused"  # expert review, testing, hearing (art. 45): the clock is paused
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class TaskState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RequestKind(enum.StrEnum):
    SUPPLEMENT = "supplement"
    EXTENSION = "extension"


class RequestState(enum.StrEnum):
    OPEN = "open"  # supplement: waiting for the applicant; extension: waiting for a supervisor
    ANSWERED = "answered"  # supplement resubmitted
    APPROVED = "approved"  # extension granted
    REFUSED = "refused"  # extension refused
    CANCELLED = "cancelled"


class TimerKind(enum.StrEnum):
    ACCEPTANCE_DEADLINE = "acceptance_deadline"
    BRANCH_WARNING = "branch_warning"
    BRANCH_DEADLINE = "branch_deadline"
    JOINT_DEADLINE = "joint_deadline"


class Outcome(enum.StrEnum):
    ACCEPT = "accept"
    APPROVE = "approve"
    REJECT = "reject"


RUNNING_BRANCH_STATES = {BranchState.ACTIVE, BranchState.WAITING_APPLICANT, BranchState.PAUSED}
ENDED_INSTANCE_STATES = {InstanceState.APPROVED, InstanceState.REJECTED, InstanceState.WITHDRAWN}
