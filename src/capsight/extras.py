"""Which optional extra a configured setting needs, checked before the server starts.

Why: ``make serve`` installs the core only (no PyJWT, redis, psycopg or boto3); the container image
adds the ``postgres``, ``redis``, ``s3`` and ``jwt`` extras. On the core install a setting that needs
one of them crashed start-up with a ``ModuleNotFoundError`` traceback (``CAPSIGHT_JWT_SECRET``,
``CAPSIGHT_REDIS_URL``) or logged one on every retry of the database (``CAPSIGHT_DATABASE_URL``). One
line naming the setting and the ``pip install`` that fixes it is something an operator can act on.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from capsight.errors import BadRequest

if TYPE_CHECKING:
    from capsight.settings import Settings


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def _needs(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(setting, module, package, extra) for every configured feature that imports an optional module."""
    needs: list[tuple[str, str, str, str]] = []
    if settings.jwt_secret:
        needs.append(("CAPSIGHT_JWT_SECRET", "jwt", "PyJWT", "jwt"))
    if settings.jwt_public_key:
        needs.append(("CAPSIGHT_JWT_PUBLIC_KEY", "jwt", "PyJWT", "jwt"))
    if settings.redis_url:
        needs.append(("CAPSIGHT_REDIS_URL", "redis", "redis", "redis"))
    if (settings.database_url or "").lower().startswith(("postgresql", "postgres:")):
        needs.append(("CAPSIGHT_DATABASE_URL", "psycopg", "psycopg", "postgres"))
    if (settings.storage_url or "").startswith("s3://"):
        needs.append(("CAPSIGHT_STORAGE_URL", "boto3", "boto3", "s3"))
    if any(str(entry).startswith("s3://") for entry in settings.job_url_allowlist):
        needs.append(("CAPSIGHT_JOB_URL_ALLOWLIST", "boto3", "boto3", "s3"))
    return needs


def missing_extras(settings: Settings) -> list[str]:
    """One phrase per configured setting whose optional package is not installed (empty: all there)."""
    return [
        f"{setting} needs {package} (pip install 'capsight[{extra}]')"
        for setting, module, package, extra in _needs(settings)
        if not _installed(module)
    ]


def require_extras(settings: Settings) -> None:
    """Refuse to start, in one line, when a setting needs a package this install lacks."""
    missing = missing_extras(settings)
    if missing:
        raise BadRequest(
            "this install lacks packages the settings need: "
            + "; ".join(missing)
            + " (make serve installs only the core; the container image has these extras)"
        )
