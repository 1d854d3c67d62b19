"""The short check before applying: a bundle's yes/no questions from the catalogue, and the verdict they give."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalogue.models import Bundle, EligibilityQuestion

ANSWERS = ("yes", "no")


def questions_for(session: Session, bundle: Bundle) -> list[EligibilityQuestion]:
    return list(session.scalars(select(EligibilityQuestion).where(EligibilityQuestion.bundle_id == bundle.id)
                                .order_by(EligibilityQuestion.position, EligibilityQuestion.id)))


@dataclass
class Verdict:
    """``eligible`` when every question got its eligible answer; ``blocking`` are the questions that did not, each
    with the reason and what to do instead."""

    eligible: bool
    blocking: list[EligibilityQuestion] = field(default_factory=list)


def assess(questions: list[EligibilityQuestion], answers: dict[str, str]) -> Verdict:
    """The verdict for ``answers`` (question code -> "yes"/"no"). An unanswered question or an answer other than
    yes/no is a ValueError: the page asks again rather than guessing."""
    blocking = []
    for question in questions:
        answer = answers.get(question.code)
        if answer not in ANSWERS:
            raise ValueError(f"unanswered eligibility question {question.code!r}")
        if answer != question.eligible_answer:
            blocking.append(question)
    return Verdict(eligible=not blocking, blocking=blocking)
