"""Request and response bodies of the HTTP API: validated once, at the edge."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.lifecycle import Outcome

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Kind = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9-]+$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(Body):
    at: AwareDatetime | None = Field(
        default=None, description="When it happened (business time); default now"
    )


class NewDraft(Step):
    service: ShortText
    kommunenummer: Annotated[str, Field(pattern=r"^\d{4}$")]
    form: dict[str, Any] = Field(default_factory=dict)
    case_id: UUID | None = None


class NewApplication(NewDraft):
    pass


class DraftBody(Step):
    form: dict[str, Any]


class SubmitBody(Step):
    form: dict[str, Any] = Field(default_factory=dict)


class NoticeBody(Step):
    neighbours: list[ShortText] = Field(min_length=1, max_length=200)


class ConsentBody(Step):
    neighbour: ShortText


class CommentBody(ConsentBody):
    objection: bool


class MissingBody(Step):
    kinds: list[Kind] = Field(min_length=1, max_length=20)
    reason: Text


class ReplyBody(Step):
    reason: Text
    expected_by: date


class DecisionBody(Step):
    outcome: Outcome
    legal_basis: ShortText
    case_officer: ShortText


class WithdrawBody(Step):
    reason: Text


class ArchiveBody(Step):
    archive_reference: ShortText


class CommandResult(BaseModel):
    case_id: UUID
    command_id: UUID
    status: str | None = None
    version: int | None = None
    duplicate: bool = False


class AttachmentResult(CommandResult):
    attachment_id: UUID
    sha256: str
    size: int
