"""The public Avro contract: round trips, the standard wire, evolution and corrupt input."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import avro.io
import avro.schema
import pytest
from eventsourcing.application import project_aggregate
from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.public_events import to_kafka_record
from domain import commands as cmd
from domain.appeal import AppealStage, DismissalGround
from domain.application import Application
from domain.lifecycle import AppealResult, Outcome, ReceiptChannel, Status
from domain.personal import PERSONAL
from domain.values import Decision
from schemas.codec import HEADER_SIZE, AvroCodec, UndecodableMessage
from schemas.kafka_layout import SCHEMA_BASE, command_record
from schemas.mapping import (
    COMMAND_TYPES,
    EVENT_MAP,
    PUBLIC_EVENT_NAMES,
    InvalidCommand,
    command_from_record,
    command_to_record,
    to_latest_public_event,
)
from schemas.registry import SCHEMA_DIR, default_registry
from tests.avro_strategies import records
from tests.builders import REASONS, attach, decided, parties, prepared, service, submit, submitted

REPO = Path(__file__).resolve().parents[2]
CODEC = AvroCodec()
REGISTRY = default_registry()
ALL_SCHEMAS = [s for n in REGISTRY.names() for s in REGISTRY.versions(n)]
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def _full_lifecycle_events() -> list[object]:
    """At least one domain event of every type, from in-memory aggregates."""
    day = timedelta(days=1)
    building = prepared("melding-om-tiltak", T0)
    building.send_neighbour_notice(
        parties("0301-1/2", "0301-1/3", "0301-1/4"), T0, service("melding-om-tiltak")
    )
    building.record_neighbour_consent("0301-1/2", T0 + day)
    building.record_neighbour_comment("0301-1/3", True, T0 + day, service(building.service))
    at = T0 + 15 * day  # the application goes in after the comment period
    submit(building, at, comments="Merknaden er tatt hensyn til")
    building.send_receipt(ReceiptChannel.EMAIL, "m-1", at)
    building.request_missing_documents(
        ["tegninger"], "mangler fasade", at + day, service(building.service)
    )
    building.resume_processing(at + 2 * day, service(building.service))
    building.send_preliminary_reply(
        "venter på høring", (at + 60 * day).date(), at + 3 * day, service(building.service)
    )
    building.record_message("forelopig-svar", "email", "<m-2@saksflyt>", at + 3 * day)
    building.record_message("mangelbrev", "email", "<m-3@saksflyt>", at + 3 * day, "refused", 2)
    refused = Decision(Outcome.REFUSED, "pbl § 20-4", "sb-1", **REASONS)
    building.decide(refused, at + 20 * day, service(building.service))
    building.record_delivery((at + 22 * day).date(), at + 23 * day, service(building.service))
    building.archive("0301-2026/9", at + 60 * day, service(building.service))
    appealed = decided("ledsagerbevis", T0)
    appealed.receive_appeal(date(2026, 3, 10), T0 + 8 * day, service("ledsagerbevis"))
    appealed.review_appeal(None, None, T0 + 9 * day, service("ledsagerbevis"))
    appealed.record_appeal_result(AppealResult.UPHELD, T0 + 30 * day, service(appealed.service))
    reversed_ = decided("ledsagerbevis", T0)
    reversed_.receive_appeal(date(2026, 3, 10), T0 + 8 * day, service("ledsagerbevis"))
    granted = Decision(Outcome.GRANTED, "Bufdirs retningslinjer", "sb-2")
    reversed_.review_appeal(granted, None, T0 + 9 * day, service("ledsagerbevis"))
    dismissed = decided("ledsagerbevis", T0)  # fvl § 28: the appellant is no party
    dismissed.receive_appeal(date(2026, 3, 10), T0 + 8 * day, service("ledsagerbevis"), None, False)
    dismissed.dismiss_appeal(
        DismissalGround.NO_STANDING,
        AppealStage.DECIDING_BODY,
        T0 + 9 * day,
        service("ledsagerbevis"),
    )
    withdrawn = submitted("avfallsbeholder", T0)
    withdrawn.withdraw("flytter", T0 + day)
    withdrawn.shred(T0 + 2 * day, service(withdrawn.service))
    draft = Application(service="ledsagerbevis", kommunenummer="0301", at=T0, id=uuid4())
    draft.save_draft({"funksjonsnedsettelse": "nedsatt syn"}, T0)
    attach(draft, "foto", T0)
    by_law = submitted("melding-om-tiltak", T0)  # every neighbour consented
    by_law.deem_granted(T0 + 30 * day, service("melding-om-tiltak"))
    licence = submitted("skjenkebevilling", T0)  # alkoholloven § 1-7: the police heard
    licence.request_consultation("politiet", T0 + day, service("skjenkebevilling"))
    licence.record_consultation_answer("politiet", False, T0 + 9 * day)
    surveyed = decided("kartforretning", T0, formal="fradeling")  # the survey follows a permit
    surveyed.record_survey(date(2026, 4, 20), T0 + 60 * day, service("kartforretning"))
    called = Application(service="pleie-omsorg", kommunenummer="0301", at=T0, id=uuid4())
    called.request_contact(
        {"navn": "Ola Nordmann", "telefon": "91234567"}, T0, service("pleie-omsorg")
    )
    called.take_up_contact(T0 + day, service("pleie-omsorg"))
    others = (appealed, reversed_, dismissed, withdrawn, draft, by_law, licence, surveyed, called)
    return [*building.collect_events(), *(e for case in others for e in case.collect_events())]


def test_every_domain_event_and_command_has_a_schema() -> None:
    topics = {type(e).TOPIC.removeprefix("saksflyt.application.") for e in _full_lifecycle_events()}  # type: ignore[attr-defined]
    assert topics == set(EVENT_MAP)
    assert set(REGISTRY.names("events")) == PUBLIC_EVENT_NAMES
    assert set(REGISTRY.names("commands")) == {*COMMAND_TYPES, "CommandRejected"}


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.path.name)
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_type_round_trips(schema: Any, data: st.DataObject) -> None:
    record = data.draw(records(schema.raw))
    decoded = CODEC.decode(CODEC.encode(schema.name, record, schema.version))
    assert (decoded.name, decoded.writer_version) == (schema.name, schema.version)
    latest = REGISTRY.latest(schema.name)
    expected = {**{f["name"]: f.get("default") for f in latest.raw["fields"]}, **record}
    assert decoded.record == expected


def test_domain_events_reach_the_wire_and_back_unchanged() -> None:
    for domain_event in _full_lifecycle_events():
        public = to_latest_public_event(domain_event, "melding-om-tiltak", "0301", CODEC.registry)
        message = to_kafka_record(public, CODEC)
        decoded = CODEC.decode(message.value)
        assert decoded.record == public.record
        _names_its_schema(message.header("ce_dataschema"), message.value)
        assert decoded.record["case_version"] == domain_event.originator_version  # type: ignore[attr-defined]


def _names_its_schema(dataschema: str | None, value: bytes) -> None:
    """ce_dataschema names the file of the schema the value was written with (its fingerprint
    follows the magic bytes)."""
    assert dataschema is not None and dataschema.startswith(SCHEMA_BASE)
    path = SCHEMA_DIR / dataschema.removeprefix(SCHEMA_BASE)
    written = REGISTRY.by_fingerprint(value[2:HEADER_SIZE])
    assert written is not None and written.path == path and path.is_file()


def test_submitted_carries_the_decision_due_date_and_the_applicant_pseudonym() -> None:
    event = next(
        e
        for e in submitted("melding-om-tiltak", T0).collect_events()
        if type(e).__name__ == "Submitted"
    )
    public = to_latest_public_event(event, "melding-om-tiltak", "0301", CODEC.registry)
    assert public.ce_type == "no.saksflyt.application.submitted.v5"
    assert public.record["decision_due"] == date(2026, 3, 23)  # three weeks, a Monday
    assert public.record["preliminary_reply_due"] == date(2026, 4, 7)  # Easter in between
    assert public.record["deemed_granted_on"] == date(2026, 3, 24)  # pbl § 21-7 tredje ledd
    assert "applicant_ref" in public.record  # None: no pseudonym key in a pure aggregate


@pytest.mark.parametrize("name", sorted(COMMAND_TYPES))
@settings(max_examples=20)
@given(data=st.data())
def test_commands_round_trip_through_the_wire(name: str, data: st.DataObject) -> None:
    record = data.draw(records(REGISTRY.latest(name).raw))
    if "form_json" in record:
        record["form_json"] = json.dumps({"adresse": "Storgata 1"})
    words = {"outcome": "granted", "result": "upheld", "ground": "late", "by": "appeal-body"}
    record.update({k: v for k, v in words.items() if k in record})
    command = command_from_record(name, CODEC.decode(CODEC.encode(name, record)).record, T0)
    assert isinstance(command, COMMAND_TYPES[name])
    again_name, again = command_to_record(command, record["issued_by"])
    assert again_name == name
    assert command_from_record(name, CODEC.decode(CODEC.encode(name, again)).record, T0) == command
    assert command.received_at == T0, "received_at is ours to stamp, never the sender's"


@pytest.mark.parametrize(
    ("record_update", "reason"),
    [
        ({"form_json": "{not json"}, "not JSON"),
        ({"form_json": "[1]"}, "JSON object"),
        ({"outcome": "maybe"}, "outcome must be one of"),
    ],
)
@settings(max_examples=10)
@given(data=st.data())
def test_commands_that_decode_but_make_no_sense_are_invalid(
    record_update: dict[str, str], reason: str, data: st.DataObject
) -> None:
    name = "Decide" if "outcome" in record_update else "SaveDraft"
    record = {**data.draw(records(REGISTRY.latest(name).raw)), **record_update}
    with pytest.raises(InvalidCommand, match=reason):
        command_from_record(name, record, T0)


def test_the_apache_reference_library_reads_our_bytes() -> None:
    for domain_event in decided("melding-om-tiltak", T0).collect_events():
        public = to_latest_public_event(domain_event, "melding-om-tiltak", "0301", CODEC.registry)
        data = CODEC.encode(public.name, public.record)
        raw = REGISTRY.latest(public.name).raw
        schema = avro.schema.parse(json.dumps(raw))
        # The spec (and Java) write a primitive with a logical type as plain "string" in the
        # parsing canonical form; the Python reference keeps {"type": "string"}. So the reference
        # fingerprints the spec's canonical form, which it parses back unchanged.
        canonical = avro.schema.parse(to_parsing_canonical_form(raw))
        assert canonical.canonical_form == to_parsing_canonical_form(raw)
        assert data[:2] == b"\xc3\x01"
        assert data[2:HEADER_SIZE] == canonical.fingerprint("CRC-64-AVRO")
        datum = avro.io.DatumReader(schema).read(
            avro.io.BinaryDecoder(io.BytesIO(data[HEADER_SIZE:]))
        )
        assert str(datum["case_id"]) == str(public.case_id)
        assert datum["case_version"] == public.record["case_version"]


@given(data=st.data())
def test_v1_data_reads_as_the_newest_with_the_defaults(data: st.DataObject) -> None:
    record = data.draw(records(REGISTRY.version("ApplicationSubmitted", 1).raw))
    decoded = CODEC.decode(CODEC.encode("ApplicationSubmitted", record, version=1))
    assert decoded.writer_version == 1
    added = ("decision_due", "applicant_ref", "late", "preliminary_reply_due", "deemed_granted_on")
    assert all(decoded.record[name] is None for name in added)
    assert {k: v for k, v in decoded.record.items() if k not in added} == record


TEXT_IDS = AvroCodec(ids_as_text=True)


def _ids_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _ids_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ids_as_text(item) for item in value]
    return str(value) if isinstance(value, UUID) else value


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.path.name)
@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_codec_reading_ids_as_text_reads_the_same_record(
    schema: Any, data: st.DataObject
) -> None:
    """The read models' codec: every uuid field as its text, everything else as the default
    codec reads it, older versions resolved to the newest alike."""
    message = CODEC.encode(schema.name, data.draw(records(schema.raw)), schema.version)
    as_objects, as_text = CODEC.decode(message), TEXT_IDS.decode(message)
    assert (as_text.name, as_text.writer_version) == (as_objects.name, as_objects.writer_version)
    assert as_text.record == _ids_as_text(as_objects.record)


def test_ids_read_as_text_are_text_and_those_of_the_default_codec_objects() -> None:
    message = _valid_message()
    assert isinstance(CODEC.decode(message).record["case_id"], UUID)
    text = TEXT_IDS.decode(message).record
    assert isinstance(text["case_id"], str) and isinstance(text["event_id"], str)
    assert UUID(text["case_id"]) == CODEC.decode(message).record["case_id"]
    assert isinstance(text["occurred_at"], datetime)  # other logical types as before


def test_every_schema_is_parsed_once_not_again_for_each_message() -> None:
    """fastavro takes a schema it marked parsed as it is; one without the mark it parses again on
    every write and every read (that was half of what encoding or decoding an event cost)."""
    for schema in ALL_SCHEMAS:
        assert parse_schema(schema.parsed) is schema.parsed
        read_with = TEXT_IDS._parsed(schema)  # the read models' codec: its own rewrite of it
        assert parse_schema(read_with) is read_with


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("not-a-uuid", None),
        ("", None),
        ("5A6F44AB-1592-43AB-8EE3-BBA5F16E3EF8", "5a6f44ab-1592-43ab-8ee3-bba5f16e3ef8"),
        ("{5a6f44ab-1592-43ab-8ee3-bba5f16e3ef8}", "5a6f44ab-1592-43ab-8ee3-bba5f16e3ef8"),
    ],
    ids=["not-a-uuid", "empty", "upper-case", "braces"],
)
def test_ids_read_as_text_are_checked_and_canonical_as_uuids_are(
    written: str, read: str | None
) -> None:
    """What is not a UUID is undecodable for both codecs (a poison message, not a row); a UUID
    written another way reads as the canonical text its ``UUID`` prints."""
    valid = CODEC.decode(_valid_message())
    message = CODEC.encode(valid.name, {**valid.record, "case_id": written})
    if read is None:
        for codec in (CODEC, TEXT_IDS):
            with pytest.raises(UndecodableMessage, match="corrupt body"):
                codec.decode(message)
    else:
        assert str(CODEC.decode(message).record["case_id"]) == read
        assert TEXT_IDS.decode(message).record["case_id"] == read


def _valid_message() -> bytes:
    last = decided("avfallsbeholder", T0).collect_events()[-1]
    public = to_latest_public_event(last, "avfallsbeholder", "0301", CODEC.registry)
    return CODEC.encode(public.name, public.record)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b"", "shorter than the 10-byte header"),
        (lambda b: b[:7], "shorter than the 10-byte header"),
        (lambda b: b"\x00\x01" + b[2:], "wrong magic"),
        (lambda b: b[:2] + b"\xff" * 8 + b[10:], "unknown schema fingerprint"),
        (lambda b: b[: len(b) - 5], "corrupt body"),
        (lambda b: b + b"\x00", "trailing bytes"),
        (lambda b: b[:HEADER_SIZE] + b"\xff" * 12, "corrupt body"),
    ],
    ids=["empty", "short", "magic", "fingerprint", "truncated", "trailing", "garbage-body"],
)
def test_corrupt_input_is_undecodable_with_a_reason(mangle: Any, reason: str) -> None:
    with pytest.raises(UndecodableMessage, match=reason) as refused:
        CODEC.decode(mangle(_valid_message()))
    assert refused.value.reason


@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    with pytest.raises(UndecodableMessage):
        CODEC.decode(data)


@given(st.binary(max_size=100), st.integers(0, 2**32))
def test_random_bodies_behind_a_valid_header_decode_or_fail_cleanly(body: bytes, seed: int) -> None:
    schema = random.Random(seed).choice(ALL_SCHEMAS)
    try:
        CODEC.decode(b"\xc3\x01" + schema.fingerprint + body)
    except UndecodableMessage as refused:
        assert refused.reason


def test_every_prefix_of_a_message_is_undecodable() -> None:
    data = _valid_message()
    for end in range(len(data)):
        with pytest.raises(UndecodableMessage):
            CODEC.decode(data[:end])


def test_kafka_layout_carries_cloudevents_headers() -> None:
    domain_event = decided("melding-om-tiltak", T0).collect_events()[-1]
    public = to_latest_public_event(domain_event, "melding-om-tiltak", "0301", CODEC.registry)
    message = to_kafka_record(public, CODEC)
    assert message.key == str(public.case_id).encode()
    assert message.header("ce_specversion") == "1.0"
    assert message.header("ce_type") == "no.saksflyt.application.decision-made.v2"
    assert message.header("ce_source") == "/kommune/0301/melding-om-tiltak"
    assert message.header("ce_subject") == str(public.case_id)
    assert message.header("ce_id") == str(public.event_id)
    assert message.header("ce_time") == public.record["occurred_at"].isoformat()
    assert message.header("content-type") == "application/avro"


def test_command_layout_is_keyed_by_case() -> None:
    command = cmd.Withdraw(
        command_id=uuid4(), case_id=uuid4(), issued_at=T0, received_at=T0, reason="flytter"
    )
    name, record = command_to_record(command, "selvbetjening")
    message = command_record(name, record, CODEC)
    assert message.key == str(command.case_id).encode()
    assert message.header("ce_type") == "no.saksflyt.command.Withdraw.v1"
    _names_its_schema(message.header("ce_dataschema"), message.value)
    assert message.header("ce_id") == str(command.command_id)


def test_the_domain_seals_exactly_what_the_schemas_mark_personal() -> None:
    for suffix, (name, field_map, _) in EVENT_MAP.items():
        marked = {f["name"] for f in REGISTRY.latest(name).raw["fields"] if "pii" in f}
        sealed = set(PERSONAL.get(f"saksflyt.application.{suffix}", {}))
        assert {field_map[field] for field in marked} == sealed, name


def test_events_stored_before_their_new_fields_still_read_and_publish() -> None:
    """An appeal and a submission recorded by the earlier versions (no sent date, party or
    one-year flag; no clocks): the aggregate replays them with the defaults, and the public
    record in the newest schema says what the contract promises for such events."""
    case = decided("ledsagerbevis", T0)
    case.receive_appeal(date(2026, 3, 20), T0 + 18 * DAY, service("ledsagerbevis"))
    events = case.collect_events()
    for event in events:
        for added in ("sent_on", "within_a_year", "party", "decision_due"):
            event.__dict__.pop(added, None)  # as stored then
        for added in ("preliminary_reply_due", "deemed_granted_on"):
            event.__dict__.pop(added, None)
    replayed = project_aggregate(None, events)
    assert replayed is not None and replayed.status is Status.APPEALED
    assert replayed.appeal == {**(case.appeal or {})}  # the defaults are what was meant
    assert replayed.submitted_decision_due == case.submitted_decision_due  # upcast in the domain
    appeal = to_latest_public_event(events[-1], "ledsagerbevis", "0301", CODEC.registry)
    assert (appeal.record["within_a_year"], appeal.record["party"]) == (True, True)
    assert appeal.record["sent_on"] is None
    CODEC.decode(CODEC.encode(appeal.name, appeal.record))  # valid for the newest schema
    submitted = next(e for e in events if type(e).__name__ == "Submitted")
    public = to_latest_public_event(submitted, "ledsagerbevis", "0301", CODEC.registry)
    assert public.record["decision_due"] == case.submitted_decision_due
    assert public.record["preliminary_reply_due"] is None
