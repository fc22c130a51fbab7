"""The checker: after the load and the faults, what the system holds against what it should.

It first waits for the system to settle (no new events for a while, every case's read-model row
at the store's version), then looks once. Every check reads the real stores and topics:

- **exactly once**: each case's stored events (less the letters the notices policy records) are
  the reference run's, in order — none lost, none applied twice, no case nobody asked for;
- every planned command was acknowledged by Kafka or answered over HTTP, as the reference says
  (accepted or refused); of two case officers deciding at once, exactly one wins;
- **one receipt per submission**: one record of it on the case, and at most one Message-ID at
  the SMTP server (a resend after a crash carries the same Message-ID: counted, not a second
  receipt);
- **projections = rebuild**: the read models equal a fresh rebuild from the event store;
- **per-case order** on the events topic: versions never skip ahead; every stored event is there
  (a version seen again is a redelivery: at-least-once transport, counted);
- **bad input**: every poison message is in the dead-letter topic with a reason, or refused with
  a reason on the rejected topic; every command the rules refuse is on the rejected topic with
  its reason; every bad HTTP request got a 4xx problem with a detail;
- **running**: every supervised process is running and ready.
"""

from __future__ import annotations

import functools
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.utils import resolve_topic
from kafka import TopicPartition

from chaos.workload import SENDER, SIDE_EFFECTS
from domain.commands import Verdict
from projections.tables import READ_MODELS
from saksflyt import kafka_wiring
from saksflyt.bootstrap import bootstrap
from saksflyt.notices.policy import domain_of, message_id_for
from schemas.codec import AvroCodec
from schemas.mapping import event_id
from tests.stores import read_model_tables

if TYPE_CHECKING:
    from chaos.campaign import Campaign

QUIET_S = 8.0  # no new event for this long, and the read models at the store's versions: settled


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    settled_s: float | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def add(self, name: str, passed: bool, detail: str) -> None:
        self.checks.append(Check(name, passed, detail))
        print(f"  {'ok  ' if passed else 'FAIL'} {name}: {detail}", flush=True)


def check(campaign: Campaign, settle_s: float) -> Report:
    report = Report()
    report.settled_s = settle(campaign, settle_s)
    running(campaign, report)  # before anything else may disturb them
    app = bootstrap(campaign.settings)
    try:
        stored = stored_events(app, campaign)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("exactly once", lambda: exactly_once(campaign, stored, report)),
            ("answered", lambda: answered(campaign, report)),
            ("receipts", lambda: receipts(campaign, app, stored, report)),
            ("order on the events topic", lambda: order_on_topic(campaign, stored, report)),
            ("bad input", lambda: bad_input(campaign, report)),
            ("projections", lambda: projections_equal_rebuild(campaign, report)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:  # a check that cannot even read what it checks fails
                report.add(name, False, f"the check broke: {type(error).__name__}: {error}")
    finally:
        app.close()
    faults = campaign.run.faults
    recoveries = [f.recovery_s for f in faults if f.recovery_s is not None]
    report.numbers["faults"] = dict(Counter(f.kind for f in faults))
    report.numbers["longest recovery s"] = max(recoveries, default=None)
    unrecovered = [f"{f.kind} {f.target}" for f in faults if f.recovery_s is None]
    report.add(
        "every fault recovered",
        not unrecovered,
        f"{len(faults) - len(unrecovered)} of {len(faults)}; longest "
        f"{max(recoveries, default=0):.1f} s" + (f"; not: {unrecovered}" if unrecovered else ""),
    )
    return report


def settle(campaign: Campaign, limit_s: float) -> float | None:
    """Seconds until settled, or None if it did not within ``limit_s``."""
    assert campaign.pg is not None
    begun = time.monotonic()
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - begun < limit_s:
        time.sleep(1)
        try:
            with psycopg.connect(campaign.pg.url, connect_timeout=2) as conn:
                head = conn.execute("SELECT max(notification_id) FROM saksflyt_events").fetchone()
                behind = conn.execute(
                    "SELECT count(*) FROM (SELECT originator_id::text AS id,"
                    " max(originator_version) AS v FROM saksflyt_events GROUP BY 1) s"
                    " LEFT JOIN case_overview c ON c.case_id = s.id"
                    " WHERE c.version IS DISTINCT FROM s.v"
                ).fetchone()
        except psycopg.Error:
            continue
        now = int(head[0] or 0) if head else 0
        if now != last:
            last, quiet_since = now, time.monotonic()
            continue
        if behind and behind[0] == 0 and time.monotonic() - quiet_since >= QUIET_S:
            return round(time.monotonic() - begun, 1)
    return None


def stored_events(app: Any, campaign: Campaign) -> dict[uuid.UUID, list[tuple[int, str]]]:
    """Every case's (version, event type) in version order, read straight from the store."""
    assert campaign.pg is not None
    with psycopg.connect(campaign.pg.url) as conn:
        ids = [r[0] for r in conn.execute("SELECT DISTINCT originator_id FROM saksflyt_events")]
    out: dict[uuid.UUID, list[tuple[int, str]]] = {}
    for start in range(0, len(ids), 1000):
        chunk = [uuid.UUID(str(i)) for i in ids[start : start + 1000]]
        for case_id, events in app.recorder.events_of(chunk).items():
            out[case_id] = [
                (e.originator_version, _name(e.topic))
                for e in sorted(events, key=lambda e: e.originator_version)
            ]
    return out


@functools.cache
def _name(topic: str) -> str:
    return str(resolve_topic(topic).__name__)


def exactly_once(
    campaign: Campaign, stored: dict[uuid.UUID, list[tuple[int, str]]], report: Report
) -> None:
    plan = campaign.plan
    lost = duplicated = misordered = 0
    wrong: list[str] = []
    for case_id, expected in plan.expected.items():
        actual = [name for _, name in stored.get(case_id, []) if name not in SIDE_EFFECTS]
        missing = Counter(expected) - Counter(actual)
        extra = Counter(actual) - Counter(expected)
        lost += sum(missing.values())
        duplicated += sum(extra.values())
        if not missing and not extra and actual != expected:
            misordered += 1
        if (missing or extra or actual != expected) and len(wrong) < 5:
            wrong.append(f"{case_id}: expected {expected}, stored {actual}")
    unasked = set(stored) - set(plan.expected)
    events = sum(len(v) for v in stored.values())
    report.numbers.update(
        {
            "events stored": events,
            "cases": len(stored),
            "lost": lost,
            "duplicated effects": duplicated,
        }
    )
    report.add(
        "every accepted command's events stored exactly once, in order",
        lost == duplicated == misordered == 0 and not unasked,
        f"{len(plan.expected)} cases, {events} events; lost {lost}, applied twice {duplicated}, "
        f"cases out of order {misordered}, cases nobody asked for {len(unasked)}"
        + (f"; e.g. {wrong}" if wrong else ""),
    )


def answered(campaign: Campaign, report: Report) -> None:
    plan, history = campaign.plan, campaign.run.history
    unsent = [c.command_id for c in plan.kafka if history.kafka_sent[c.command_id] == 0]
    wrong: list[str] = []
    requests = 0
    for journey in plan.journeys:
        pair: list[int] = []
        for request in journey.requests:
            requests += 1
            answer = history.http.get(request.key)
            if answer is None:
                wrong.append(f"{request.path}: {history.http_failed.get(request.key, 'unsent')}")
                continue
            if journey.case_id in plan.contested and request.path.endswith("/decision"):
                pair.append(answer.status)
                continue
            accepted = plan.verdicts[request.key] is Verdict.ACCEPTED
            if accepted != (200 <= answer.status < 300):
                wrong.append(f"{request.path}: {answer.status} {answer.body}")
        if pair and sorted(pair) != [200, 409]:
            wrong.append(f"two officers deciding {journey.case_id}: {pair}")
    retried = sum((a.retried for a in history.http.values()), Counter())
    report.numbers["commands sent"] = {
        "kafka": sum(history.kafka_sent.values()),
        "kafka resent after a failed send": history.kafka_resent,
        "http requests": requests,
        "http resent": dict(retried),
    }
    report.add(
        "every command sent and answered as the rules say",
        not unsent and not wrong,
        f"{len(plan.kafka)} over Kafka ({len(unsent)} never acknowledged), {requests} over HTTP "
        f"({sum(retried.values())} resends: {dict(retried)}); of {len(plan.contested)} cases two "
        "officers decided at once, one won each" + (f"; wrong: {wrong[:5]}" if wrong else ""),
    )


def receipts(
    campaign: Campaign, app: Any, stored: dict[uuid.UUID, list[tuple[int, str]]], report: Report
) -> None:
    assert campaign.smtp is not None
    inbox = campaign.smtp.inbox.by_message_id()
    domain = domain_of(SENDER)
    submissions = wrong = copies = 0
    examples: list[str] = []
    for case_id, events in stored.items():
        versions = [v for v, name in events if name == "Submitted"]
        if not versions:
            continue
        case = app.get_case(case_id)
        recorded = Counter(
            m["message_id"].replace(".print@", "@")
            for m in (*case.receipts, *case.messages)
            if m.get("kind", "kvittering") == "kvittering"
        )
        for version in versions:
            submissions += 1
            receipt = message_id_for(event_id(case_id, version), "kvittering", domain)
            copies += max(0, inbox.get(receipt, 0) - 1)
            if recorded[receipt] != 1:
                wrong += 1
                if len(examples) < 5:
                    examples.append(f"{case_id} v{version}: recorded {recorded[receipt]}")
    report.numbers["receipts"] = submissions
    report.numbers["receipt copies resent with the same Message-ID"] = copies
    report.add(
        "every submission got exactly one receipt",
        wrong == 0,
        f"{submissions} submissions, {wrong} without exactly one recorded receipt; "
        f"{copies} copies resent after a crash with the same Message-ID (a receiver drops them)"
        + (f"; e.g. {examples}" if examples else ""),
    )


def order_on_topic(
    campaign: Campaign, stored: dict[uuid.UUID, list[tuple[int, str]]], report: Report
) -> None:
    codec = AvroCodec()
    seen: dict[uuid.UUID, int] = {}
    published: dict[uuid.UUID, set[int]] = {}
    gaps: list[str] = []
    redelivered = 0
    for record in read_topic(campaign.bootstrap, campaign.topics.events):
        decoded = codec.decode(record.value)
        case_id = uuid.UUID(str(decoded.record["case_id"]))
        version = int(decoded.record["case_version"])
        top = seen.get(case_id, 0)
        if version > top + 1:
            gaps.append(f"{case_id}: v{version} after v{top}")
        if version <= top:
            redelivered += 1
        seen[case_id] = max(top, version)
        published.setdefault(case_id, set()).add(version)
    unpublished = sum(
        1
        for case_id, events in stored.items()
        for v, _ in events
        if v not in published.get(case_id, ())
    )
    report.numbers["events redelivered on the topic"] = redelivered
    report.add(
        "per-case order on the events topic; every stored event published",
        not gaps and unpublished == 0,
        f"{sum(len(v) for v in published.values())} events on the topic, {redelivered} "
        f"delivered again (at-least-once), {len(gaps)} skips ahead, {unpublished} stored but "
        "not published" + (f"; e.g. {gaps[:5]}" if gaps else ""),
    )


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    reader = kafka_wiring.reader(bootstrap, "chaos-checker")
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        reader.seek_to_beginning()
        ends = reader.end_offsets(partitions)
        records: list[Any] = []
        while any(reader.position(p) < ends[p] for p in partitions):
            for batch in reader.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        reader.close()


def bad_input(campaign: Campaign, report: Report) -> None:
    plan, history = campaign.plan, campaign.run.history
    codec = AvroCodec()
    dead: dict[str, str] = {}
    for record in read_topic(campaign.bootstrap, campaign.topics.commands_dlq):
        headers = {k: bytes(v).decode(errors="replace") for k, v in record.headers or []}
        poison = headers.get("chaos-poison") or f"{record.partition}/{record.offset}"
        dead[poison] = headers.get("dlq_error_message", "")
    rejected: dict[str, str] = {}
    for record in read_topic(campaign.bootstrap, campaign.topics.rejected):
        fields = codec.decode(record.value).record
        rejected[str(fields["command_id"])] = str(fields["reason"] or "")
    unexplained = [
        f"{kind} {pid}"
        for pid, kind in history.poison.items()
        if not (dead.get(pid) or rejected.get(pid))
    ]
    refused = [c.command_id for c in plan.kafka if plan.verdicts[c.command_id] is Verdict.REJECTED]
    unannounced = [c for c in refused if not rejected.get(str(c))]
    bad_http = [(w, s, d) for w, s, d in history.bad_http if not (400 <= s < 500 and d)]
    events_dlq = len(read_topic(campaign.bootstrap, campaign.topics.events_dlq))
    stray_dead = [k for k in dead if k not in history.poison]
    examples = unexplained or bad_http or stray_dead
    report.numbers["dead letters"] = {
        "commands": len(dead),
        "events": events_dlq,
        "refusals on the rejected topic": len(rejected),
    }
    report.add(
        "every bad input refused or dead-lettered with a reason",
        not unexplained and not unannounced and not bad_http and not stray_dead and events_dlq == 0,
        f"{len(history.poison)} poison messages ({dict(Counter(history.poison.values()))}): "
        f"{len(unexplained)} without a reason; {len(set(refused))} commands the rules refuse: "
        f"{len(unannounced)} not on the rejected topic; {len(history.bad_http)} bad HTTP "
        f"requests: {len(bad_http)} without a 4xx and a detail; {len(stray_dead)} other command "
        f"dead letters; {events_dlq} event dead letters"
        + (f"; {unexplained[:3]} {bad_http[:3]} {stray_dead[:3]}" if examples else ""),
    )


def projections_equal_rebuild(campaign: Campaign, report: Report) -> None:
    from chaos.supervisor import saksflyt

    live = read_model_tables(campaign.settings)
    rebuilt_run = subprocess.run(
        saksflyt("rebuild"), env=campaign.env, capture_output=True, text=True, timeout=900
    )
    if rebuilt_run.returncode != 0:
        report.add(
            "projections equal a rebuild", False, f"rebuild failed: {rebuilt_run.stdout[-300:]}"
        )
        return
    rebuilt = read_model_tables(campaign.settings)
    differ = {
        t.name: _differing(t.key, live[t.name], rebuilt[t.name])
        for t in READ_MODELS
        if live[t.name] != rebuilt[t.name]
    }
    rows = sum(len(v) for v in live.values())
    report.add(
        "every projection equals a fresh rebuild",
        not differ,
        f"{len(READ_MODELS)} read models, {rows} rows" + (f"; differ: {differ}" if differ else ""),
    )


def _differing(key: tuple[str, ...], a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    rebuilt = {tuple(r[k] for k in key): r for r in b}
    live = {tuple(r[k] for k in key): r for r in a}
    columns: Counter[str] = Counter()
    example = ""
    for k, row in live.items():
        twin = rebuilt.get(k)
        if twin is not None and twin != row:
            changed = {c: (row[c], twin.get(c)) for c in row if row[c] != twin.get(c)}
            columns.update(changed.keys())
            example = example or f"{k}: {changed}"
    return (
        f"{len(live.keys() - rebuilt.keys())} live rows not rebuilt, "
        f"{len(rebuilt.keys() - live.keys())} rebuilt rows not live, "
        f"{sum(columns.values())} values differ {dict(columns)}; e.g. {example}"
    )


def running(campaign: Campaign, report: Report) -> None:
    assert campaign.supervisor is not None
    supervised = [n for n, m in campaign.supervisor.members.items() if m.restart]
    down = [n for n in supervised if not campaign.supervisor.ready(n)]
    restarts = {n: campaign.supervisor.members[n].starts - 1 for n in supervised}
    report.numbers["restarts"] = restarts
    report.add(
        "every process running and ready",
        not down,
        f"{len(supervised)} processes, restarted {sum(restarts.values())} times in all"
        + (f"; down: {down}" if down else ""),
    )
