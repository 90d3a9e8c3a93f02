"""Feedback on answers: what clients say the label should have been, matched to the request log.

Why matched at export and not when it arrives: the request log is written in the background (a
batch every 100 ms, or later from the spool during a database outage), so a correction sent right
after its answer may reach the database before the answer does. Feedback is stored as sent and
joined to the logged classification when it is used; one that never finds its classification
(log disabled, purged, another client's request) is reported, not guessed.

A client's word is only taken for its own requests: a key may not relabel another key's images.
An admin (and, with auth off, anyone) may correct any answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from capsight.store.database import Database, storable_text
from capsight.store.sqlalchemy_import import load_sqlalchemy


@dataclass(frozen=True)
class FeedbackEntry:
    request_id: str  # the id the client saw: the server's own, or the X-Request-ID it sent
    item_index: int  # the image's place in a batch request; 0 for a single image
    client_id: str
    any_client: bool
    model_name: str
    label: str
    note: str | None = None


@dataclass(frozen=True)
class MatchedFeedback:
    """The newest feedback on one logged classification, with what the model had answered."""

    feedback_id: int
    created_at: datetime
    request_id: str  # the server's id of the logged request
    item_index: int
    label: str  # what the client says it is
    predicted: str | None  # what the model answered (None: that request failed)
    confidence: float | None
    model_name: str
    model_version: str
    image_sha256: str | None
    image_stored: bool
    # Where the server stored the image (its store's key or s3:// URL): an export reading another
    # image store is told where the images are, not that they were never stored.
    image_ref: str | None = None
    # Sent with an admin key (or by anyone with auth off): outranks a client's own feedback.
    any_client: bool = False
    note: str | None = None  # the sender's free text, for whoever reviews the exported folder

    def outranks(self, other: MatchedFeedback) -> bool:
        """Whether this feedback wins over ``other`` on the same image: an admin's word over a
        client's, else the newer. A key that uploads the same bytes cannot undo a reviewer."""
        return (self.any_client, self.feedback_id) > (other.any_client, other.feedback_id)


@dataclass(frozen=True)
class FeedbackMatch:
    matched: tuple[MatchedFeedback, ...]
    unmatched: int  # feedback with no logged classification of the same client (yet, or any more)
    # Matched, but outranked by other feedback on the same answer (a newer one, or an admin's):
    # counted, so that every feedback is accounted for in the export's summary.
    replaced: int = 0
    # Left out by ``model_name``: the models that gave those answers, with how many feedback each
    # (a mistyped --model left every feedback out without a word).
    other_models: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedAnswer:
    """What the request log holds of the answer a feedback names, looked up as the feedback arrives."""

    endpoint: str  # the route that answered (its template: /v1/classify, /v1/classify/batch, ...)
    # False: the request is logged, but no answer at the feedback's index (not yet, for a batch whose
    # images were written apart; never, for a single image's request at an index other than 0)
    has_item: bool
    answered: bool  # False: the upload got no answer (not an image, over a limit): nothing to correct
    error: str | None
    image_sha256: str | None
    image_stored: bool  # logged with its image (whether the image store still has it is another matter)
    # How many images the request had, as answered (a batch's, logged since 0010); None: not kept
    item_count: int | None = None


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, entry: FeedbackEntry) -> int:
        load_sqlalchemy()
        from capsight.store.models import FeedbackRow

        # Client text: a NUL in it is stored as U+FFFD (PostgreSQL refuses NUL, and the route took
        # the refusal for an outage: 503, 'retry shortly', for ever); the request log does the same,
        # so a client id with one still matches its requests.
        with self.db.session() as session, session.begin():
            row = FeedbackRow(
                request_id=storable_text(entry.request_id),
                item_index=entry.item_index,
                client_id=storable_text(entry.client_id),
                any_client=entry.any_client,
                model_name=storable_text(entry.model_name),
                label=storable_text(entry.label),
                note=storable_text(entry.note) if entry.note is not None else None,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def logged_answer(self, entry: FeedbackEntry) -> LoggedAnswer | None:
        """The answer ``entry`` names by the server's own request id, when the log holds it and the
        sender may correct it; None otherwise (not logged yet, another client's, or named by a
        client's X-Request-ID, which may name several requests, one of them perhaps not logged yet).

        Why at all: a feedback on an upload that got no answer, or on an answer whose image is not
        stored, was answered 202 "usable for training" and then dropped by the export. Only what
        the log says for certain is used: rows are never rewritten, so a logged answer stays as it is.
        """
        load_sqlalchemy()
        from sqlalchemy import and_, select

        from capsight.store.models import ClassificationRow, RequestRow

        r, c = RequestRow, ClassificationRow
        query = (
            select(r.client_id, r.endpoint, r.item_count, c.id, c.label, c.error, c.image_sha256, c.image_ref)
            .join(c, and_(c.request_id == r.request_id, c.item_index == entry.item_index), isouter=True)
            .where(r.request_id == storable_text(entry.request_id))
        )
        with self.db.session() as session:
            row = session.execute(query).first()
        if row is None or not (entry.any_client or row.client_id == storable_text(entry.client_id)):
            return None
        return LoggedAnswer(
            endpoint=row.endpoint,
            has_item=row.id is not None,
            answered=row.label is not None,
            error=row.error,
            image_sha256=row.image_sha256,
            image_stored=row.image_ref is not None,
            item_count=row.item_count,
        )

    def logged_since(self, request_id: str, cutoff: datetime | None) -> bool:
        """Whether the log holds a request named ``request_id`` (the server's id or a client's
        X-Request-ID) logged at ``cutoff`` or later (None: at any time): one the retention purge
        has not come for."""
        load_sqlalchemy()
        from sqlalchemy import or_, select

        from capsight.store.models import RequestRow

        named = storable_text(request_id)
        query = (
            select(RequestRow.request_id)
            .where(or_(RequestRow.request_id == named, RequestRow.client_request_id == named))
            .limit(1)
        )
        if cutoff is not None:
            query = query.where(RequestRow.created_at >= cutoff)
        with self.db.session() as session:
            return session.execute(query).first() is not None

    def purged_before(self) -> datetime | None:
        """Before when the log holds nothing any more: see ``purge_marks``."""
        from capsight.store.purge_marks import purged_before

        return purged_before(self.db)

    def match(self, *, since: datetime | None = None, model_name: str | None = None) -> FeedbackMatch:
        """The newest feedback per logged image (a later correction replaces an earlier one).

        A client that reuses its X-Request-ID names several requests: its feedback is about the
        newest of them logged before the feedback arrived. A server id beats an X-Request-ID that
        copies it, and the sender's own requests beat others' (for feedback that may name any).
        Feedback that may name any client's request, naming an X-Request-ID that several other
        clients sent, matches none of them (counted unmatched): the id cannot tell whose it meant.
        """
        load_sqlalchemy()
        from sqlalchemy import and_, or_, select

        from capsight.store.models import ClassificationRow, FeedbackRow, RequestRow

        f, r, c = FeedbackRow, RequestRow, ClassificationRow
        query = (
            select(f, r.request_id, r.created_at, r.client_id, c)
            .join(r, or_(r.request_id == f.request_id, r.client_request_id == f.request_id), isouter=True)
            .join(c, and_(c.request_id == r.request_id, c.item_index == f.item_index), isouter=True)
            .order_by(f.id)
        )
        if since is not None:
            query = query.where(f.created_at >= since)
        # ``model_name`` is the model that gave the answer (the classification's), not the one
        # served when the feedback came: a server may have switched models in between.
        other_model: dict[int, str] = {}  # feedback on an answer of another model: that model
        best: dict[int, tuple[tuple[bool, bool, bool, datetime], MatchedFeedback]] = {}
        seen: set[int] = set()
        owners: dict[int, set[str]] = {}
        with self.db.session() as session:
            for fb, server_id, logged_at, owner, row in session.execute(query):
                if model_name is None or fb.model_name == model_name:
                    seen.add(fb.id)  # unmatched ones count under the model served when they came
                if server_id is None or row is None or not (fb.any_client or owner == fb.client_id):
                    continue
                owners.setdefault(fb.id, set()).add(owner)
                if model_name is not None and row.model_name != model_name:
                    other_model[fb.id] = row.model_name
                    continue
                candidate = MatchedFeedback(
                    feedback_id=fb.id,
                    created_at=fb.created_at,
                    request_id=server_id,
                    item_index=fb.item_index,
                    label=fb.label,
                    predicted=row.label,
                    confidence=row.confidence,
                    model_name=row.model_name,
                    model_version=row.model_version,
                    image_sha256=row.image_sha256,
                    image_stored=row.image_ref is not None,
                    image_ref=row.image_ref,
                    any_client=fb.any_client,
                    note=fb.note,
                )
                # The server's own id names one request; a client's X-Request-ID is any text, so it
                # may copy that id. Then the sender's own requests (an admin's or, with auth off,
                # anyone's reused id may name others' too), then those logged before the feedback
                # (clocks of replicas differ a little), the newest first.
                rank = (
                    server_id == fb.request_id,
                    owner == fb.client_id,
                    logged_at <= fb.created_at,
                    logged_at,
                )
                if fb.id not in best or rank > best[fb.id][0]:
                    best[fb.id] = (rank, candidate)
        for fb_id, ((by_server_id, own, *_), _) in list(best.items()):
            if not by_server_id and not own and len(owners[fb_id]) > 1:
                # An admin's X-Request-ID (the id the request log lists) that several clients sent:
                # any client may reuse another's id, so "the newest" would let it draw a reviewer's
                # correction, with a reviewer's rank, onto an image of its own choosing. Not guessed.
                del best[fb_id]
                other_model.pop(fb_id, None)
        newest: dict[tuple[str, int], MatchedFeedback] = {}
        for _, item in sorted(best.values(), key=lambda pair: pair[1].feedback_id):
            key = (item.request_id, item.item_index)
            if key not in newest or item.outranks(newest[key]):
                newest[key] = item
        items = sorted(newest.values(), key=lambda m: m.feedback_id)
        others: dict[str, int] = {}
        for fb_id, name in other_model.items():
            if fb_id not in best:  # an id naming answers of both models: matched to this one's
                others[name] = others.get(name, 0) + 1
        return FeedbackMatch(
            matched=tuple(items),
            unmatched=len(seen - set(best) - set(other_model)),
            replaced=len(best) - len(items),
            other_models=dict(sorted(others.items())),
        )


def label_counts(items: Sequence[MatchedFeedback]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.label] = counts.get(item.label, 0) + 1
    return dict(sorted(counts.items()))
