"""The sensor's spool: every contact on disk until the broker has acknowledged it.

One SQLite file (WAL journal, ``synchronous=NORMAL``) per sensor, in ``mqtt.spool_dir``
(default ``./spool/<sensor id>``):

* ``contacts(seq, kind, body)``: each contact, already encoded (:func:`~airwatch.bus.payload.encode_contact`),
  under its sequence number.  A row is written before the contact is sent and deleted when the
  broker's PUBACK for the message that carried it arrives; so a contact survives a broker outage
  and a sensor restart, and is sent again (in order) until acknowledged.
* ``meta``: the stream id (a random name for this spool's sequence; a new spool file starts a
  new stream, so the correlator knows the numbers started again) and the last sequence number
  given out, so numbers keep growing across restarts.

The file is bounded by ``mqtt.spool_max_mb``: when full, the oldest contacts are dropped, counted
in :attr:`Spool.dropped` and logged (the correlator sees the hole as a gap).  Contacts are kept
in memory for a few milliseconds before they are written, a batch at a time; a sensor that is
killed outright loses those few (never anything the broker has not acknowledged once written).

As an outbox for :func:`airwatch.bus.base.pump`, :meth:`take` groups the next contacts by kind,
one message per kind (each contact carries its ``seq``, so the correlator puts them back in order).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from airwatch.bus.base import Outgoing
from airwatch.bus.payload import batch

log = logging.getLogger("airwatch.bus.spool")

ROW_OVERHEAD = 24  # bytes a row costs besides its body (approximate, for the size bound)
TAKE_ROWS = 512  # contacts read per take(); split by kind into messages
MESSAGE_BYTES = 256 << 10  # a message is cut at about this size


class Spool:
    def __init__(self, path: str | Path, topic_for: Callable[[str], str], max_bytes: int = 512 << 20) -> None:
        self.path = Path(path)
        self.topic_for = topic_for  # kind -> topic
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS contacts (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
                        "body BLOB NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if "stream" not in meta:
            meta = {"stream": uuid.uuid4().hex[:16], "last_seq": "0"}
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        self.stream: str = meta["stream"]
        self.last_seq = int(meta["last_seq"])  # last number given out (in memory, maybe not yet written)
        self._floor = 0  # contacts up to this seq were dropped to keep the size bound
        count, size = self.db.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM contacts").fetchone()
        self.pending = count  # rows on disk, not yet acknowledged
        self.bytes = size + ROW_OVERHEAD * count
        self.dropped = 0
        self._buffer: list[tuple[int, str, bytes]] = []  # given a number, not yet written
        self._acked: list[int] = []  # acknowledged, not yet deleted
        self._cursor = 0  # rows up to this seq were handed out on the current connection
        self.ready = asyncio.Event()
        if count:
            self.ready.set()
        log.debug("spool %s: stream %s, %d contacts waiting, last seq %d", self.path, self.stream, count,
                  self.last_seq)

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    def add(self, seq: int, kind: str, body: bytes) -> None:
        """Queue one encoded contact; it reaches the disk at the next :meth:`commit`."""
        self._buffer.append((seq, kind, body))

    def commit(self) -> None:
        """Write the queued contacts and forget the acknowledged ones, in one transaction."""
        if not self._buffer and not self._acked:
            return
        rows, self._buffer = self._buffer, []
        acked, self._acked = self._acked, []
        db = self.db
        db.execute("BEGIN")
        try:
            if acked:
                db.executemany("DELETE FROM contacts WHERE seq = ?", [(s,) for s in acked])
            if rows:
                db.executemany("INSERT OR REPLACE INTO contacts VALUES (?, ?, ?)", rows)
                db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(rows[-1][0]),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._buffer, self._acked = rows + self._buffer, acked + self._acked
            raise
        if rows:
            self.pending += len(rows)
            self.bytes += sum(len(r[2]) + ROW_OVERHEAD for r in rows)
            self.ready.set()
        if self.bytes > self.max_bytes:
            self._shrink()

    def _shrink(self) -> None:
        target = int(self.max_bytes * 0.9)
        dropped = 0
        first = last = None
        while self.bytes > target and self.pending:
            rows = self.db.execute("SELECT seq, length(body) FROM contacts ORDER BY seq LIMIT 1000").fetchall()
            if not rows:
                break
            n = 0
            for seq, size in rows:
                if self.bytes <= target:
                    break
                self.bytes -= size + ROW_OVERHEAD
                first = seq if first is None else first
                last = seq
                n += 1
            self.db.execute("DELETE FROM contacts WHERE seq <= ?", (last,))
            self._floor = last
            self.pending -= n
            dropped += n
        self.dropped += dropped
        if dropped:
            log.warning("spool %s full (%.0f MB): dropped the %d oldest contacts (seq %s..%s), %d dropped in all",
                        self.path, self.max_bytes / 1e6, dropped, first, last, self.dropped)

    # -- outbox for airwatch.bus.base.pump ----------------------------------------------------

    def take(self, n: int) -> list[Outgoing]:
        """Messages for the next contacts not yet handed out on this connection, oldest first.

        Reads up to ``TAKE_ROWS`` contacts and makes one message per kind (more where a kind's
        contacts pass ``MESSAGE_BYTES``), so a busy sensor sends big batches and a quiet one
        sends each contact at once.
        """
        if n <= 0:
            return []
        self.commit()
        rows = self.db.execute("SELECT seq, kind, body FROM contacts WHERE seq > ? ORDER BY seq LIMIT ?",
                               (self._cursor, TAKE_ROWS)).fetchall()
        if not rows:
            self.ready.clear()
            return []
        groups: dict[str, tuple[list[int], list[bytes]]] = {}
        sizes: dict[str, int] = {}
        out: list[Outgoing] = []
        for seq, kind, body in rows:
            seqs, bodies = groups.setdefault(kind, ([], []))
            seqs.append(seq)
            bodies.append(body)
            sizes[kind] = sizes.get(kind, 0) + len(body)
            if sizes[kind] >= MESSAGE_BYTES:
                out.append(self._message(kind, *groups.pop(kind), sizes.pop(kind)))
        out.extend(self._message(kind, seqs, bodies, sizes[kind]) for kind, (seqs, bodies) in groups.items())
        out.sort(key=lambda m: m.keys[0][0])  # the message with the oldest contact leaves first
        self._cursor = rows[-1][0]
        return out

    def _message(self, kind: str, seqs: list[int], bodies: list[bytes], size: int) -> Outgoing:
        return Outgoing(self.topic_for(kind), batch(self.stream, bodies), False, (seqs, size))

    def done(self, msg: Outgoing) -> None:
        seqs, size = msg.keys
        self._acked.extend(seqs)
        if seqs[0] <= self._floor:  # some were dropped (and counted) while in flight
            kept = [s for s in seqs if s > self._floor]
            size, seqs = size * len(kept) // len(seqs), kept
        self.pending -= len(seqs)
        self.bytes -= size + ROW_OVERHEAD * len(seqs)

    def rewind(self) -> None:
        """After a reconnection: everything not acknowledged is due again, oldest first."""
        self.commit()
        self._cursor = 0
        self.ready.set()

    def describe(self) -> str:
        """One line for a task dump: what is waiting, and where the sending stands."""
        return (f"{len(self)} unacknowledged ({self.pending} written, {len(self._buffer)} buffered, "
                f"{len(self._acked)} acknowledged not yet deleted), last seq {self.last_seq}, handed out up to "
                f"{self._cursor}, ready {self.ready.is_set()}, {self.dropped} dropped")

    def __len__(self) -> int:
        """Contacts not yet acknowledged (on disk or about to be)."""
        return self.pending + len(self._buffer)

    def close(self) -> None:
        self.commit()
        self.db.close()


def default_path(spool_dir: str | None, sensor_id: str) -> Path:
    base = Path(spool_dir) if spool_dir else Path("spool")
    return base / (sensor_id.replace(os.sep, "_") or "sensor") / "spool.sqlite"
