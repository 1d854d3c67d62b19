"""States of workflow instances, branches and tasks; outcomes; the kinds of event a case's history records.

Stored values are the members' values (plain strings); the pages' translated labels for each are in app/labels.py.
"""

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
    EXTENSION = "extension"  # one branch's +10 working days (art. 42(1)), decided by that agency's supervisor
    JOINT_EXTENSION = "joint_extension"  # the joint limit's +15 (art. 42(2)), decided by the city's supervisor


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


class EventKind(enum.StrEnum):
    """What the append-only event log records (``wf_events.kind``). The engine writes these, except where noted."""

    STARTED = "started"
    TASK_ACCEPT = "task_accept"
    TASK_APPROVE = "task_approve"
    TASK_REJECT = "task_reject"
    FANNED_OUT = "fanned_out"
    BRANCH_SKIPPED = "branch_skipped"
    CHOSE = "chose"
    JOINED = "joined"
    ACTION = "action"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"
    DEEMED_ACCEPTED = "deemed_accepted"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESUBMITTED = "resubmitted"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"
    JOINT_EXTENSION_REQUESTED = "joint_extension_requested"
    JOINT_EXTENSION_GRANTED = "joint_extension_granted"
    JOINT_EXTENSION_REFUSED = "joint_extension_refused"
    DEADLINE_WARNING = "deadline_warning"
    OVERDUE = "overdue"
    JOINT_OVERDUE = "joint_overdue"
    MIGRATED = "migrated"
    DEADLINES_RECALCULATED = "deadlines_recalculated"  # workflows.recalendar, when a holiday notice is loaded
    TASK_REASSIGNED = "task_reassigned"  # services.applications.queues: an agency lead moved a task


# The event recording a completed task, by its outcome.
TASK_EVENT = {Outcome.ACCEPT: EventKind.TASK_ACCEPT, Outcome.APPROVE: EventKind.TASK_APPROVE,
              Outcome.REJECT: EventKind.TASK_REJECT}


RUNNING_BRANCH_STATES = {BranchState.ACTIVE, BranchState.WAITING_APPLICANT, BranchState.PAUSED}
ENDED_INSTANCE_STATES = {InstanceState.APPROVED, InstanceState.REJECTED, InstanceState.WITHDRAWN}
