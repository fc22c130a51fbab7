"""Who may do what: roles, scope and claims (pure rules, no I/O)."""

from __future__ import annotations

import pytest

from saksflyt.access.policy import GRANTS, BadClaims, Permission, Principal, Role

OSLO = Principal("kari", frozenset({Role.CASEWORKER}), frozenset({"0301"}))


@pytest.mark.parametrize(
    ("who", "service", "kommune", "covered"),
    [
        (OSLO, "ledsagerbevis", "0301", True),
        (OSLO, "ledsagerbevis", "4601", False),
        (Principal("k", frozenset(), frozenset({"0301"}), frozenset({"sosialhjelp"})),
         "ledsagerbevis", "0301", False),
    ],
)  # fmt: skip
def test_scope_is_municipality_and_service(
    who: Principal, service: str, kommune: str, covered: bool
) -> None:
    assert who.covers(service, kommune) is covered


def test_only_caseworkers_see_personal_data_and_analysts_only_read_models() -> None:
    holders = {role for role, grants in GRANTS.items() if Permission.READ_PERSONAL in grants}
    assert holders == {Role.CASEWORKER}
    assert GRANTS[Role.ANALYST] == {Permission.READ_MODELS}


def test_roles_come_from_roles_or_saksflyt_scopes() -> None:
    who = Principal.from_claims(
        {
            "sub": "x",
            "roles": ["analyst", "unknown"],
            "scope": "openid saksflyt:service",
            "kommuner": ["0301"],
        }
    )
    assert who.roles == {Role.ANALYST, Role.SERVICE} and who.services is None


@pytest.mark.parametrize(
    "claims",
    [{"kommuner": ["0301"]}, {"sub": "x", "kommuner": ["301"]}, {"sub": "x", "kommuner": "0301"},
     {"sub": "x", "roles": "caseworker"}, {"sub": "x", "scope": ["saksflyt:service"]},
     {"sub": "x", "name": "Kari\nNordmann"}, {"sub": "x", "name": 7}, {"sub": "x", "name": ""}],
)  # fmt: skip
def test_claims_of_the_wrong_shape_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(BadClaims):
        Principal.from_claims(claims)


def test_the_name_claim_is_who_decided() -> None:
    """OpenID Connect's name claim (Entra ID, ID-porten) is what a vedtak records as its case
    officer and the archive as saksansvarlig; a token may mint it for development."""
    who = Principal.from_claims({"sub": "k1", "name": "Kari Saksbehandler", "kommuner": ["0301"]})
    assert who.name == "Kari Saksbehandler" and who.claims()["name"] == "Kari Saksbehandler"
