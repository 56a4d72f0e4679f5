"""The library's index: one SQLite file a user can open with any SQLite tool (never a pickle).

Tables: `documents` (path, content hash, kind, title, the text every offset points into, pages),
`passages` (document, page, start, end, text, the embedding as little-endian float32, the layout
sqlite-vec reads), `passages_fts` (an FTS5 table over each passage with its document's title,
for BM25), `meta` (schema, encoder) and `skipped` (the last index run's report). Each file goes
in with one transaction, so a kill mid-index leaves every file either wholly in or not at all;
writers take the kit's file lock (qa_kit.cache.locked) so two processes index one after the other,
and readers never wait (write-ahead log).
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..cache import locked
from ..errors import InputError
from .parse import Document, Passage

SCHEMA = 1
BUSY_SECONDS = 30.0  # how long a connection waits for another's write before giving up
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
    kind TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, pages TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, page INTEGER, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, embedding BLOB);
CREATE INDEX IF NOT EXISTS passages_document ON passages(document);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(title, text, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS skipped (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
"""


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored: its id, file, page (1-based or None) and offsets in that file's text."""

    id: int
    path: str
    page: Optional[int]
    start: int
    end: int
    text: str
    title: str = ""


class Store:
    """An open library index at `path` (created when missing)."""

    def __init__(self, path: Path):
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise InputError(f"{self.path} is a folder: give the index a file name, such as {self.path / 'library.sqlite'}.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=BUSY_SECONDS, check_same_thread=False)
            self._use_write_ahead_log()
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_TABLES)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            self.db.commit()
            found = self.meta("schema")
        except sqlite3.DatabaseError as error:
            raise InputError(f"{self.path} is not a library index ({error}): give another path, or delete it to start over.") from None
        if found != str(SCHEMA):
            raise InputError(f"{self.path} is a library index of schema {found}, this kit writes {SCHEMA}: delete it to index again.")

    def _use_write_ahead_log(self) -> None:
        """Switch the file to the write-ahead log. Two connections switching one new file at once can
        deadlock, and SQLite then refuses one at once ("database is locked") instead of waiting: try again."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator["Store"]:
        """Hold the index's writer lock (other processes wait) for a whole index run."""
        with locked(self.path):
            yield self

    def meta(self, key: str) -> Optional[str]:
        """A value from the meta table, or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (its own transaction)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def hashes(self) -> Dict[str, str]:
        """Content hash of every indexed file, by path."""
        return dict(self.db.execute("SELECT path, sha256 FROM documents"))

    def put(self, document: Document, sha256: str, size: int, pieces: Sequence[Passage],
            embeddings: np.ndarray, when: float) -> None:
        """Replace one file's document and passages, all in one transaction."""
        with self.db:
            self._drop(str(document.path))
            cursor = self.db.execute(
                "INSERT INTO documents (path, sha256, bytes, kind, title, text, pages, indexed_at) VALUES (?,?,?,?,?,?,?,?)",
                (str(document.path), sha256, size, document.kind, document.title, document.text,
                 json.dumps(document.pages), when))
            doc_id = cursor.lastrowid
            vectors = np.asarray(embeddings, dtype="<f4")
            for ord_, (piece, vector) in enumerate(zip(pieces, vectors)):
                row = self.db.execute(
                    'INSERT INTO passages (document, ord, page, start, "end", text, embedding) VALUES (?,?,?,?,?,?,?)',
                    (doc_id, ord_, piece.page, piece.start, piece.end, piece.text, vector.tobytes()))
                self.db.execute("INSERT INTO passages_fts (rowid, title, text) VALUES (?,?,?)",
                                (row.lastrowid, document.title, piece.text))
            self.db.execute("DELETE FROM skipped WHERE path = ?", (str(document.path),))

    def _drop(self, path: str) -> None:
        ids = [r[0] for r in self.db.execute("SELECT p.id FROM passages p JOIN documents d ON p.document = d.id WHERE d.path = ?", (path,))]
        self.db.executemany("DELETE FROM passages_fts WHERE rowid = ?", [(i,) for i in ids])
        self.db.execute("DELETE FROM documents WHERE path = ?", (path,))

    def drop(self, paths: Sequence[str]) -> None:
        """Remove files (their documents and passages) from the index, in one transaction."""
        with self.db:
            for path in paths:
                self._drop(path)

    def record_skipped(self, skipped: Sequence[Tuple[str, str]]) -> None:
        """Keep the last run's skipped files and reasons (replacing the previous run's)."""
        with self.db:
            self.db.execute("DELETE FROM skipped")
            self.db.executemany("INSERT OR REPLACE INTO skipped VALUES (?, ?)", skipped)

    def skipped(self) -> List[Tuple[str, str]]:
        """(path, reason) of each file the last index run skipped."""
        return list(self.db.execute("SELECT path, reason FROM skipped ORDER BY path"))

    def documents(self) -> List[Tuple[str, str, str, int, int]]:
        """(path, kind, title, bytes, passages) of every indexed file, by path."""
        return list(self.db.execute(
            "SELECT d.path, d.kind, d.title, d.bytes, COUNT(p.id) FROM documents d LEFT JOIN passages p "
            "ON p.document = d.id GROUP BY d.id ORDER BY d.path"))

    def text(self, path: str) -> Optional[str]:
        """The text a file's offsets point into (None when it is not indexed)."""
        row = self.db.execute("SELECT text FROM documents WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def passages(self, ids: Sequence[int]) -> Dict[int, StoredPassage]:
        """Stored passages by id."""
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT p.id, d.path, p.page, p.start, p."end", p.text, d.title FROM passages p JOIN documents d '
            f"ON p.document = d.id WHERE p.id IN ({marks})", list(ids)) if ids else []
        return {row[0]: StoredPassage(*row) for row in rows}

    def embeddings(self) -> Tuple[np.ndarray, np.ndarray]:
        """(passage ids, their embeddings as one float32 matrix), for dense search."""
        rows = self.db.execute("SELECT id, embedding FROM passages WHERE embedding IS NOT NULL ORDER BY id").fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)

    def match(self, query: str, k: int) -> List[Tuple[int, float]]:
        """(passage id, BM25 score, higher is better) for an FTS5 query, best first."""
        rows = self.db.execute(
            "SELECT rowid, bm25(passages_fts) AS rank FROM passages_fts WHERE passages_fts MATCH ? "
            "ORDER BY rank LIMIT ?", (query, k)).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def check(self) -> str:
        """SQLite's own integrity check: 'ok' when the file is sound."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]
