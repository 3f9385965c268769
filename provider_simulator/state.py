"""The simulator's shared state: one small SQLite file, so every process on the machine sees the same jobs."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    finish_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '',
    predict_time REAL,
    input TEXT NOT NULL,
    output_url TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_key_created ON jobs (key_hash, created_at);
CREATE INDEX IF NOT EXISTS jobs_key_finish ON jobs (key_hash, finish_at);
CREATE TABLE IF NOT EXISTS webhooks (
    job_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    claimed_until REAL NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks (state, due_at);
"""


@dataclass(frozen=True)
class Job:
    id: str
    key_hash: str
    created_at: float
    finish_at: float
    outcome: str  # "success" or "error", decided at create time and revealed at finish_at
    message: str
    details: str
    predict_time: float | None
    input: dict
    output_url: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        values = dict(row)
        values["input"] = json.loads(values["input"])
        return cls(**values)


@dataclass(frozen=True)
class Webhook:
    job_id: str
    url: str
    payload: dict
    attempts: int


class StateStore:
    """Jobs and pending webhooks; a connection per thread and process, writes in IMMEDIATE transactions."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "state.sqlite3"
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)  # executescript commits by itself

    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork (django-q2 forks its workers).
        if getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return self._local.db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that takes the write lock first, so check-then-insert is atomic across processes."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self._connection()

    # --- jobs ---------------------------------------------------------------------
    def count_created_since(self, db: sqlite3.Connection, key_hash: str, since: float) -> tuple[int, float | None]:
        row = db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM jobs WHERE key_hash = ? AND created_at > ?", (key_hash, since)
        ).fetchone()
        return row[0], row[1]

    def count_in_flight(self, db: sqlite3.Connection, key_hash: str, now: float) -> tuple[int, float | None]:
        row = db.execute(
            "SELECT COUNT(*), MIN(finish_at) FROM jobs WHERE key_hash = ? AND created_at <= ? AND finish_at > ?",
            (key_hash, now, now),
        ).fetchone()
        return row[0], row[1]

    def insert_job(self, db: sqlite3.Connection, job: Job) -> None:
        db.execute(
            "INSERT INTO jobs (id, key_hash, created_at, finish_at, outcome, message, details, predict_time, input,"
            " output_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                job.key_hash,
                job.created_at,
                job.finish_at,
                job.outcome,
                job.message,
                job.details,
                job.predict_time,
                json.dumps(job.input),
                job.output_url,
            ),
        )

    def get_job(self, job_id: str) -> Job | None:
        row = self.read().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def finished_jobs(self, *, since: float, until: float) -> list[Job]:
        rows = self.read().execute(
            "SELECT * FROM jobs WHERE outcome = 'success' AND finish_at > ? AND finish_at <= ?", (since, until)
        )
        return [Job.from_row(row) for row in rows]

    def delete_jobs_before(self, finish_before: float) -> list[str]:
        with self.write() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM jobs WHERE finish_at < ?", (finish_before,))]
            db.execute("DELETE FROM jobs WHERE finish_at < ?", (finish_before,))
            db.execute("DELETE FROM webhooks WHERE state != 'pending' AND due_at < ?", (finish_before,))
        return ids

    # --- webhooks -----------------------------------------------------------------
    def insert_webhook(
        self, db: sqlite3.Connection, *, job_id: str, url: str, payload: dict, due_at: float, state: str
    ):
        db.execute(
            "INSERT INTO webhooks (job_id, url, payload, due_at, state) VALUES (?, ?, ?, ?, ?)",
            (job_id, url, json.dumps(payload), due_at, state),
        )

    def claim_due_webhooks(self, now: float, lease_s: float) -> list[Webhook]:
        """Claim the webhooks that are due for `lease_s`, so two processes never send the same attempt."""
        with self.write() as db:
            rows = db.execute(
                "SELECT job_id, url, payload, attempts FROM webhooks"
                " WHERE state = 'pending' AND due_at <= ? AND claimed_until <= ? ORDER BY due_at",
                (now, now),
            ).fetchall()
            db.executemany(
                "UPDATE webhooks SET claimed_until = ? WHERE job_id = ?", [(now + lease_s, row[0]) for row in rows]
            )
        return [Webhook(row[0], row[1], json.loads(row[2]), row[3]) for row in rows]

    def record_webhook_attempt(self, job_id: str, *, state: str, due_at: float, status: int | None, error: str) -> None:
        with self.write() as db:
            db.execute(
                "UPDATE webhooks SET attempts = attempts + 1, state = ?, due_at = ?, claimed_until = 0,"
                " last_status = ?, last_error = ? WHERE job_id = ?",
                (state, due_at, status, error[:500], job_id),
            )

    def webhook_state(self, job_id: str) -> dict | None:
        row = self.read().execute("SELECT * FROM webhooks WHERE job_id = ?", (job_id,)).fetchone()
        return dict(row) if row else None
