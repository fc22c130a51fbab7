"""Form models: the central data elements of each service's self-service form.

A draft (mellomlagring) may leave fields out, but what it has must be valid; a submission needs the
whole form. Fields holding health or social data carry ``sensitivity`` in their JSON schema so that
later steps (encryption, analyst projections) can find them.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.errors import IncompleteForm, UnknownService
from domain.identifiers import FodselsnummerField, OrganisasjonsnummerField
from domain.places import MatrikkelnummerField

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=3, max_length=300)]
Phone = Annotated[str, Field(pattern=r"^(\+47 ?)?[2-9][0-9]{7}$", examples=["91234567"])]


def sensitive(kind: str, **kwargs: Any) -> Any:
    """A field holding personal data of the given kind ("health", "social", "personal")."""
    return Field(json_schema_extra={"sensitivity": kind}, **kwargs)


class FormModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(FormModel):
    fodselsnummer: FodselsnummerField = sensitive("personal")
    navn: Name = sensitive("personal")
    epost: Email | None = sensitive("personal", default=None)  # return channel for the receipt


class LedsagerbevisForm(FormModel):
    soker: Person
    funksjonsnedsettelse: Text = sensitive("health")
    behov_for_ledsager: Text = sensitive("health")


class PleieOmsorgForm(FormModel):
    soker: Person
    tjeneste: Literal[
        "hjemmesykepleie",
        "praktisk-bistand",
        "omsorgsbolig",
        "sykehjem",
        "trygghetsalarm",
        "kontakt-meg",
    ]
    # Optional: a simple "contact me" request carries no health data at all.
    helseopplysninger: Text | None = sensitive("health", default=None)
    parorende_navn: Name | None = sensitive("personal", default=None)


class ParkeringForm(FormModel):
    soker: Person
    funksjonsbeskrivelse: Text = sensitive("health")
    gangavstand_meter: int = sensitive("health", ge=0, le=10_000)
    gjelder: Literal["forer", "passasjer"]
    # a driver's permit runs no longer than the driving licence
    forerkort_gyldig_til: date | None = None

    @model_validator(mode="after")
    def _licence_for_drivers(self) -> ParkeringForm:
        if self.gjelder == "passasjer" and self.forerkort_gyldig_til is not None:
            raise ValueError("forerkort_gyldig_til is for a driver's permit only")
        return self


class SosialhjelpForm(FormModel):
    soker: Person
    husstand_antall: int = sensitive("social", ge=1, le=30)
    barn_antall: int = sensitive("social", ge=0, le=30)
    manedlig_inntekt_kr: int = sensitive("social", ge=0)
    boutgifter_kr: int = sensitive("social", ge=0)
    soknad_gjelder: Text = sensitive("social")
    nodhjelp: bool = False  # emergency help: assessed the same day (sosialtjenesteloven § 18)

    @model_validator(mode="after")
    def _children_fit_household(self) -> SosialhjelpForm:
        if self.barn_antall >= self.husstand_antall:
            raise ValueError("barn_antall must be less than husstand_antall")
        return self


AlcoholGroup = Literal[1, 2, 3]


class SkjenkebevillingForm(FormModel):
    organisasjonsnummer: OrganisasjonsnummerField
    skjenkested_navn: Name
    skjenkested_adresse: Address
    alkoholgrupper: list[AlcoholGroup] = Field(min_length=1, max_length=3)
    skjenketid_fra: time
    skjenketid_til: time
    styrer: Person
    stedfortreder: Person
    # alkoholloven § 1-6: alminnelig (at most four years), for en enkelt anledning, or
    # ambulerende (§ 4-5, a closed party); the period asked for (from the decision if not given)
    bevillingstype: Literal["alminnelig", "enkelt-anledning", "ambulerende"] = "alminnelig"
    gyldig_fra: date | None = None
    gyldig_til: date | None = None

    @model_validator(mode="after")
    def _distinct(self) -> SkjenkebevillingForm:
        if len(set(self.alkoholgrupper)) != len(self.alkoholgrupper):
            raise ValueError("alkoholgrupper must not repeat a group")
        # alkoholloven § 1-7 c: styrer and stedfortreder are two different people.
        if self.styrer.fodselsnummer == self.stedfortreder.fodselsnummer:
            raise ValueError("styrer and stedfortreder must be different people")
        if self.gyldig_fra and self.gyldig_til and self.gyldig_til < self.gyldig_fra:
            raise ValueError("gyldig_til must not be before gyldig_fra")
        return self


class HoringssvarForm(FormModel):
    sak_referanse: Annotated[str, Field(min_length=1, max_length=100)]
    horingsfrist: date | None = None  # the consultation's closing date, as published
    avsender_navn: Name
    epost: Email | None = None
    organisasjonsnummer: OrganisasjonsnummerField | None = None
    merknad: Text


class AvfallsbeholderForm(FormModel):
    soker: Person
    adresse: Address
    matrikkelnummer: MatrikkelnummerField | None = None
    endring: Literal["ny", "bytte", "avbestille"]
    fraksjon: Literal["restavfall", "papir", "matavfall", "plast", "glass-metall"]
    storrelse_liter: Literal[80, 140, 240, 360, 660]


class GravemeldingForm(FormModel):
    sted: Address
    matrikkelnummer: MatrikkelnummerField | None = None
    periode_fra: date
    periode_til: date
    entreprenor_organisasjonsnummer: OrganisasjonsnummerField
    ansvarlig_navn: Name
    epost: Email

    @model_validator(mode="after")
    def _period(self) -> GravemeldingForm:
        if self.periode_til < self.periode_fra:
            raise ValueError("periode_til must not be before periode_fra")
        return self


class KartforretningForm(FormModel):
    soker: Person
    matrikkelnummer: MatrikkelnummerField
    formal: Literal["fradeling", "grensejustering", "arealoverforing", "oppmaling"]
    areal_m2: float = Field(gt=0, le=1_000_000)


class MeldingOmTiltakForm(FormModel):
    tiltakshaver: Person
    adresse: Address
    matrikkelnummer: MatrikkelnummerField
    tiltakstype: Literal["tilbygg", "garasje", "bod", "terrasse", "fasadeendring", "riving"]
    bruksareal_m2: float = Field(gt=0, le=1000)
    # pbl § 21-3: the application goes in with the neighbours' objections and these comments
    kommentar_til_merknader: Text | None = sensitive("personal", default=None)
    # pbl § 21-7: a dispensation, or another authority's consent, makes it a 12-week case
    krever_dispensasjon: bool = False
    krever_samtykke_annen_myndighet: bool = False


FORMS: dict[str, type[FormModel]] = {
    "ledsagerbevis": LedsagerbevisForm,
    "pleie-omsorg": PleieOmsorgForm,
    "parkering-forflytningshemmet": ParkeringForm,
    "sosialhjelp": SosialhjelpForm,
    "skjenkebevilling": SkjenkebevillingForm,
    "horingssvar": HoringssvarForm,
    "avfallsbeholder": AvfallsbeholderForm,
    "gravemelding": GravemeldingForm,
    "kartforretning": KartforretningForm,
    "melding-om-tiltak": MeldingOmTiltakForm,
}


def form_model(service: str) -> type[FormModel]:
    try:
        return FORMS[service]
    except KeyError:
        raise UnknownService(f"no form for service {service!r}") from None


def _problems(error: ValidationError, *, ignore_missing: bool) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}"
        for e in error.errors()
        if not (ignore_missing and e["type"] == "missing")
    ]


def deep_merge(saved: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A partial save laid over what was saved: nested sections merge field by field, so
    saving ``{"soker": {"epost": …}}`` keeps the name already saved there."""
    merged = dict(saved)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = (
            deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


class ContactForm(FormModel):
    """«Kontakt meg»: who to call back and how — no identity number, no health or social data
    (a caseworker takes it up and starts the application with the person)."""

    navn: Name = sensitive("personal")
    telefon: Phone | None = sensitive("personal", default=None)
    epost: Email | None = sensitive("personal", default=None)
    beste_tid: Literal["formiddag", "ettermiddag", "hele-dagen"] | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactForm:
        if not (self.telefon or self.epost):
            raise ValueError("give telefon or epost: how shall we reach you?")
        if any(ch.isdigit() for ch in self.navn):
            raise ValueError("navn holds a name, not a number")  # no identity numbers here
        return self


def check_contact(service: str, data: dict[str, Any]) -> dict[str, Any]:
    """A «kontakt meg» request, validated and normalised; refuses anything else in it."""
    try:
        return ContactForm.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        raise IncompleteForm(service, _problems(error, ignore_missing=False)) from None


def check_draft(service: str, data: dict[str, Any]) -> None:
    """A draft may be partial, but every field it has must be a field of the form and valid."""
    try:
        form_model(service).model_validate(data)
    except ValidationError as error:
        problems = _problems(error, ignore_missing=True)
        if problems:
            raise IncompleteForm(service, problems) from None


def complete_form(service: str, data: dict[str, Any]) -> dict[str, Any]:
    """The whole form, validated and normalised to JSON-ready values; refuses anything less."""
    try:
        return form_model(service).model_validate(data).model_dump(mode="json")
    except ValidationError as error:
        raise IncompleteForm(service, _problems(error, ignore_missing=False)) from None


def needs_longer_clock(data: dict[str, Any]) -> bool:
    """pbl § 21-7: the three weeks hold only without dispensation or another authority's say."""
    return bool(data.get("krever_dispensasjon") or data.get("krever_samtykke_annen_myndighet"))


def is_urgent(data: dict[str, Any]) -> bool:
    """Emergency social assistance (nødhjelp) runs on a same-day clock."""
    return bool(data.get("nodhjelp"))


def contact_email(data: dict[str, Any]) -> str | None:
    """Where the receipt goes: the applicant's e-mail, wherever the form keeps it."""
    for holder in ("soker", "tiltakshaver", "styrer"):
        person = data.get(holder)
        if isinstance(person, dict) and person.get("epost"):
            return str(person["epost"])
    email = data.get("epost")
    return str(email) if email else None


def applicant_name(data: dict[str, Any]) -> str | None:
    """Who applied, by name, wherever the form keeps it (for the archive's records)."""
    for holder in ("soker", "tiltakshaver", "styrer"):
        person = data.get(holder)
        if isinstance(person, dict) and person.get("navn"):
            return str(person["navn"])
    for name in ("avsender_navn", "ansvarlig_navn", "skjenkested_navn"):
        if data.get(name):
            return str(data[name])
    return None


APPLICANT_FIELDS = (
    ("soker", "fodselsnummer"),
    ("tiltakshaver", "fodselsnummer"),
    ("organisasjonsnummer",),
    ("entreprenor_organisasjonsnummer",),
)


def applicant_identifier(form: dict[str, Any]) -> str | None:
    """The applicant's identity or organisation number, where the form has one."""
    for path in APPLICANT_FIELDS:
        value: Any = form
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None
