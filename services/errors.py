"""Domain errors. Services raise these; the web layer maps each to a status code and a translated message.

Each error carries a message *code* and parameters rather than text, so the page that shows it can translate it
into the reader's language.
"""


class DomainError(Exception):
    status = 400

    def __init__(self, code: str = "", **params):
        super().__init__(code or self.__class__.__name__)
        self.code = code
        self.params = params


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class InvalidTransition(DomainError):
    """The command does not apply to the object in its current state (already decided, cancelled, ...)."""

    status = 409


class ValidationFailed(DomainError):
    status = 400
