"""Synthetic applicants and complete forms for every service: for the demo, tests and benchmarks.

Nobody here is a real person: names are random pairs, identity numbers are made up by code with
valid control digits, e-mail addresses use the reserved ``example.org`` domain.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from PIL import Image

from domain.identifiers import synthetic_fodselsnummer, synthetic_organisasjonsnummer

FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Per", "Sigrid", "Nils", "Astrid", "Lars", "Maja", "Emil")
LAST_NAMES = ("Nordmann", "Fjellheim", "Strand", "Berg", "Lunde", "Haugen", "Moen", "Dahl")
STREETS = ("Storgata", "Kirkeveien", "Skolegata", "Fjordveien", "Bakkeli", "Granveien")


def person(rng: random.Random) -> dict[str, Any]:
    birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "fodselsnummer": synthetic_fodselsnummer(rng, birth),
        "navn": f"{first} {last}",
        "epost": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.org",
    }


def address(rng: random.Random) -> str:
    return f"{rng.choice(STREETS)} {rng.randint(1, 120)}"


def matrikkel(rng: random.Random, kommunenummer: str) -> str:
    return f"{kommunenummer}-{rng.randint(1, 400)}/{rng.randint(1, 300)}"


def _ledsagerbevis(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "soker": person(rng),
        "funksjonsnedsettelse": "Nedsatt syn",
        "behov_for_ledsager": "Trenger følge på reiser og arrangementer",
    }


def _pleie_omsorg(rng: random.Random, knr: str) -> dict[str, Any]:
    tjeneste = rng.choice(["hjemmesykepleie", "praktisk-bistand", "trygghetsalarm", "kontakt-meg"])
    form: dict[str, Any] = {"soker": person(rng), "tjeneste": tjeneste}
    if tjeneste != "kontakt-meg":
        form["helseopplysninger"] = "Trenger hjelp med medisiner morgen og kveld"
    return form


def _parkering(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "soker": person(rng),
        "funksjonsbeskrivelse": "Kan ikke gå lengre strekninger",
        "gangavstand_meter": rng.randint(20, 300),
        "gjelder": rng.choice(["forer", "passasjer"]),
    }


def _sosialhjelp(rng: random.Random, knr: str) -> dict[str, Any]:
    household = rng.randint(1, 5)
    return {
        "soker": person(rng),
        "husstand_antall": household,
        "barn_antall": rng.randint(0, household - 1),
        "manedlig_inntekt_kr": rng.randint(0, 15000),
        "boutgifter_kr": rng.randint(4000, 14000),
        "soknad_gjelder": "Livsopphold",
        "nodhjelp": rng.random() < 0.1,
    }


def _skjenkebevilling(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "organisasjonsnummer": synthetic_organisasjonsnummer(rng),
        "skjenkested_navn": f"Kafé {rng.choice(LAST_NAMES)}",
        "skjenkested_adresse": address(rng),
        "alkoholgrupper": (groups := sorted(rng.sample([1, 2, 3], rng.randint(1, 3)))),
        # within alkoholloven § 4-4 første ledd: group 3 from 13:00 to midnight
        "skjenketid_fra": "13:00:00" if 3 in groups else "12:00:00",
        "skjenketid_til": "00:00:00" if 3 in groups else "01:00:00",
        "styrer": person(rng),
        "stedfortreder": person(rng),
    }


def _horingssvar(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "sak_referanse": f"{knr}-2026/{rng.randint(100, 999)}",
        "avsender_navn": "Velforeningen",
        "epost": "post@example.org",
        "merknad": "Vi ber om at gangveien bevares.",
    }


def _avfallsbeholder(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "soker": person(rng),
        "adresse": address(rng),
        "matrikkelnummer": matrikkel(rng, knr),
        "endring": rng.choice(["ny", "bytte", "avbestille"]),
        "fraksjon": rng.choice(["restavfall", "papir", "matavfall", "plast"]),
        "storrelse_liter": rng.choice([140, 240, 360]),
    }


def _gravemelding(rng: random.Random, knr: str) -> dict[str, Any]:
    start = date(2027, 6, 1) + timedelta(days=rng.randint(0, 60))  # the demo sets its own
    return {
        "sted": address(rng),
        "periode_fra": start.isoformat(),
        "periode_til": (start + timedelta(days=rng.randint(1, 30))).isoformat(),
        "entreprenor_organisasjonsnummer": synthetic_organisasjonsnummer(rng),
        "ansvarlig_navn": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "epost": "graving@example.org",
    }


def _kartforretning(rng: random.Random, knr: str) -> dict[str, Any]:
    return {
        "soker": person(rng),
        "matrikkelnummer": matrikkel(rng, knr),
        "formal": rng.choice(["fradeling", "grensejustering", "oppmaling"]),
        "areal_m2": float(rng.randint(300, 3000)),
    }


def _melding_om_tiltak(rng: random.Random, knr: str) -> dict[str, Any]:
    kind = rng.choice(["tilbygg", "garasje", "bod", "terrasse"])
    largest = 50 if kind == "tilbygg" else 70  # SAK10 § 3-1: what this track covers
    return {
        "tiltakshaver": person(rng),
        "adresse": address(rng),
        "matrikkelnummer": matrikkel(rng, knr),
        "tiltakstype": kind,
        "bruksareal_m2": float(rng.randint(8, largest)),
    }


FORM_FACTORIES: dict[str, Callable[[random.Random, str], dict[str, Any]]] = {
    "ledsagerbevis": _ledsagerbevis,
    "pleie-omsorg": _pleie_omsorg,
    "parkering-forflytningshemmet": _parkering,
    "sosialhjelp": _sosialhjelp,
    "skjenkebevilling": _skjenkebevilling,
    "horingssvar": _horingssvar,
    "avfallsbeholder": _avfallsbeholder,
    "gravemelding": _gravemelding,
    "kartforretning": _kartforretning,
    "melding-om-tiltak": _melding_om_tiltak,
}


def complete_form(rng: random.Random, service: str, kommunenummer: str) -> dict[str, Any]:
    """A complete, valid form for the service with made-up people."""
    return FORM_FACTORIES[service](rng, kommunenummer)


def pdf(title: str) -> bytes:
    """A small, valid one-page PDF that says ``title`` (an attachment a form portal might
    send: a scan would be larger, not different in kind). ASCII only."""
    text = title.encode("ascii", "replace").replace(b"\\", b"\\\\")
    text = text.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 770 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png(seed: int = 0) -> bytes:
    """A small, real PNG (an uploaded photo is decoded whole); ``seed`` makes each different."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 80, 160)).save(out, "PNG")
    return out.getvalue()
