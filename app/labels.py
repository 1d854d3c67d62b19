"""Translated names for states and notification texts, shown wherever a state appears."""

from __future__ import annotations

from app.i18n import _, _l
from services.applications.models import CaseStatus
from services.licences.models import LicenceStatus
from workflows.states import BranchState, RequestState, TaskState

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
    "started": _l("Application received"),
    "task_accept": _l("Accepted by the lead window"),
    "fanned_out": _l("Sent to every agency concerned"),
    "branch_skipped": _l("Not needed for this application"),
    "task_approve": _l("Approved"),
    "task_reject": _l("Refused"),
    "joined": _l("All agencies approved"),
    "action": _l("Licences requested"),
    "ended": _l("Case closed"),
    "withdrawn": _l("Withdrawn by the applicant"),
    "deemed_accepted": _l("Counted as accepted on the day it arrived"),
    "supplement_requested": _l("Supplement requested"),
    "resubmitted": _l("Supplement received"),
    "paused": _l("Paused for expert review"),
    "resumed": _l("Review resumed"),
    "extension_requested": _l("Extension requested"),
    "extension_granted": _l("Time limit extended"),
    "extension_refused": _l("Extension refused"),
    "deadline_warning": _l("Two working days left"),
    "overdue": _l("Over the time limit"),
    "joint_overdue": _l("Over the joint time limit"),
    "chose": _l("Route chosen"),
    "migrated": _l("Moved to a new version of the procedure"),
    "deadlines_recalculated": _l("Time limits recounted for the State Council's holiday arrangements"),
    "task_reassigned": _l("Task handed to another clerk by the agency lead"),
}


def licence_notification_text(kind: str, params: dict) -> str | None:
    number = params.get("number", "")
    if kind == "licence_suspended":
        return _("Licence %(number)s was suspended by the issuing agency. Reason: %(reason)s", number=number,
                 reason=params.get("reason", ""))
    if kind == "licence_reinstated":
        return _("Licence %(number)s is valid again: the issuing agency lifted the suspension.", number=number)
    if kind == "licence_revoked":
        return _("Licence %(number)s was revoked by the issuing agency. Reason: %(reason)s. You may apply for "
                 "administrative reconsideration or bring an administrative lawsuit.", number=number,
                 reason=params.get("reason", ""))
    if kind == "licence_expired":
        return _("Licence %(number)s expired on %(date)s.", number=number, date=params.get("valid_until", ""))
    if kind == "licence_renewal_due":
        return _("Licence %(number)s expires on %(date)s. Apply for renewal at least 30 days before it expires.",
                 number=number, date=params.get("valid_until", ""))
    if kind == "licence_superseded":
        return _("Licence %(number)s was replaced by licence %(new_number)s.", number=number,
                 new_number=params.get("new_number", ""))
    return None


def notification_text(kind: str, params: dict) -> str:
    licence_text = licence_notification_text(kind, params)
    if licence_text is not None:
        return licence_text
    reference = params.get("reference", "")
    texts = {
        "case_submitted": _("We received your application %(reference)s.", reference=reference),
        "case_in_review": _("Application %(reference)s was accepted and sent to the agencies.", reference=reference),
        "case_approved": _("Application %(reference)s was approved.", reference=reference),
        "case_rejected": _("Application %(reference)s was refused. The reasons and your right to appeal are on "
                           "the case page.", reference=reference),
        "case_withdrawn": _("Application %(reference)s was withdrawn.", reference=reference),
        "enterprise_registered": _("%(name)s is registered, with the unified social credit code %(uscc)s (application "
                                   "%(reference)s). You are its legal representative: switch to it in the header to "
                                   "act for it.", name=params.get("name", ""), uscc=params.get("uscc", ""),
                                   reference=reference),
        "licence_issued": _("Licence %(number)s was issued for application %(reference)s.",
                            number=params.get("number", ""), reference=reference),
        "supplement_requested": _("Application %(reference)s: an agency needs more material from you. The full "
                                  "list is on the case page.", reference=reference),
        "paused": _("Application %(reference)s: the review is paused for expert review until about %(date)s. "
                    "This time does not count against the time limit.", reference=reference,
                    date=params.get("resume_expected_on", "")),
        "extension_granted": _("Application %(reference)s: the time limit was extended. Reason: %(reason)s",
                               reference=reference, reason=params.get("reason", "")),
        "deadline_warning": _("Case %(reference)s: two working days left before %(date)s.", reference=reference,
                              date=params.get("due_on", "")),
        "overdue": _("Case %(reference)s is over its time limit (due %(date)s).", reference=reference,
                     date=params.get("due_on", "")),
        "joint_overdue": _("Case %(reference)s is over the joint time limit (due %(date)s).", reference=reference,
                           date=params.get("joint_due", "")),
        "deadlines_recalculated": _("Case %(reference)s: the State Council published the %(year)s public holidays, "
                                    "so its time limits were recounted. You keep every working day you had; the "
                                    "new dates are on the case page.", reference=reference,
                                    year=params.get("year", "")),
    }
    return texts.get(kind, kind)


def template_labels() -> dict:
    return {
        "case_status_label": lambda s: CASE_STATUS.get(s, s),
        "branch_state_label": lambda s: BRANCH_STATE.get(s, s),
        "task_state_label": lambda s: TASK_STATE.get(s, s),
        "request_state_label": lambda s: REQUEST_STATE.get(s, s),
        "licence_status_label": lambda s: LICENCE_STATUS.get(s, s),
        "event_label": lambda k: EVENT_KIND.get(k, k),
        "notification_text": notification_text,
    }
