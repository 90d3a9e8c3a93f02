"""The jwt extra asks for a PyJWT that compares a token's issuer whole and takes a list of issuers.

Why: ``pyjwt[crypto]>=2.8`` let an install resolve to PyJWT 2.10.0, whose issuer check read a
configured string as a sequence: a token with ``iss`` "https://login" passed for
CAPSIGHT_JWT_ISSUER "https://login.example/" (GHSA-75c5-xw7c-p5pm, fixed in 2.10.1); and PyJWT
before 2.9 refuses every token when handed several issuers, which CAPSIGHT_JWT_ISSUER may list.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_jwt_extra_excludes_pyjwt_releases_with_a_loose_issuer_check() -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    (requirement,) = [r for r in map(Requirement, extras["jwt"]) if r.name.lower() == "pyjwt"]
    for bad in ("2.8.0", "2.9.0", "2.10.0"):
        assert not requirement.specifier.contains(bad), f"{requirement} allows PyJWT {bad}"
    assert requirement.specifier.contains("2.10.1") and requirement.specifier.contains("2.15.1")
