"""Named vocabularies and their labels: every member of each enum has a label, translated in all three catalogues.

The enums live where their values are written (workflows/, services/); their labels live in app/, the only layer that
speaks flask-babel. A new member without a label, or a label left untranslated or fuzzy, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from app.clerk.routes import DECISION_LABELS, QUEUE_LABELS, Decision
from app.labels import (
    BRANCH_STATE,
    CASE_STATUS,
    EVENT_KIND,
    LICENCE_STATUS,
    NOTIFICATION_PARAMS,
    NOTIFICATION_TEXT,
    REQUEST_STATE,
    TASK_STATE,
    notification_text,
)
from app.portal.enterprise import AUDIT_LABELS
from services.applications.models import CaseStatus
from services.applications.queues import WorkQueue
from services.identity.mandates import AUDITED_EVENTS
from services.licences.models import LicenceStatus
from services.notifications.service import KINDS, NotificationKind
from workflows.states import BranchState, EventKind, Outcome, RequestState, TaskState

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["zh_Hans_CN", "zh_Hant_HK", "en"]

VOCABULARIES = {
    "event kinds": (EventKind, EVENT_KIND),
    "notification kinds": (NotificationKind, NOTIFICATION_TEXT),
    "work queues": (WorkQueue, QUEUE_LABELS),
    "outcomes": (Outcome, DECISION_LABELS),
    "clerk decisions": (Decision, DECISION_LABELS),
    "case statuses": (CaseStatus, CASE_STATUS),
    "branch states": (BranchState, BRANCH_STATE),
    "request states": (RequestState, REQUEST_STATE),
    "task states": (TaskState, TASK_STATE),
    "licence statuses": (LicenceStatus, LICENCE_STATUS),
}


@pytest.fixture(scope="module")
def catalogues():
    found = {}
    for language in LANGUAGES:
        with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            found[language] = read_po(fh)
    return found


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_member_has_a_label(name):
    enum, labels = VOCABULARIES[name]
    missing = [member.value for member in enum if member not in labels]
    assert not missing, f"{name}: no label for {missing}"


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_label_is_translated(name, catalogues):
    enum, labels = VOCABULARIES[name]
    problems = []
    for member in enum:
        label = labels[member]
        assert isinstance(label, LazyString), f"{name}: {member.value} needs an _l() label (made at import time)"
        msgid = label._args[0]
        for language, catalogue in catalogues.items():
            message = catalogue.get(msgid)
            if message is None or not message.string or message.fuzzy:
                problems.append(f"{language}: {member.value} {msgid!r}")
            elif language == "en" and message.string != msgid:
                problems.append(f"en: {member.value} {msgid!r} is translated as {message.string!r}")
    assert not problems, f"{name}: untranslated, empty or fuzzy: " + "; ".join(problems)


def test_vocabularies_keep_their_stored_values():
    # Stored as strings in existing rows: renaming a value would need a data migration.
    assert Decision.APPROVE == Outcome.APPROVE and {o.value for o in Outcome} <= {d.value for d in Decision}
    assert KINDS == set(NotificationKind) and "task_reassigned" in KINDS
    assert EventKind.TASK_REASSIGNED == "task_reassigned" and WorkQueue.DUE_SOON == "due_soon"
    assert list(QUEUE_LABELS) == list(WorkQueue)  # the tabs show in the enum's order
    assert set(AUDITED_EVENTS) <= set(AUDIT_LABELS)
    assert set(NOTIFICATION_PARAMS) <= set(NotificationKind)


def test_a_reassigned_task_notification_says_which_case_and_who(app):
    params = {"reference": "GZ20261204000001X", "task_id": 7, "reason": "On leave", "lead": "陈组长",
              "direction": "to"}
    with app.test_request_context("/"):
        for language, words in (("en", "the agency lead"), ("zh_Hans_CN", "组长"), ("zh_Hant_HK", "組長")):
            with force_locale(language):
                text = notification_text(NotificationKind.TASK_REASSIGNED, params)
            assert "GZ20261204000001X" in text and "陈组长" in text and "On leave" in text and words in text, text
        with force_locale("en"):
            # A stored row without a parameter still reads; an unknown kind shows as itself.
            assert notification_text("paused", {"reference": "R1"}).startswith("Application R1: the review is paused")
            assert "until about 2027-01-04" in notification_text("paused", {"reference": "R1",
                                                                            "resume_expected_on": "2027-01-04"})
            assert notification_text("no_such_kind", {}) == "no_such_kind"
