"""Checks of the newborn service that its data cannot express (named by ``check:`` in service.yaml)."""


def applicant_is_a_parent(answers: dict, account) -> list[tuple[str, str]]:
    """The certificate and the card are kept in the applying parent's wallet, so the applicant is one of the
    parents: their own identity number is the mother's or the father's."""
    if account is None or account.id_number in (answers.get("mother_id"), answers.get("father_id")):
        return []
    return [("mother_id", "not_a_parent")]
