"""How a letter leaves saksflyt: a channel takes one message and says what became of it.

``SmtpChannel`` hands e-mail to an SMTP server (``smtplib``; STARTTLS or implicit TLS, and
login, as configured), keeping one connection open between messages. ``MailboxChannel`` writes
to a local mbox file instead (the demo: nothing leaves the machine). A digital mailbox or SMS
channel is another class with the same ``send``.

The answer sorts every failure in three: the server could not be reached (``UNREACHABLE``: try
again later, every message waits), the server put this message off (``DEFERRED``: a 4xx, try a
few times), or refused it for good (``REFUSED``: a 5xx, e.g. an address that does not exist —
never retried).
"""

from __future__ import annotations

import enum
import mailbox
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class Outcome(enum.Enum):
    SENT = "sent"
    UNREACHABLE = "unreachable"
    DEFERRED = "deferred"
    REFUSED = "refused"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    detail: str = ""  # the server's code and a short reason; never the address or the text


class Channel(Protocol):
    name: str

    def send(self, message: EmailMessage) -> Delivery: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "starttls"  # starttls | tls | none
    user: str | None = None
    password: str | None = None
    timeout_s: float = 10.0


class SmtpChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.user:
            smtp.login(s.user, s.password or "")
        return smtp

    def send(self, message: EmailMessage) -> Delivery:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            return _answer(min(code for code, _ in refused.recipients.values()), "recipient")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            self.close()
            return _answer(error.smtp_code, "message")
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600 and not isinstance(
                error, smtplib.SMTPAuthenticationError
            ):
                return Delivery(Outcome.REFUSED, f"{error.smtp_code} refused")
            return Delivery(Outcome.UNREACHABLE, f"{error.smtp_code} from the server")
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            return Delivery(Outcome.UNREACHABLE, type(error).__name__)
        return Delivery(Outcome.SENT)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _answer(code: int, what: str) -> Delivery:
    """5xx: refused for good; anything else (4xx): put off, ask again later."""
    if 500 <= code < 600:
        return Delivery(Outcome.REFUSED, f"{code} {what} refused")
    return Delivery(Outcome.DEFERRED, f"{code} {what} deferred")


class MailboxChannel:
    """Letters into a local mbox file (read it with any mail reader): nothing leaves. For the demo
    and development: it is written out when the channel closes, not message by message."""

    name = "email"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.mbox(path)

    def send(self, message: EmailMessage) -> Delivery:
        self.box.add(message)
        return Delivery(Outcome.SENT)

    def close(self) -> None:
        self.box.close()  # flushes
