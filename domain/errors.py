"""Errors the domain raises. Each says what was refused and why, in words a case officer can read.

Every refusal also carries a stable ``code`` (``neighbour-period-running``, ``case-not-found`` …):
logs, metrics and machine clients use the code; the message is for people and may quote input.
"""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base class for every refusal the domain makes."""

    code = "refused"


class InvalidIdentifier(DomainError, ValueError):
    """An identifier (fødselsnummer, organisasjonsnummer, …) failed its checks."""

    code = "invalid-identifier"


class UnknownService(DomainError, LookupError):
    """No service with that code in the catalogue."""

    code = "unknown-service"


class IncompleteForm(DomainError, ValueError):
    """A form is not complete or valid enough for the step asked for."""

    code = "incomplete-form"

    def __init__(self, service: str, problems: list[str]) -> None:
        self.service = service
        self.problems = problems
        super().__init__(f"{service}: form is not complete: " + "; ".join(problems))


class InvalidInput(DomainError, ValueError):
    """A value no stored event may carry: broken text, a number that is not finite, a deep nest."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class InvalidTime(InvalidInput):
    """A time outside the bounds every stored time keeps (see ``domain.timing``)."""


class InvalidTransition(DomainError):
    """A lifecycle step was refused. Names the case, its state, the step and the rule."""

    def __init__(self, case_id: UUID, status: str, step: str, code: str, message: str) -> None:
        self.case_id = case_id
        self.status = status
        self.step = step
        self.code = code  # stable, e.g. "neighbour-period-running"
        self.message = message  # for people; may quote input
        super().__init__(f"case {case_id} ({status}): cannot {step}: {message}")


class CaseNotFound(DomainError, LookupError):
    """No case with that id in the event store."""

    code = "case-not-found"

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} not found")


class CaseAlreadyExists(DomainError):
    """A case with that id was started before."""

    code = "case-already-exists"

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} already exists")


class ConcurrentUpdate(DomainError):
    """Someone else saved the case after we read it (optimistic concurrency)."""

    code = "concurrent-update"

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} was changed by another writer; reload and try again")
