"""Translated names for states and notification texts, shown wherever a state appears."""

from __future__ import annotations

from collections import defaultdict

from app.i18n import _l
from services.applications.models import CaseStatus
from services.licences.models import LicenceStatus
from services.notifications.service import NotificationKind
from workflows.states import BranchState, EventKind, RequestState, TaskState

CASE_STATUS = {
    CaseStatus.SUBMITTED: _l("Waiting for acceptance"),
    CaseStatus.IN_REVIEW: _l("Agencies reviewing"),
    CaseStatus.APPROVED: _l("Approved"),
    CaseStatus.REJECTED: _l("Refused"),
    CaseStatus.WITHDRAWN: _l("Withdrawn"),
}
BRANCH_STATE = {
    BranchState.ACTIVE: _l("In progress"),
    BranchState.WAITING_APPLICANT: _l("Waiting for your supplement"),
    BranchState.PAUSED: _l("Paused for expert review"),
    BranchState.APPROVED: _l("Approved"),
    BranchState.REJECTED: _l("Refused"),
    BranchState.CANCELLED: _l("Cancelled"),
}
# What staff read where the applicant reads "your supplement".
BRANCH_STATE_FOR_STAFF = {BranchState.WAITING_APPLICANT: _l("Waiting for the applicant's supplement")}


def branch_state_label(state):
    from flask import g

    from services.identity.models import Role

    account = g.get("account")
    if account is not None and account.role != Role.RESIDENT and state in BRANCH_STATE_FOR_STAFF:
        return BRANCH_STATE_FOR_STAFF[state]
    return BRANCH_STATE.get(state, state)


REQUEST_STATE = {
    RequestState.OPEN: _l("Waiting"),
    RequestState.ANSWERED: _l("Answered"),
    RequestState.APPROVED: _l("Granted"),
    RequestState.REFUSED: _l("Refused"),
    RequestState.CANCELLED: _l("Cancelled"),
}
TASK_STATE = {TaskState.OPEN: _l("Open"), TaskState.COMPLETED: _l("Completed"), TaskState.CANCELLED: _l("Cancelled")}
LICENCE_STATUS = {
    LicenceStatus.VALID: _l("valid"),
    LicenceStatus.SUSPENDED: _l("suspended"),
    LicenceStatus.REVOKED: _l("revoked"),
    LicenceStatus.EXPIRED: _l("expired"),
    LicenceStatus.SUPERSEDED: _l("superseded"),
}
EVENT_KIND = {
    EventKind.STARTED: _l("Application received"),
    EventKind.TASK_ACCEPT: _l("Accepted by the lead window"),
    EventKind.FANNED_OUT: _l("Sent to every agency concerned"),
    EventKind.BRANCH_SKIPPED: _l("Not needed for this application"),
    EventKind.TASK_APPROVE: _l("Approved"),
    EventKind.TASK_REJECT: _l("Refused"),
    EventKind.JOINED: _l("All agencies approved"),
    EventKind.ACTION: _l("Licences requested"),
    EventKind.ENDED: _l("Case closed"),
    EventKind.WITHDRAWN: _l("Withdrawn by the applicant"),
    EventKind.DEEMED_ACCEPTED: _l("Counted as accepted: the window did not act within 5 working days"),
    EventKind.SUPPLEMENT_REQUESTED: _l("Supplement requested"),
    EventKind.RESUBMITTED: _l("Supplement received"),
    EventKind.PAUSED: _l("Paused for expert review"),
    EventKind.RESUMED: _l("Review resumed"),
    EventKind.EXTENSION_REQUESTED: _l("Extension requested"),
    EventKind.EXTENSION_GRANTED: _l("Time limit extended"),
    EventKind.EXTENSION_REFUSED: _l("Extension refused"),
    EventKind.JOINT_EXTENSION_REQUESTED: _l("Joint time limit extension asked of the city"),
    EventKind.JOINT_EXTENSION_GRANTED: _l("Joint time limit extended by the city"),
    EventKind.JOINT_EXTENSION_REFUSED: _l("Joint time limit extension refused by the city"),
    EventKind.DEADLINE_WARNING: _l("Two working days left"),
    EventKind.OVERDUE: _l("Over the time limit"),
    EventKind.JOINT_OVERDUE: _l("Over the joint time limit"),
    EventKind.CHOSE: _l("Route chosen"),
    EventKind.MIGRATED: _l("Moved to a new version of the procedure"),
    EventKind.DEADLINES_RECALCULATED: _l("Time limits recounted for the State Council's holiday arrangements"),
    EventKind.TASK_REASSIGNED: _l("Task handed to another clerk by the agency lead"),
}

# What each notification says. The placeholders are the notification's parameters, by the same names except where
# NOTIFICATION_PARAMS maps a placeholder to another parameter; a parameter missing from a stored row reads as "".
NOTIFICATION_TEXT = {
    NotificationKind.CASE_SUBMITTED: _l("We received your application %(reference)s."),
    NotificationKind.CASE_IN_REVIEW: _l("Application %(reference)s was accepted and sent to the agencies."),
    NotificationKind.CASE_APPROVED: _l("Application %(reference)s was approved."),
    NotificationKind.CASE_REJECTED: _l("Application %(reference)s was refused. The reasons and your right to appeal "
                                       "are on the case page."),
    NotificationKind.CASE_WITHDRAWN: _l("Application %(reference)s was withdrawn."),
    NotificationKind.LICENCE_ISSUED: _l("Licence %(number)s was issued for application %(reference)s."),
    NotificationKind.ENTERPRISE_REGISTERED: _l("%(name)s is registered, with the unified social credit code %(uscc)s "
                                               "(application %(reference)s). You are its legal representative: "
                                               "switch to it in the header to act for it."),
    NotificationKind.SUPPLEMENT_REQUESTED: _l("Application %(reference)s: an agency needs more material from you. The "
                                              "full list is on the case page."),
    NotificationKind.PAUSED: _l("Application %(reference)s: the review is paused for expert review until about "
                                "%(date)s. This time does not count against the time limit."),
    NotificationKind.EXTENSION_GRANTED: _l("Application %(reference)s: the time limit was extended. Reason: "
                                           "%(reason)s"),
    NotificationKind.JOINT_EXTENSION_GRANTED: _l("Application %(reference)s: the city extended the joint time limit "
                                                 "by 15 working days, to %(date)s. Reason: %(reason)s"),
    NotificationKind.DEADLINE_WARNING: _l("Case %(reference)s: two working days left before %(date)s."),
    NotificationKind.OVERDUE: _l("Case %(reference)s is over its time limit (due %(date)s)."),
    NotificationKind.JOINT_OVERDUE: _l("Case %(reference)s is over the joint time limit (due %(date)s)."),
    NotificationKind.LICENCE_SUSPENDED: _l("Licence %(number)s was suspended by the issuing agency. Reason: "
                                           "%(reason)s"),
    NotificationKind.LICENCE_REINSTATED: _l("Licence %(number)s is valid again: the issuing agency lifted the "
                                            "suspension."),
    NotificationKind.LICENCE_REVOKED: _l("Licence %(number)s was revoked by the issuing agency. Reason: %(reason)s. "
                                         "You may apply for administrative reconsideration or bring an administrative "
                                         "lawsuit."),
    NotificationKind.LICENCE_EXPIRED: _l("Licence %(number)s expired on %(date)s."),
    NotificationKind.LICENCE_RENEWAL_DUE: _l("Licence %(number)s expires on %(date)s. Apply for renewal at least 30 "
                                             "days before it expires."),
    NotificationKind.LICENCE_SUPERSEDED: _l("Licence %(number)s was replaced by licence %(new_number)s."),
    NotificationKind.TASK_REASSIGNED: _l("Case %(reference)s: %(lead)s, the agency lead, reassigned its task. "
                                         "Reason: %(reason)s"),
    NotificationKind.DEADLINES_RECALCULATED: _l("Case %(reference)s: the State Council published the %(year)s public "
                                                "holidays, so its time limits were recounted. You keep every working "
                                                "day you had; the new dates are on the case page."),
}
NOTIFICATION_PARAMS = {
    NotificationKind.PAUSED: {"date": "resume_expected_on"},
    NotificationKind.DEADLINE_WARNING: {"date": "due_on"},
    NotificationKind.OVERDUE: {"date": "due_on"},
    NotificationKind.JOINT_OVERDUE: {"date": "joint_due"},
    NotificationKind.JOINT_EXTENSION_GRANTED: {"date": "joint_due"},
    NotificationKind.LICENCE_EXPIRED: {"date": "valid_until"},
    NotificationKind.LICENCE_RENEWAL_DUE: {"date": "valid_until"},
}


def notification_text(kind: str, params: dict) -> str:
    """A stored notification in the reader's language (an unknown kind shows as itself)."""
    text = NOTIFICATION_TEXT.get(kind)
    if text is None:
        return kind
    values = defaultdict(str, params)
    for placeholder, name in NOTIFICATION_PARAMS.get(kind, {}).items():
        values[placeholder] = params.get(name, "")
    from app.deadlines import provisional_notice_suffix

    return str(text) % values + provisional_notice_suffix(params)


def template_labels() -> dict:
    return {
        "case_status_label": lambda s: CASE_STATUS.get(s, s),
        "branch_state_label": branch_state_label,
        "task_state_label": lambda s: TASK_STATE.get(s, s),
        "request_state_label": lambda s: REQUEST_STATE.get(s, s),
        "licence_status_label": lambda s: LICENCE_STATUS.get(s, s),
        "event_label": lambda k: EVENT_KIND.get(k, k),
        "notification_text": notification_text,
    }
