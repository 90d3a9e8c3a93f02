"""API keys: create (plaintext shown once), list, revoke, verify.

A key looks like ``cs_<id>_<secret>``: the id is a public handle (it appears in logs, the request log
and ``keys list``), the secret is 256 random bits. Only ``sha256(key)`` is stored; with that much
entropy a fast hash is enough (no salt or slow KDF needed, unlike passwords), and lookup is by id so
verification is one indexed read plus a constant-time compare.

Verified keys are cached for a few seconds so a busy API does not read the database per request; a
revoke in this process takes effect at once, other replicas see it within ``cache_ttl_s``. While the
database is unreachable, keys still fresh in the cache when it last answered keep working from it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capsight.errors import BadRequest, NotFound
from capsight.store.database import Database
from capsight.store.ratelimit import parse_rate
from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:  # the ORM models (SQLAlchemy) load on first database use, not at import
    from capsight.store.models import ApiKey

KEY_PREFIX = "cs_"
SCOPES = ("classify", "admin")
RATE_MAX_CHARS = 32  # the api_keys.rate_limit column
# A key inside other text: a header line from a log ("Authorization: Bearer cs_..."), quotes. The
# secret is token_urlsafe text (letters, digits, "-" and "_").
_KEY_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9_-]){KEY_PREFIX}[A-Za-z0-9]{{1,32}}_[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    name: str
    scope: str
    rate_limit: str | None
    created_at: datetime
    revoked_at: datetime | None
    # The key this one replaced, first of its line (``keys create --replaces``); None: its own.
    owner: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def principal(self) -> str:
        """Whom its requests, jobs, feedback and rate count under: the first key of its line, so a
        rotated key's client is not a stranger to its own answers and jobs."""
        return self.owner or self.id


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def split_key(plaintext: str) -> str | None:
    """The key id inside ``cs_<id>_<secret>``, or None if the text cannot be one of our keys."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or not parts[1] or not parts[2] or len(parts[1]) > 32:
        return None
    return parts[1]


def _info(row: ApiKey, owner: str | None = None) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.name, row.scope, row.rate_limit, row.created_at, row.revoked_at, owner)


class KeyStore:
    def __init__(self, db: Database, *, cache_ttl_s: float = 5.0) -> None:
        self.db = db
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[ApiKeyInfo, float]] = {}  # key hash -> (info, fetched at)
        self._answered_at = 0.0  # when the database last answered a lookup (monotonic)
        self._lock = threading.Lock()

    def create_key(
        self,
        name: str,
        scope: str | None = "classify",
        rate: str | None = None,
        *,
        replaces: str | None = None,
    ) -> tuple[str, str]:
        """Returns ``(key_id, plaintext)``; the plaintext is not stored and cannot be shown again.

        ``replaces``: the id of a key this one takes over from (a rotation): the new key is the same
        client (see :attr:`ApiKeyInfo.principal`), and a scope or rate left None is the old key's."""
        name = name.strip()
        if not name or len(name) > 200:
            raise BadRequest("key name must be 1-200 characters")
        if not name.isprintable():  # a newline or an escape forged rows and colours in `keys list`
            raise BadRequest("key name must be printable text (no newlines, tabs or control characters)")
        if scope is not None and scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}")
        if rate is not None and len(rate) > RATE_MAX_CHARS:
            raise BadRequest(f"rate must be at most {RATE_MAX_CHARS} characters, e.g. 100/minute")
        if rate is not None:
            try:
                parse_rate(rate)
            except ValueError as exc:
                raise BadRequest(str(exc)) from exc
        load_sqlalchemy()
        from capsight.store.models import ApiKey

        key_id = secrets.token_hex(6)
        plaintext = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with self.db.session() as session, session.begin():
            row = ApiKey(id=key_id, name=name, scope=scope, rate_limit=rate, key_hash=hash_key(plaintext))
            if replaces is not None:
                _take_over(session, row, replaces.strip())
            row.scope = row.scope or "classify"
            session.add(row)
        return key_id, plaintext

    def list_keys(self, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
        load_sqlalchemy()
        from sqlalchemy import select

        from capsight.store.models import ApiKey

        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        with self.db.session() as session:
            return [_info(row, _owner(session, row)) for row in session.scalars(query)]

    def revoke_key(self, key_id: str) -> ApiKeyInfo:
        """Revoke (idempotent); raises NotFound for an unknown id.

        The key itself is taken too, as its id: it is what an operator holds when a key leaked, and
        an unknown one was echoed, secret and all, in the error line (a CI log, a terminal record).
        So is the key as it is found, in a header line copied from a log or with a paste's blanks
        and quotes: looked up whole, the leaked key stayed valid and the error printed its secret.
        """
        found = _KEY_IN_TEXT.search(key_id)
        key_id = (split_key(found.group()) if found else None) or key_id.strip()
        load_sqlalchemy()
        from capsight.store.models import ApiKey, utcnow

        with self.db.session() as session, session.begin():
            row = session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"no API key with id {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            info = _info(row)
        with self._lock:
            self._cache = {h: entry for h, entry in self._cache.items() if entry[0].id != key_id}
        return info

    def cached(self, plaintext: str) -> ApiKeyInfo | None:
        """The key as last verified by this process, however long ago; None if never (or revoked).

        Says whether a key was seen before (the authenticator counts no guess for it); whether it
        may still be accepted without the database is :meth:`served_while_unreachable`."""
        with self._lock:
            entry = self._cache.get(hash_key(plaintext))
        return entry[0] if entry is not None else None

    def served_while_unreachable(self, plaintext: str) -> ApiKeyInfo | None:
        """The cached key, if this process may keep accepting it while the database does not answer:
        only when it was still fresh (within ``cache_ttl_s``) when the database last answered.
        Also for a caller whose lookup did not answer in time: a database too slow to answer is as
        unreachable to a request as one that is down.

        Why not any key verified before: a key this process last verified hours ago, then revoked
        (it leaked) while the database answered, was accepted again as soon as the database went
        down or hung. A key in use up to the outage is kept, so a blip does not lock its client out;
        one not seen since the revocation could have been, and is not."""
        with self._lock:
            entry = self._cache.get(hash_key(plaintext))
            answered_at = self._answered_at
        if entry is None or entry[1] < answered_at - self.cache_ttl_s:
            return None
        return entry[0]

    def verify(self, plaintext: str) -> ApiKeyInfo | None:
        """The active key matching ``plaintext``, or None. Raises if the database is unreachable and
        the key is not in the cache (the caller turns that into 503, not 401)."""
        key_id = split_key(plaintext)
        if key_id is None:
            return None
        digest = hash_key(plaintext)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and now - cached[1] < self.cache_ttl_s:
            return cached[0]
        load_sqlalchemy()
        from capsight.store.models import ApiKey

        try:
            with self.db.session() as session:
                row = session.get(ApiKey, key_id)
                info = _info(row, _owner(session, row)) if row is not None else None
                stored_hash = row.key_hash if row is not None else ""
        except Exception:
            served = self.served_while_unreachable(plaintext)  # database down: a key in use stays valid
            if served is not None:
                return served
            raise
        with self._lock:
            self._answered_at = max(self._answered_at, now)
        if info is None or not hmac.compare_digest(stored_hash, digest) or not info.active:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        with self._lock:
            self._cache[digest] = (info, now)
        return info


def _owner(session: Any, row: ApiKey) -> str | None:
    """The first key of ``row``'s line, kept as the name of the owner its keys share (the users
    table), or None for a key of its own."""
    if row.user_id is None:
        return None
    from capsight.store.models import User

    user = session.get(User, row.user_id)
    return str(user.name) if user is not None else None


def _take_over(session: Any, row: ApiKey, replaced_id: str) -> None:
    """Make ``row`` the same client as the key ``replaced_id``: both belong to one owner, named
    after the first key of the line (whose id its requests and jobs were logged under)."""
    from capsight.store.models import ApiKey, User

    old = session.get(ApiKey, replaced_id)
    if old is None:
        raise NotFound(f"no API key with id {replaced_id!r} to replace")
    if old.user_id is None:
        owner = User(name=old.id)
        session.add(owner)
        session.flush()
        old.user_id = owner.id
    row.user_id = old.user_id
    row.scope = row.scope or old.scope
    row.rate_limit = row.rate_limit if row.rate_limit is not None else old.rate_limit
