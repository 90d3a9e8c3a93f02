"""How far back the request log has been purged, kept in the database every replica shares.

Why: the feedback route could only tell a purged answer from one not logged yet by the retention
window (CAPSIGHT_RETENTION_DAYS); a purge by hand (``capsight db purge --older-than-days N``, N
under the window or with no retention at all) deleted answers it still took for "not logged yet",
so feedback on them was answered 202 and never matched. Each complete purge records its cutoff.
"""

from __future__ import annotations

from datetime import datetime

from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy


def record_purge(db: Database, cutoff: datetime) -> None:
    """Note that every request created before ``cutoff`` is gone. Marks that reach less far are
    dropped (one row stays, or a few when purges race; the newest is what is read); a mark that
    reaches less far than the newest is not written."""
    load_sqlalchemy()
    from sqlalchemy import delete, func, select

    from capsight.store.models import PurgeMarkRow

    with db.session() as session, session.begin():
        newest = session.execute(select(func.max(PurgeMarkRow.purged_before))).scalar()
        if newest is not None and newest >= cutoff:
            return  # an earlier purge reached further: what it took stays gone
        session.execute(delete(PurgeMarkRow).where(PurgeMarkRow.purged_before <= cutoff))
        session.add(PurgeMarkRow(purged_before=cutoff))


def purged_before(db: Database) -> datetime | None:
    """The time before which the request log holds no request any more (None: never purged)."""
    load_sqlalchemy()
    from sqlalchemy import func, select

    from capsight.store.models import PurgeMarkRow

    with db.session() as session:
        newest: datetime | None = session.execute(select(func.max(PurgeMarkRow.purged_before))).scalar()
    return newest
