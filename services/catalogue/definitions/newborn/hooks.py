"""Checks of the newborn service that its data cannot express (named by ``check:`` in service.yaml)."""


def applicant_is_a_parent(answers: dict, account) -> list[tuple[str, str]]:
    """The certificate and the card are kept in the applying parent's wallet, so the applicant is one of the
    parents: their own identity number is the mother's or the father's."""
    if account is None or account.id_number in (answers.get("mother_id"), answers.get("father_id")):
        return []
    # The message goes under the field the applicant's own number belongs in: the 17th digit of a resident
    # identity number is odd for a man (GB 11643), so a father is told at the father's field.
    number = account.id_number or ""
    is_man = len(number) == 18 and number[16].isdigit() and int(number[16]) % 2 == 1
    return [("father_id" if is_man else "mother_id", "not_a_parent")]
