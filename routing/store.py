"""The ticket store: SQLite in WAL mode, embedded, one file per branch.

Every state change is one transaction. A ticket is acknowledged (returned to the caller)
only after its transaction committed with ``synchronous=FULL``, so a process killed at any
point loses no acknowledged ticket and, because issuance is keyed by ``request_id``
(UNIQUE), a retried request never creates a second one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from .model import OPEN_STATES, TicketRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id          INTEGER PRIMARY KEY,
    day         TEXT    NOT NULL,
    number      TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    priority    INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    counter_id  TEXT    NOT NULL,
    request_id  TEXT    NOT NULL UNIQUE,
    issued_at   REAL    NOT NULL,
    queued_at   REAL    NOT NULL,
    eta_s       REAL    NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL DEFAULT 0,
    language    TEXT    NOT NULL DEFAULT '',
    session_id  TEXT    NOT NULL DEFAULT '',
    amount      REAL    NOT NULL DEFAULT 0,
    called_at   REAL,
    served_at   REAL,
    done_at     REAL,
    call_count  INTEGER NOT NULL DEFAULT 0,
    risk_level  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (day, number)
);
CREATE INDEX IF NOT EXISTS tickets_open ON tickets (day, state);
CREATE TABLE IF NOT EXISTS sequences (
    day    TEXT NOT NULL,
    prefix TEXT NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (day, prefix)
);
CREATE TABLE IF NOT EXISTS referrals (
    request_id TEXT PRIMARY KEY,
    machine_id TEXT NOT NULL,
    service    TEXT NOT NULL,
    eta_s      REAL NOT NULL,
    issued_at  REAL NOT NULL
);
"""

_COLUMNS = [f.name for f in fields(TicketRecord) if f.name != "id"]
# Columns added after a book's file may have been created: (name, declaration).
_ADDED_COLUMNS = (("risk_level", "INTEGER NOT NULL DEFAULT 0"),)


class TicketStore:
    def __init__(self, path: str | Path = ":memory:", durable: bool = True):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Give a ticket book written by an older version the columns added since."""
        have = {row["name"] for row in self._db.execute("PRAGMA table_info(tickets)")}
        for name, declaration in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE tickets ADD COLUMN {name} {declaration}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit (BEGIN IMMEDIATE: no other writer in between)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_number(self, db: sqlite3.Connection, day: str, prefix: str) -> str:
        row = db.execute("SELECT last FROM sequences WHERE day=? AND prefix=?",
                         (day, prefix)).fetchone()
        value = (row["last"] if row else 0) + 1
        db.execute("INSERT INTO sequences(day, prefix, last) VALUES (?,?,?) "
                   "ON CONFLICT(day, prefix) DO UPDATE SET last=excluded.last",
                   (day, prefix, value))
        return f"{prefix}{value:03d}"

    def insert(self, db: sqlite3.Connection, record: TicketRecord) -> TicketRecord:
        cursor = db.execute(
            f"INSERT INTO tickets({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
            [getattr(record, c) for c in _COLUMNS])
        record.id = cursor.lastrowid
        return record

    def update(self, db: sqlite3.Connection, record: TicketRecord) -> None:
        db.execute(f"UPDATE tickets SET {', '.join(f'{c}=?' for c in _COLUMNS)} WHERE id=?",
                   [*(getattr(record, c) for c in _COLUMNS), record.id])

    @staticmethod
    def _record(row: sqlite3.Row | None) -> TicketRecord | None:
        if row is None:
            return None
        return TicketRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - Row iterates values

    def by_request(self, request_id: str) -> TicketRecord | None:
        with self._lock:
            return self._record(self._db.execute(
                "SELECT * FROM tickets WHERE request_id=?", (request_id,)).fetchone())

    def by_number(self, day: str, number: str) -> TicketRecord | None:
        with self._lock:
            return self._record(self._db.execute(
                "SELECT * FROM tickets WHERE day=? AND number=?", (day, number)).fetchone())

    def open_tickets(self, day: str) -> list[TicketRecord]:
        marks = ",".join("?" for _ in OPEN_STATES)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM tickets WHERE day=? AND state IN ({marks}) ORDER BY id",
                (day, *OPEN_STATES)).fetchall()
        return [self._record(r) for r in rows]

    def all_tickets(self, day: str | None = None) -> list[TicketRecord]:
        with self._lock:
            rows = (self._db.execute("SELECT * FROM tickets WHERE day=? ORDER BY id", (day,))
                    if day else self._db.execute("SELECT * FROM tickets ORDER BY id")).fetchall()
        return [self._record(r) for r in rows]

    def recent_service_times(self, service: str, limit: int) -> list[float]:
        with self._lock:
            rows = self._db.execute(
                "SELECT done_at - COALESCE(served_at, called_at) AS t FROM tickets "
                "WHERE service=? AND state=3 AND done_at IS NOT NULL "
                "AND COALESCE(served_at, called_at) IS NOT NULL ORDER BY done_at DESC LIMIT ?",
                (service, limit)).fetchall()
        return [r["t"] for r in reversed(rows) if r["t"] is not None and r["t"] > 0]

    def referral(self, request_id: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute("SELECT * FROM referrals WHERE request_id=?",
                                    (request_id,)).fetchone()

    def add_referral(self, db: sqlite3.Connection, request_id: str, machine_id: str,
                     service: str, eta_s: float, issued_at: float) -> None:
        db.execute("INSERT INTO referrals VALUES (?,?,?,?,?)",
                   (request_id, machine_id, service, eta_s, issued_at))

    def close(self) -> None:
        with self._lock:
            self._db.close()
