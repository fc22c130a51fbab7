"""Letters: every template renders for every service, dates read as Norwegian letters write them,
text the font lacks falls back, lines never run past the margin, the PDF's cross-reference table
points at its objects, and the same letter gives the same bytes. (Preflight, an independent
PDF/A validator, checks the files in tests/integration/test_letters_pdfa.py.)"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.services import default_services
from saksflyt.letters import icc
from saksflyt.letters.pdfa import COVERED, WIDTH, face, pdfa, printable, wrap
from saksflyt.letters.render import Letter, dato, render, verdi

AT = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
KINDS = ("soknad", "kvittering", "mangelbrev", "forelopig-svar", "nabovarsel", "nabosvar", "vedtak")
KINDS += ("avvisning", "klagevedtak")


def context(kind: str, service_code: str) -> dict[str, object]:
    service = default_services()[service_code]
    base: dict[str, object] = {"service": service, "reference": "2026/17"}
    bodies = {
        "deciding_body": service.deciding_body,
        "appeal_body": service.appeal_body,
        "appeal_body_law": service.appeal_body_law,
        "appeal_weeks": service.appeal_days // 7,
    }
    return (
        base
        | {
            "soknad": {"received": AT, "form": {"navn": "Kari", "barn": [1, 2]}, "uploads": []},
            "kvittering": {"received": AT, "sent": AT, "expected_by": date(2026, 3, 31)},
            "mangelbrev": {"kinds": ["kart"], "reason": "", "respond_by": date(2026, 3, 17)},
            "forelopig-svar": {"reason": "mange saker", "expected_by": date(2026, 4, 30)},
            "nabovarsel": {
                "sent": AT,
                "neighbours": ["a", "b"],
                "comment_deadline": date(2026, 3, 17),
                "tiltak": "garasje",
                "areal": 42.0,
                "eiendom": "gnr. 12, bnr. 34 i kommune 0301",
                "adresse": "Storgata 1, 0155 Oslo",
                "tiltakshaver": "Kari Nordmann",
                "svar_til": "kari@example.org",
            },
            "nabosvar": {"received": AT, "neighbour": "a", "consent": False, "objection": True},
            "vedtak": {
                "decided": AT,
                "outcome": "granted",
                "legal_basis": "fvl § 11 a",
                "case_officer": "kari",
                "appeal_deadline": date(2026, 3, 24),
                "appeal_law": "forvaltningsloven § 29",
                "facts": None,
                "considerations": None,
                "valid_until": None,
            }
            | bodies,
            "avvisning": {
                "dismissed": AT,
                "by": "deciding-body",
                "ground_text": "klagen kom for sent",
                "ground_text_nn": "klaga kom for seint",
                "ground_law": "forvaltningsloven § 31",
                "appeal_deadline": date(2026, 3, 24),
            }
            | bodies,
            "klagevedtak": {
                "decided": AT,
                "result": "reversed",
                "outcome": "granted",
                "legal_basis": "fvl § 34",
                "decision_due": None,
            }
            | bodies,
        }[kind]
    )


@pytest.mark.parametrize("service", sorted(default_services()))
@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_renders_for_every_service(kind: str, service: str) -> None:
    if kind in ("avvisning", "klagevedtak") and default_services()[service].appeal_body is None:
        return  # nothing is decided, so nothing is appealed (a høringssvar)
    letter = render(kind, service, AT.date(), context(kind, service))
    assert letter.title and letter.body.strip()
    assert "{{" not in letter.body and "{%" not in letter.body
    assert "2026/17" in letter.title + letter.body or kind in ("nabovarsel", "nabosvar")


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="is undefined"):
        render(
            "vedtak", "ledsagerbevis", AT.date(), {"service": default_services()["ledsagerbevis"]}
        )


def test_the_receipt_says_when_to_expect_an_answer_and_what_happens_next() -> None:
    letter = render(
        "kvittering", "ledsagerbevis", AT.date(), context("kvittering", "ledsagerbevis")
    )
    assert "31. mars 2026" in letter.body and "Hva skjer nå" in letter.body


def test_the_mangelbrev_says_what_is_missing_and_by_when() -> None:
    letter = render("mangelbrev", "gravemelding", AT.date(), context("mangelbrev", "gravemelding"))
    assert "- kart" in letter.body and "17. mars 2026" in letter.body


def test_the_preliminary_reply_gives_the_reason_and_when_to_expect_a_decision() -> None:
    reply = render(
        "forelopig-svar", "sosialhjelp", AT.date(), context("forelopig-svar", "sosialhjelp")
    )
    assert "mange saker" in reply.body and "30. april 2026" in reply.body and "§ 11 a" in reply.body


def test_the_decision_letter_gives_the_appeal_deadline() -> None:
    letter = render("vedtak", "ledsagerbevis", AT.date(), context("vedtak", "ledsagerbevis"))
    assert "klage" in letter.body.lower() and "24. mars 2026" in letter.body
    assert "3 uker fra den dagen du mottok det (forvaltningsloven § 29)" in letter.body


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        (date(2026, 1, 1), "1. januar 2026"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "1. januar 2027"),  # Oslo is ahead of UTC
    ],
)
def test_dates_are_written_as_norwegian_letters_write_them(moment: date, written: str) -> None:
    assert dato(moment) == written


def test_form_values_read_as_words() -> None:
    assert verdi(True) == "ja" and verdi([]) == "–" and verdi(["a", "b"]) == "a, b"


def test_letters_the_font_lacks_fall_back_to_their_base_letter() -> None:
    assert printable("Čáhcesuolu ŋ") == "Čáhcesuolu ŋ"  # Sami letters are in the font
    assert printable("Ǿ ℃ 😀 ſ") == "Ø °C ? s"


@given(st.text(alphabet=st.sampled_from(sorted(map(chr, COVERED))), max_size=400))
def test_no_line_runs_past_the_margin(text: str) -> None:
    regular = face("F1")
    for line in wrap(printable(text.replace("\n", " ")), regular, 11):
        assert regular.width(line, 11) <= WIDTH or len(line) == 1


def test_the_cross_reference_table_points_at_each_object_and_bytes_repeat() -> None:
    letter = Letter("vedtak", "Vedtak – prøve", "Linje\n" * 200, date(2026, 3, 3))  # pages
    content = pdfa(letter, "Oslo kommune", AT)
    assert content == pdfa(letter, "Oslo kommune", AT)
    start = int(content.rsplit(b"startxref\n", 1)[1].split()[0])
    table = content[start:].split(b"trailer")[0].splitlines()[2:]  # after "xref" and "0 N"
    assert table[0] == b"0000000000 65535 f"
    for number, entry in enumerate(table[1:], start=1):
        offset = int(entry.split()[0])
        assert content[offset:].startswith(b"%d 0 obj" % number)
    pages = re.search(rb"/Type /Pages /Kids \[[^]]*\] /Count (\d+)", content)
    assert pages and int(pages[1]) > 1


def test_the_colour_profile_is_icc_version_2_and_sized_right() -> None:
    profile = icc.srgb_v2()
    assert int.from_bytes(profile[:4], "big") == len(profile)
    assert profile[8] == 2 and profile[36:40] == b"acsp"


@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_has_a_nynorsk_twin(kind: str) -> None:
    nynorsk = render(kind, "gravemelding", AT.date(), context(kind, "gravemelding"), "nn")
    bokmal = render(kind, "gravemelding", AT.date(), context(kind, "gravemelding"))
    assert nynorsk.body != bokmal.body and "{{" not in nynorsk.body


def test_a_municipality_chooses_nynorsk_and_a_wrong_choice_stops_the_start() -> None:
    from domain.services import Catalogue

    catalogue = Catalogue.default({"4601": {"maalform": "nn"}})
    assert (catalogue.maalform("4601"), catalogue.maalform("0301")) == ("nn", "nb")
    with pytest.raises(ValueError, match="maalform"):
        Catalogue.default({"4601": {"maalform": "svensk"}})
    decision = render("vedtak", "sosialhjelp", AT.date(), context("vedtak", "sosialhjelp"), "nn")
    assert "Søknaden er innvilga." in decision.body and "Sakshandsamar" in decision.body


def test_the_vedtak_names_the_appeal_body_the_law_gives_the_service() -> None:
    """fvl § 27 third para.: the letter says where an appeal goes: Statsforvalteren for care
    services (pbrl § 7-2), the municipality's klagenemnd for a ledsagerbevis (fvl § 28)."""
    care = render("vedtak", "pleie-omsorg", AT.date(), context("vedtak", "pleie-omsorg"))
    assert "Statsforvalteren (pasient- og brukerrettighetsloven § 7-2)" in care.body
    companion = render("vedtak", "ledsagerbevis", AT.date(), context("vedtak", "ledsagerbevis"))
    assert "kommunal klagenemnd (forvaltningsloven § 28 annet ledd)" in companion.body
    assert "Statsforvalteren" not in companion.body


@pytest.mark.parametrize(
    ("result", "says"),
    [
        ("upheld", "stadfestet vedtaket"),
        ("reversed", "endret vedtaket: søknaden er innvilget"),
        ("repealed", "opphevet vedtaket"),
    ],
)
def test_the_appeal_letter_says_what_the_appeal_body_decided(result: str, says: str) -> None:
    letter = render(
        "klagevedtak",
        "sosialhjelp",
        AT.date(),
        context("klagevedtak", "sosialhjelp") | {"result": result},
    )
    assert says in letter.body and "Statsforvalteren" in letter.body
    assert ("kan ikke påklages" in letter.body) is (result != "repealed")


def test_a_dismissal_by_the_deciding_body_may_be_appealed_one_by_the_appeal_body_not() -> None:
    first = render("avvisning", "ledsagerbevis", AT.date(), context("avvisning", "ledsagerbevis"))
    assert "klage på avvisningen innen 3 uker" in first.body and "24. mars 2026" in first.body
    final = render(
        "avvisning",
        "ledsagerbevis",
        AT.date(),
        context("avvisning", "ledsagerbevis") | {"by": "appeal-body", "appeal_deadline": None},
    )
    assert "endelig og kan ikke påklages" in final.body
    assert "\n\nKommunal klagenemnd har avvist klagen" in final.body


def test_the_nabovarsel_says_what_where_who_and_where_comments_go() -> None:
    """pbl § 21-3 (compare blankett 5154): the neighbour learns what is planned, on which
    property, who the tiltakshaver is, and to send comments to the tiltakshaver by the date."""
    body = render(
        "nabovarsel", "melding-om-tiltak", AT.date(), context("nabovarsel", "melding-om-tiltak")
    ).body
    assert "garasje, 42 m² bruksareal" in body
    assert "gnr. 12, bnr. 34 i kommune 0301, Storgata 1, 0155 Oslo" in body
    assert "Tiltakshaver: Kari Nordmann" in body
    assert "til tiltakshaveren (kari@example.org) innen 17. mars 2026" in body


@pytest.mark.parametrize("maalform", ["nb", "nn"])
def test_a_refusal_gives_its_reasons_and_says_how_to_appeal(maalform: str) -> None:
    """fvl §§ 24-25: the rules, the facts and the main considerations; fvl § 27 and § 32: where,
    by when and how to appeal; §§ 18-19: the right to see the documents."""
    reasons = {
        "outcome": "refused",
        "facts": "Gangavstanden er oppgitt til 400 meter.",
        "considerations": "Retningslinjene krever store vansker med å gå.",
    }
    context_ = context("vedtak", "parkering-forflytningshemmet") | reasons
    letter = render("vedtak", "parkering-forflytningshemmet", AT.date(), context_, maalform)
    for said in (reasons["facts"], reasons["considerations"], "fvl § 11 a", "§ 32", "§§ 18"):
        assert said in letter.body, said
    assert ("Begrunnelse" if maalform == "nb" else "Grunngiving") in letter.body


def test_a_permit_for_a_time_says_until_when_and_how_to_renew() -> None:
    granted = context("vedtak", "parkering-forflytningshemmet") | {"valid_until": date(2031, 3, 6)}
    letter = render("vedtak", "parkering-forflytningshemmet", AT.date(), granted)
    assert "gjelder til og med 6. mars 2031" in letter.body and "ny søknad" in letter.body
    assert "forvaltningsloven § 24 annet ledd" in letter.body  # granted as asked: no reasons
