"""Errors the domain raises. Each says what was refused and why, in words a case officer can read."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base class for every refusal the domain makes."""


class InvalidIdentifier(DomainError, ValueError):
    """An identifier (fødselsnummer, organisasjonsnummer, …) failed its checks."""


class UnknownService(DomainError, LookupError):
    """No service with that code in the catalogue."""


class IncompleteForm(DomainError, ValueError):
    """A form is not complete or valid enough for the step asked for."""

    def __init__(self, service: str, problems: list[str]) -> None:
        self.service = service
        self.problems = problems
        super().__init__(f"{service}: form is not complete: " + "; ".join(problems))


class InvalidTransition(DomainError):
    """A lifecycle step was refused. Names the case, its state, the step and the rule."""

    def __init__(self, case_id: UUID, status: str, step: str, rule: str) -> None:
        self.case_id = case_id
        self.status = status
        self.step = step
        self.rule = rule
        super().__init__(f"case {case_id} ({status}): cannot {step}: {rule}")


class CaseNotFound(DomainError, LookupError):
    """No case with that id in the event store."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} not found")


class CaseAlreadyExists(DomainError):
    """A case with that id was started before."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} already exists")


class ConcurrentUpdate(DomainError):
    """Someone else saved the case after we read it (optimistic concurrency)."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} was changed by another writer; reload and try again")
