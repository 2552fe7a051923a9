"""Forwarding statements to an external LRS: a queue (xapi_lrs_outbox), batches, retries, idempotency.

`record` (service.py) puts each new statement in the outbox in the transaction that stored it, when
LRS_URL is set. `drain` sends what is due:

- Rows are claimed first, in a short transaction of their own (their `next_attempt_at` moves a
  lease ahead), so several processes draining at once do not send the same batch together; no
  transaction stays open during an HTTP request.
- A batch is one `POST {LRS_URL}/xAPI/statements` (X-Experience-API-Version 1.0.3, HTTP basic
  auth) of statements that carry their own ids. Sending one twice is harmless: an LRS answers a
  known id with the same content as stored (xAPI 1.0.3, §2.2), or with 409 Conflict, which counts as
  delivered too. When a whole batch is refused with 409, each statement is sent alone with
  `PUT ?statementId=`, so one conflict cannot hold back the others.
- Any other failure (the LRS down, a timeout, a 5xx, a 4xx) leaves the rows queued with
  `attempts` + 1, `last_error` set and `next_attempt_at` after an exponential back-off (5 s,
  doubling, at most an hour). A batch of which nothing was delivered ends the drain: an LRS that
  is down costs one failed request per round, not one per batch.

`drona serve` runs `start_in_background` when LRS_URL is set; `drona xapi forward` drains once.
The password is only ever put in the Authorization header: never logged, never in last_error.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Engine, delete, func, select, update

from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.settings import Settings

from .tables import LrsOutbox, XapiStatement

XAPI_VERSION = "1.0.3"
BATCH = 50
LEASE = timedelta(seconds=120)  # a claimed batch is retried by another process after this, if unfinished
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 3600.0
TIMEOUT_S = 15.0
POLL_S = 5.0  # the background sender looks for new statements this often
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lrs:
    url: str  # the LRS's base; statements go to {url}/xAPI/statements
    username: str | None
    password: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Lrs:
        if not settings.LRS_URL:
            raise ValueError("LRS_URL is not set")
        password = settings.LRS_PASSWORD.get_secret_value() if settings.LRS_PASSWORD is not None else None
        return cls(url=settings.LRS_URL.rstrip("/"), username=settings.LRS_USERNAME, password=password)

    @property
    def endpoint(self) -> str:
        return self.url if self.url.endswith("/xAPI/statements") else f"{self.url}/xAPI/statements"

    def __repr__(self) -> str:  # never the password
        return f"Lrs(url={self.url!r}, username={self.username!r})"


@dataclass
class DrainResult:
    sent: int = 0  # delivered (or already there) and removed from the queue
    failed: int = 0  # left queued for a retry after back-off
    waiting: int = 0  # still queued after this drain (failed ones included)
    last_error: str | None = None


def backoff(attempts: int) -> timedelta:
    """The wait before retry number `attempts` (1, 2, ...): 5 s, 10 s, 20 s ... at most an hour."""
    return timedelta(seconds=min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def _claim(engine: Engine, *, now: datetime, limit: int) -> list[tuple[str, dict[str, Any]]]:
    """Due rows, claimed for LEASE: (statement id, statement), oldest first."""
    with write_session(engine) as session:
        due = list(session.scalars(select(LrsOutbox.statement_id).where(LrsOutbox.next_attempt_at <= now)
                                   .order_by(LrsOutbox.next_attempt_at, LrsOutbox.created_at).limit(limit)))
        if not due:
            return []
        claimed = set(session.scalars(update(LrsOutbox).where(LrsOutbox.statement_id.in_(due),
                                                               LrsOutbox.next_attempt_at <= now)
                                      .values(next_attempt_at=now + LEASE).returning(LrsOutbox.statement_id)))
        rows = session.execute(select(XapiStatement.id, XapiStatement.statement)
                               .where(XapiStatement.id.in_(claimed)).order_by(XapiStatement.seq)).all()
        found = {row.id for row in rows}
        orphans = claimed - found  # the statement is gone (its learner deleted): nothing left to send
        if orphans:
            session.execute(delete(LrsOutbox).where(LrsOutbox.statement_id.in_(orphans)))
        return [(row.id, dict(row.statement)) for row in rows]


def _done(engine: Engine, ids: list[str]) -> None:
    if ids:
        with write_session(engine) as session:
            session.execute(delete(LrsOutbox).where(LrsOutbox.statement_id.in_(ids)))


def _failed(engine: Engine, ids: list[str], *, error: str, now: datetime) -> None:
    if not ids:
        return
    with write_session(engine) as session:
        for row in session.scalars(select(LrsOutbox).where(LrsOutbox.statement_id.in_(ids))):
            row.attempts += 1
            row.last_error = error[:2000]
            row.next_attempt_at = now + backoff(row.attempts)


def _headers() -> dict[str, str]:
    return {"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"}


def _describe(response: Any) -> str:
    body = str(getattr(response, "text", "") or "")[:300]
    return f"HTTP {response.status_code}: {body}".strip()


Batch = list[tuple[str, dict[str, Any]]]


def _send(http: requests.Session, lrs: Lrs, batch: Batch) -> tuple[list[str], list[str], str]:
    """(delivered ids, failed ids, error of the failed ones)."""
    auth = (lrs.username or "", lrs.password or "") if lrs.username or lrs.password else None
    ids = [sid for sid, _ in batch]
    try:
        response = http.post(lrs.endpoint, json=[statement for _, statement in batch], headers=_headers(),
                             auth=auth, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        return [], ids, f"{type(exc).__name__}: cannot reach the LRS"
    if response.status_code in (200, 204):
        return ids, [], ""
    if response.status_code != 409:
        return [], ids, _describe(response)
    # One of them conflicts: each alone, by id (PUT answers 204 when stored or already the same, 409 when
    # that id holds something else: either way there is nothing more to deliver).
    delivered: list[str] = []
    failed: list[str] = []
    error = ""
    for sid, statement in batch:
        try:
            single = http.put(lrs.endpoint, params={"statementId": sid}, json=statement, headers=_headers(),
                              auth=auth, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            failed.append(sid)
            error = f"{type(exc).__name__}: cannot reach the LRS"
            continue
        if single.status_code in (200, 204, 409):
            delivered.append(sid)
        else:
            failed.append(sid)
            error = _describe(single)
    return delivered, failed, error


def drain(*, engine: Engine, lrs: Lrs, now: datetime | None = None, batch_size: int = BATCH,
          max_batches: int | None = None, http: requests.Session | None = None) -> DrainResult:
    """Send every statement due now, batch by batch, until none is due (or `max_batches` were sent)."""
    now = now or utcnow()
    result = DrainResult()
    session: requests.Session = http or requests.Session()
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = _claim(engine, now=now, limit=batch_size)
        if not batch:
            break
        batches += 1
        delivered, failed, error = _send(session, lrs, batch)
        _done(engine, delivered)
        _failed(engine, failed, error=error, now=now)
        result.sent += len(delivered)
        result.failed += len(failed)
        if failed:
            result.last_error = error
            if not delivered:
                break  # the LRS is down or refuses everything: the rest waits for the next round
    result.waiting = pending(engine=engine)
    return result


def pending(*, engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(LrsOutbox)) or 0)


def start_in_background(settings: Settings, *, poll_s: float = POLL_S,
                        stop: threading.Event | None = None) -> threading.Thread:
    """`drona serve`: a daemon thread that drains the outbox every few seconds (errors back off per row),
    until `stop` is set (never, in serve)."""
    from sidecar.db.engine import get_engine

    lrs = Lrs.from_settings(settings)
    stopped = stop or threading.Event()

    def loop() -> None:
        http = requests.Session()
        while not stopped.is_set():
            try:
                result = drain(engine=get_engine(settings.DATABASE_URL), lrs=lrs, http=http)
                if result.failed:
                    log.warning("xAPI forwarding: %d statements wait for a retry (%s)", result.failed,
                                result.last_error)
            except Exception as exc:  # noqa: BLE001 - a failed round is retried at the next poll, never fatal
                log.warning("forwarding xAPI statements failed: %s", type(exc).__name__)
            stopped.wait(poll_s)

    thread = threading.Thread(target=loop, name="xapi-forward", daemon=True)
    thread.start()
    return thread
