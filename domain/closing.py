"""Letters and closing: the receipt (kvittering) and the record of every letter sent, then
archive (bevares) or shred (kassasjon) as the retention policy says. A unit of the
``Application`` aggregate: its rules here, its events recorded by the aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from domain.forms import (
    contact_email,
)
from domain.guards import Guards
from domain.lifecycle import ReceiptChannel, Status, local_date
from domain.retention import RetentionAction
from domain.services import Service


class ClosingTrack(Guards):
    # recorded by the aggregate (domain.application)
    _archived: Callable[..., None]
    _message_failed: Callable[..., None]
    _message_sent: Callable[..., None]
    _receipt_sent: Callable[..., None]
    _shredded: Callable[..., None]
    # steps of the other units
    record_delivery: Callable[[date, datetime, Service], None]

    def send_receipt(
        self, channel: ReceiptChannel, message_id: str, at: datetime, address: str | None = None
    ) -> None:
        """Kvittering: tell the applicant the application arrived (to the form's e-mail by default)."""
        self._guard("send receipt", at)
        address = address or contact_email(self.form)
        if not address:
            raise self._refuse(
                "send receipt",
                "no-return-address",
                "the form gives no return address for a receipt",
            )
        self._receipt_sent(channel=channel.value, address=address, message_id=message_id, at=at)

    def record_message(
        self,
        kind: str,
        channel: str,
        message_id: str,
        at: datetime,
        failure: str | None = None,
        attempts: int = 1,
        address: str | None = None,
        service: Service | None = None,
    ) -> None:
        """A letter to the applicant went out, or failed for good (``failure`` says why): kept
        on the case once per message id. A sent receipt is the case's ``ReceiptSent``; a decision
        letter handed to the applicant's mailbox has reached them that day (fvl § 29)."""
        self._guard("record message", at)
        known = [m["message_id"] for m in (*self.messages, *self.receipts)]
        if message_id in known:
            raise self._refuse(
                "record message", "message-already-recorded", "that message is already recorded"
            )
        if failure is None and kind == "kvittering" and channel != "print":
            self.send_receipt(ReceiptChannel(channel), message_id, at, address)
        elif failure is None:
            self._message_sent(
                kind=kind, channel=channel, message_id=message_id, attempts=attempts, at=at
            )
            if kind == "vedtak" and channel == "email" and service and not self.delivered:
                self.record_delivery(local_date(at), at, service)
        else:
            self._message_failed(
                kind=kind,
                channel=channel,
                message_id=message_id,
                attempts=attempts,
                reason=failure,
                at=at,
            )

    def archive(
        self,
        archive_reference: str,
        at: datetime,
        service: Service,
        override_reason: str | None = None,
    ) -> None:
        """Arkivering (bevares): after the appeal period, or after a withdrawal; only a case the
        retention policy keeps, unless an archivist overrides it with a reason (recorded)."""
        self._guard_closable("archive", at, service)
        self._guard_retention("archive", RetentionAction.ARCHIVE, service, override_reason)
        self._archived(archive_reference=archive_reference, at=at, override_reason=override_reason)

    def shred(self, at: datetime, service: Service, override_reason: str | None = None) -> None:
        """Kassasjon: destroyed after the appeal period, or after a withdrawal; never a case the
        retention policy keeps, unless an archivist overrides it with a reason (recorded)."""
        self._guard_closable("shred", at, service)
        self._guard_retention("shred", RetentionAction.SHRED, service, override_reason)
        self._shredded(at=at, override_reason=override_reason)

    def _guard_closable(self, step: str, at: datetime, service: Service) -> None:
        self._guard(step, at, service)  # a høringssvar is done once registered
        appeal = self.appeal_deadline
        if self.status is Status.DECIDED and appeal is not None and local_date(at) <= appeal:
            raise self._refuse(
                step, "appeal-period-running", f"the appeal period (fvl § 29) runs until {appeal}"
            )

    def _guard_retention(
        self, step: str, wanted: RetentionAction, service: Service, override: str | None
    ) -> None:
        """The retention policy decides archive or shred; an explicit override with a reason
        may go against it (the HTTP API lets only an archivist give one)."""
        action, why = self.retention_decision(service)
        if action is wanted or override:
            return
        code = (
            "retention-policy-shred"
            if wanted is RetentionAction.ARCHIVE
            else "retention-policy-keep"
        )
        raise self._refuse(
            step,
            code,
            f"{service.code}'s retention policy says {action.value} ({why}); an archivist may "
            "override it with a reason",
        )
