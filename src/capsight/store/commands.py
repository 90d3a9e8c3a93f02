"""CLI subcommands of capsight.store (registered by capsight.cli): ``keys`` and ``db``.

Each handler reads ``Settings()`` (the environment) itself, since the CLI is an edge; heavy imports
(SQLAlchemy, Alembic, boto3) happen inside the handlers so ``capsight --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from capsight.cli_types import older_than_days
from capsight.errors import BadRequest, CapsightError
from capsight.wording import counted
from capsight.wording import days as days_text


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    keys = subparsers.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = keys_sub.add_parser("create", help="create an API key (the key is printed once)")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument(
        "--scope",
        choices=("classify", "admin"),
        default=None,
        help="classify: classifying, feedback and its own jobs; admin: also the request log, stored "
        "images, every job and model reloads (default classify)",
    )
    create.add_argument(
        "--replaces",
        metavar="ID",
        default=None,
        help="rotate: the new key is the same client as key ID (its answers, jobs and rate), with its "
        "scope and rate unless given; revoke ID once the client uses the new key",
    )
    create.add_argument(
        "--rate", default=None, help="rate limit for this key, e.g. 100/minute (default: CAPSIGHT_RATE_LIMIT)"
    )
    create.set_defaults(handler=keys_create)
    listing = keys_sub.add_parser("list", help="list API keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.add_argument("--active", action="store_true", help="only keys that are not revoked")
    listing.set_defaults(handler=keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke an API key by id (or by the key itself)")
    revoke.add_argument("key_id", help="the id `keys list` shows, or the whole key (cs_...)")
    revoke.set_defaults(handler=keys_revoke)

    db = subparsers.add_parser("db", help="request-log database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply database migrations (also done at start-up)")
    upgrade.add_argument(
        "--revision", default="head", help="migration to upgrade to (default head: the latest)"
    )
    upgrade.set_defaults(handler=db_upgrade)
    purge = db_sub.add_parser("purge", help="delete request-log rows, images and feedback older than N days")
    purge.add_argument(
        "--older-than-days",
        type=older_than_days,
        default=None,
        help="days, fractions too (default: CAPSIGHT_RETENTION_DAYS)",
    )
    purge.set_defaults(handler=db_purge)
    status = db_sub.add_parser(
        "status", help="where the database is, whether its schema is current, and what it holds"
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=db_status)


@contextlib.contextmanager
def _database(url: str | None = None) -> Iterator[Any]:
    """The configured database, disposed after use; what goes wrong with it (down, a wrong password,
    a typo in the URL) leaves as one :class:`CapsightError` line, which the CLI prints."""
    from capsight.settings import Settings
    from capsight.store.database import Database
    from capsight.store.database_errors import database_error

    # Alembic announces each of its plugins at INFO on every command: noise around the one line.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # No statement or lock timeouts (database.PG_STATEMENT_TIMEOUT_S): an operator's command (a purge
    # of a year of rows, a feedback export, the counts of a large log) runs as long as it needs, at a
    # terminal that can stop it.
    db = Database(url or Settings().resolved_database_url(), statement_timeouts=False)
    try:
        yield db
    except CapsightError:
        raise
    except Exception as exc:
        error = database_error(db.url, exc)
        if error is None:
            raise
        raise error from exc
    finally:
        db.dispose()


def database_from_settings(settings: Any) -> contextlib.AbstractContextManager[Any]:
    """The database of ``settings`` for a CLI command, with the same one-line errors as ``db``."""
    return _database(settings.resolved_database_url())


WHERE_THE_SERVER_RUNS = (
    "run this where the server runs, or set CAPSIGHT_DATA_DIR (or CAPSIGHT_DATABASE_URL) to what the "
    "server uses"
)


def keys_create(args: argparse.Namespace) -> int:
    from capsight.settings import Settings
    from capsight.store.keys import KeyStore
    from capsight.store.status import missing_sqlite_file

    url = Settings().resolved_database_url()
    new_file = missing_sqlite_file(url)  # keys may be made before the first start: said, not refused
    replaced = args.replaces.strip() if args.replaces else None
    with _database(url) as db:
        store = KeyStore(db)
        key_id, plaintext = store.create_key(args.name, args.scope, args.rate, replaces=args.replaces)
        # A revoked key is replaced after a leak; "revoke that one" sent the operator after it again.
        revoked = replaced is not None and any(k.id == replaced and not k.active for k in store.list_keys())
    print(f"id:    {key_id}")
    print(f"key:   {plaintext}")
    print("Store the key now: only its hash is kept, it cannot be shown again.")
    if replaced is not None:
        then = "that one is already revoked." if revoked else "revoke that one once unused."
        print(f"This key replaces {replaced}, as the same client; {then}")
    if new_file is not None:
        print(
            f"capsight: note: there was no database at {new_file}, so this made a new one there; a server "
            "accepts the key only with the same CAPSIGHT_DATA_DIR (or CAPSIGHT_DATABASE_URL)",
            file=sys.stderr,
        )
    return 0


def _visible(text: str) -> str:
    """``text`` with each control or format character written as its escape (``\\n``, ``\\x1b``):
    names stored before ``keys create`` refused them (or by another tool) forged rows and colours."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _columns(char: str) -> int:
    """Terminal columns ``char`` takes: none for a combining mark, two for a wide East Asian one."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cell(text: str, width: int) -> str:
    """``text`` cut to ``width - 1`` terminal columns and padded to ``width``. Counted in code points,
    a CJK name (two columns a character) or one with combining accents shifted the rest of its row."""
    kept, used = [], 0
    for char in _visible(text):
        if used + _columns(char) > width - 1:
            break
        kept.append(char)
        used += _columns(char)
    return "".join(kept) + " " * (width - used)


def keys_list(args: argparse.Namespace) -> int:
    from capsight.settings import Settings
    from capsight.store.keys import KeyStore
    from capsight.store.status import missing_sqlite_file

    url = Settings().resolved_database_url()
    missing = missing_sqlite_file(url)
    if missing is not None:  # an empty table would read as "the keys are gone"
        raise BadRequest(f"No database at {missing}: {WHERE_THE_SERVER_RUNS}.")
    with _database(url) as db:
        store = KeyStore(db)
        keys = store.list_keys(include_revoked=not args.active)
        revoked = len(store.list_keys()) if args.active and not keys and not args.json else 0
    if args.json:
        for key in keys:
            print(
                json.dumps(
                    {
                        "id": key.id,
                        "name": key.name,
                        "scope": key.scope,
                        "rate_limit": key.rate_limit,
                        "created_at": key.created_at.isoformat(),
                        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                        "client": key.principal,  # the key it replaced (--replaces), else its own id
                    }
                )
            )
        return 0
    if not keys:  # a bare header read like output cut short, not "no key can be used"
        if revoked:
            print(f"no active keys ({revoked} revoked: capsight keys list shows them)")
        else:
            print("no API keys (capsight keys create --name NAME makes one)")
        return 0
    # As wide as the longest rate: one may be 32 characters, and a fixed 14 pushed the rest of its row.
    rate_width = max([14, *(len(key.rate_limit or "") + 2 for key in keys)])
    print(f"{'ID':<14}{'NAME':<24}{'SCOPE':<10}{'RATE':<{rate_width}}{'CREATED':<22}STATUS")
    for key in keys:
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        status += f", as {key.owner}" if key.owner and key.owner != key.id else ""
        rate = key.rate_limit or "-"
        created = f"{key.created_at:%Y-%m-%d %H:%M:%S}"
        print(f"{key.id:<14}{_cell(key.name, 24)}{key.scope:<10}{rate:<{rate_width}}{created:<22}{status}")
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    from capsight.settings import Settings
    from capsight.store.keys import KeyStore
    from capsight.store.status import missing_sqlite_file

    url = Settings().resolved_database_url()
    missing = missing_sqlite_file(url)
    if missing is not None:  # "no API key with id" read as a typo, while the server's key stayed active
        raise BadRequest(f"No database at {missing}: {WHERE_THE_SERVER_RUNS}.")
    started = datetime.now(UTC)
    with _database(url) as db:
        info = KeyStore(db).revoke_key(args.key_id)
    at = info.revoked_at
    if at is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) < started:
        # "revoked" again read as "the key just stopped": after a leak, that hid a wrong id.
        when = f"{at:%Y-%m-%d %H:%M} UTC"
        print(f"{info.id} ({_visible(info.name)}) was already revoked on {when}; nothing changed")
        return 0
    print(f"revoked {info.id} ({_visible(info.name)})")
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    with _database() as db:
        # Imported here, once _database has quietened Alembic: its first import announces each of
        # its plugins at INFO, seven lines around the one this command prints.
        from alembic.util import CommandError

        try:
            db.migrate(args.revision)
        except CommandError as exc:  # an unknown revision, most often
            raise BadRequest(f"Cannot upgrade to {args.revision!r}: {exc}") from exc
        current, newer = db.schema_revisions()
    if newer:  # a newer release migrated it (rolling update): left as is, and this release works on it
        print(f"database at {', '.join(newer)}, newer than this release knows; left as is")
    elif args.revision in ("head", "heads") or args.revision in current:
        print(f"database at {args.revision} ({', '.join(current) or 'empty'})")
    else:  # already past it: upgrade never goes back, and "database at 0003" named the wrong one
        shown = ", ".join(current) or "empty"
        print(f"database at {shown} (asked for {args.revision}; upgrade never downgrades)")
    return 0


def db_purge(args: argparse.Namespace) -> int:
    from capsight.settings import Settings
    from capsight.store.blobs import open_blob_store
    from capsight.store.requestlog import RequestLog
    from capsight.store.status import missing_sqlite_file

    settings = Settings()
    days = args.older_than_days if args.older_than_days is not None else settings.retention_days
    if not days or days <= 0:
        raise BadRequest("give --older-than-days N (N > 0) or set CAPSIGHT_RETENTION_DAYS")
    blobs = open_blob_store(settings.resolved_storage_url(), s3_endpoint_url=settings.s3_endpoint_url)
    url = settings.resolved_database_url()
    missing = missing_sqlite_file(url)
    if missing is not None:  # "purged 0 requests" would read as done while the server's log keeps all
        raise BadRequest(f"No request log at {missing}: {WHERE_THE_SERVER_RUNS}.")
    with _database(url) as db:
        result = RequestLog(db, blobs).purge_older_than(days)
    print(f"purged {result.rows_text()} older than {days_text(days)}")
    # Their folders are on the disks of the replicas that ran them: each deletes its own when it sweeps.
    its = "its" if result.jobs == 1 else "their"
    jobs = counted(result.jobs, "ended job")
    print(f"purged {jobs} (with {its} published results) that ended over {days_text(days)} ago")
    return 0


def db_status(args: argparse.Namespace) -> int:
    """Exit 0 when the schema is this release's (or a newer one's), 1 when it needs `db upgrade`
    (behind, empty or no database yet): a deploy script or init container can gate on it."""
    from capsight.settings import Settings
    from capsight.store.status import database_status, render_status

    settings = Settings()
    # Reading the revision announces Alembic's "Context impl" twice: noise around a report. Put
    # back afterwards: a process that goes on (tests, an embedding tool) keeps its upgrade lines.
    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)
    try:
        with _database(settings.resolved_database_url()) as db:
            status = database_status(db)
    finally:
        migration_log.setLevel(level)
    if args.json:
        print(json.dumps(status.to_dict()))
    else:
        print("\n".join(render_status(status, retention_days=settings.retention_days)))
    verdict = status.schema.verdict if status.schema is not None else "missing"
    return 0 if verdict in {"current", "newer"} else 1
