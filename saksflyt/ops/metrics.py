"""Every Prometheus metric saksflyt exposes, in one place.

Labels are bounded, and never hold a case id, a person or free text:

| label | values |
|---|---|
| `command` | the 14 command types (and `unknown`) |
| `outcome` | accepted, rejected, duplicate, failed (commands); sent, failed (receipts, letters) |
| | and stale, duplicate, unrecorded (letters) |
| `event` | the 17 public event types |
| `kind` | the 4 letters sent: kvittering, mangelbrev, forelopig-svar, vedtak |
| `channel` | email, print (letters); email, sms, digital-mailbox (receipts) |
| `service` | the 10 service codes |
| `kommunenummer` | municipalities with cases: at most 357 |
| `group`, `topic`, `partition` | the consumer groups and topics of a deployment, partitions per topic |
| `projection` | `caseflow` |
| `reason` | error class names (a few dozen at most) |
| `limit` | address, caller (the rate limit that answered 429) |

The largest family is `saksflyt_open_cases` / `saksflyt_cases_past_deadline`: services × municipalities
with cases, at most 3,570 series each.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_fastapi_instrumentator import Instrumentator, metrics

from consumers.telemetry import Telemetry
from domain.lifecycle import OSLO
from projections import queries
from projections.database import Database
from projections.overview import SAME_DAY_DECISION

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

COMMANDS = Counter(
    "saksflyt_commands_total", "Commands handled, by type and outcome", ["command", "outcome"]
)
EVENTS_RECORDED = Counter(
    "saksflyt_events_recorded_total", "Events stored in the event store", ["event", "service"]
)
RECEIPTS = Counter(
    "saksflyt_receipts_total", "Receipts (kvitteringer) to applicants", ["channel", "outcome"]
)
LETTERS = Counter(
    "saksflyt_letters_total",
    "Letters from the notices policy, by kind, channel and outcome",
    ["kind", "channel", "outcome"],
)
RELAY_PUBLISHED = Counter("saksflyt_relay_published_total", "Events the relay published to Kafka")
RELAY_BACKLOG = Gauge(
    "saksflyt_relay_backlog_events",
    "Events stored but not yet published (log head - position)",
    multiprocess_mode="max",
)
RELAY_PUBLISH_SECONDS = Histogram(
    "saksflyt_relay_publish_seconds", "From producing a batch to every ack", buckets=LATENCY_BUCKETS
)
CONSUMER_LAG = Gauge(
    "saksflyt_consumer_lag_messages",
    "Messages not yet consumed",
    ["group", "topic", "partition"],
    multiprocess_mode="max",
)
HANDLER_SECONDS = Histogram(
    "saksflyt_handler_seconds",
    "Time to handle one message: each poll's handling time, its writes included, per message",
    ["group"],
    buckets=(0.0001, 0.00025, 0.0005, *LATENCY_BUCKETS),  # a batched consumer's are µs
)
MESSAGES_HANDLED = Counter(
    "saksflyt_messages_handled_total", "Messages handled by a consumer group", ["group"]
)
DEAD_LETTERS = Counter(
    "saksflyt_dead_letters_total", "Messages sent to a dead-letter topic", ["topic", "reason"]
)
TRANSIENT_RETRIES = Counter(
    "saksflyt_transient_retries_total", "Retries after a transient failure", ["group"]
)
PROJECTION_APPLIED = Counter(
    "saksflyt_events_projected_total",
    "Events offered to the read models",
    ["projection", "outcome"],
)
PROJECTION_STALENESS = Gauge(
    "saksflyt_projection_staleness_seconds",
    "Age of the newest event applied to the read models (now - its occurred_at)",
    ["projection"],
)
REBUILD_PROGRESS = Gauge(
    "saksflyt_rebuild_progress_ratio", "Share of a running rebuild done", multiprocess_mode="max"
)
OPEN_CASES = Gauge(
    "saksflyt_open_cases", "Cases waiting for a decision", ["service", "kommunenummer"]
)
PAST_DEADLINE = Gauge(
    "saksflyt_cases_past_deadline",
    "Open cases past their decision deadline",
    ["service", "kommunenummer"],
)
EMERGENCY_PAST_DAY = Gauge(
    "saksflyt_emergency_help_past_day",
    "Requests for emergency help (nødhjelp) still undecided after the day they came in",
    ["service", "kommunenummer"],
)
DAY_S = 86_400
DECISION_SECONDS = Histogram(
    "saksflyt_decision_duration_seconds",
    "Time from a complete application to its first decision (or grant by law)",
    ["service", "kommunenummer"],
    buckets=[d * DAY_S for d in (1, 3, 7, 14, 21, 28, 42, 56, 84, 120, 180, 365)],
)

RATE_LIMITED = Counter(
    "saksflyt_rate_limited_total",
    "API requests refused with 429: too many from one address or one caller",
    ["limit"],
)
ACCESS_REFUSED = Counter(
    "saksflyt_access_refused_total",
    "API requests refused: no valid token, role or scope",
    ["reason"],
)
CASE_READS = Counter(
    "saksflyt_case_reads_total", "Reads of whole cases, each in the access log", ["action"]
)


# the API's request metrics, registered here like the others: every app made in a process shares
# them (saksflyt_http_requests_total, saksflyt_http_request_duration_seconds, sizes)
HTTP_REQUESTS = metrics.default(
    metric_namespace="saksflyt",
    latency_lowr_buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def http_metrics(app: Any) -> None:
    """Request counts and latency histograms of the API, by route template (never a case id),
    method and status class: saksflyt_http_requests_total, saksflyt_http_request_duration_seconds
    (prometheus-fastapi-instrumentator); /metrics itself and the health probes are left out."""
    instrumentator = Instrumentator(
        should_group_status_codes=True,
        should_ignore_untemplated=True,  # an unknown path is not a label value
        excluded_handlers=["/metrics", "/healthz", "/readyz"],
    )
    assert HTTP_REQUESTS is not None  # None only if something else registered these names
    instrumentator.add(HTTP_REQUESTS).instrument(app)


class PrometheusTelemetry(Telemetry):
    """The reports of ``Casework`` (commands, stored events) and of the consume loops, as metrics."""

    def command_handled(self, command_type: str, verdict: str, code: str | None) -> None:
        COMMANDS.labels(command_type, verdict).inc()

    def events_recorded(self, service: str, events: Sequence[object]) -> None:
        """Count stored events, and receipts among them."""
        for event in events:
            EVENTS_RECORDED.labels(type(event).__name__, service).inc()
            if type(event).__name__ == "ReceiptSent":
                RECEIPTS.labels(getattr(event, "channel", "unknown"), "sent").inc()
            elif type(event).__name__ == "MessageFailed" and event.kind == "kvittering":  # type: ignore[attr-defined]
                RECEIPTS.labels(getattr(event, "channel", "unknown"), "failed").inc()

    def decided(self, service: str, kommunenummer: str, seconds: float) -> None:
        DECISION_SECONDS.labels(service, kommunenummer).observe(seconds)

    def access_refused(self, reason: str) -> None:
        ACCESS_REFUSED.labels(reason).inc()

    def case_read(self, action: str) -> None:
        CASE_READS.labels(action).inc()

    def handled(self, group: str, messages: int, seconds: float) -> None:
        MESSAGES_HANDLED.labels(group).inc(messages)
        HANDLER_SECONDS.labels(group).observe(seconds / messages)

    def dead_letter(self, topic: str, reason: str) -> None:
        DEAD_LETTERS.labels(topic, reason).inc()

    def retry(self, group: str) -> None:
        TRANSIENT_RETRIES.labels(group).inc()

    def lag(self, group: str, topic: str, partition: int, messages: int) -> None:
        CONSUMER_LAG.labels(group, topic, str(partition)).set(messages)

    def published(self, count: int, seconds: float, backlog: int) -> None:
        if count:
            RELAY_PUBLISHED.inc(count)
            RELAY_PUBLISH_SECONDS.observe(seconds)
        RELAY_BACKLOG.set(backlog)

    def projected(self, applied: int, duplicates: int, newest: datetime | None) -> None:
        PROJECTION_APPLIED.labels("caseflow", "applied").inc(applied)
        PROJECTION_APPLIED.labels("caseflow", "duplicate").inc(duplicates)
        if newest is not None:
            age = (datetime.now(UTC) - newest).total_seconds()
            PROJECTION_STALENESS.labels("caseflow").set(max(age, 0.0))


TELEMETRY = PrometheusTelemetry()  # stateless: every loop and the API share this one


def refresh_case_gauges(db: Database, today: date) -> None:
    """Open cases and cases past their decision deadline, per service and municipality."""
    OPEN_CASES.clear()
    for (service, kommunenummer), count in queries.open_cases(db).items():
        OPEN_CASES.labels(service, kommunenummer).set(count)
    PAST_DEADLINE.clear()
    for (service, kommunenummer), count in queries.past_decision_deadline(db, today).items():
        PAST_DEADLINE.labels(service, kommunenummer).set(count)
    EMERGENCY_PAST_DAY.clear()
    urgent = queries.past_decision_deadline(db, today, kinds=(SAME_DAY_DECISION,))
    for (service, kommunenummer), count in urgent.items():
        EMERGENCY_PAST_DAY.labels(service, kommunenummer).set(count)


class GaugeRefresher:
    """Refreshes the case gauges from the read models on a timer, not on every scrape."""

    def __init__(self, open_db: Callable[[], Database], interval_s: float = 30.0) -> None:
        self.open_db, self.interval_s = open_db, interval_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gauge-refresher", daemon=True)

    def start(self) -> GaugeRefresher:
        self.thread.start()
        return self

    def _run(self) -> None:
        db = self.open_db()  # its own connection: the refresher runs in its own thread
        try:
            while not self.stop.is_set():
                try:
                    refresh_case_gauges(db, datetime.now(OSLO).date())
                except Exception:  # a missed refresh is not worth a dead process
                    log.warning("could not refresh case gauges", exc_info=True)
                self.stop.wait(self.interval_s)
        finally:
            db.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def metrics_payload(multiprocess_dir: Path | None) -> bytes:
    """The exposition text; with several worker processes, the sum of all their files."""
    if multiprocess_dir is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    return generate_latest(registry)
