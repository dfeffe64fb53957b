"""The results registry: every Score ever computed, in a local SQLite database.

One record per *key* ``(model id, model weights sha256, benchmark id, benchmark version,
request, data sha256)``, taken from :attr:`Score.provenance <neuroalign.Score.provenance>`.
``data_sha256`` is the digest of the data the score was computed on (every file of every
dataset the benchmark declares, through the active store; see
:func:`neuroalign.scoring.engine.data_fingerprint`), so a result computed on other data (another
``NEUROALIGN_STORE``, a changed file) is never served and never overwritten; ``""`` for a
benchmark that declares no data (and for records written before schema 3). ``request`` is
``"default"`` for a score with the model's own layer commitments or
layer selection, ``"layers=a,b"`` for one computed on layers the caller forced (``score(...,
layers=[...])``, ``neuroalign score --layer``). Forced-layer records never replace the default
record, and reads (``get``, ``query``, leaderboards) see only default records unless asked. A
record holds the full, lossless Score JSON next to the columns people filter and sort on (value,
raw, ceiling, error, layer, created, ...). Writes are idempotent upserts: scoring the same model on the same benchmark again
overwrites its record, never duplicates it, so a rerun of a model x benchmark grid can skip what
is done (:meth:`ResultsDatabase.has`).

Durability and concurrency
--------------------------
The database runs in WAL mode with ``synchronous=FULL``; each :meth:`~ResultsDatabase.put` is one
``BEGIN IMMEDIATE`` transaction, so a process killed mid-grid loses nothing it already wrote, and
several processes (or threads) may write at once: SQLite serialises the writers and each waits up
to ``timeout`` seconds for the lock. WAL needs a local filesystem (not NFS).

The default location is ``$NEUROALIGN_HOME/results.sqlite`` (``NEUROALIGN_HOME`` defaults to
``~/.cache/neuroalign``); ``NEUROALIGN_RESULTS`` overrides the file path.
"""

from __future__ import annotations

import fnmatch
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NeuroalignError
from ..scores import Score

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = ["COLUMNS", "DEFAULT_REQUEST", "ResultsDatabase", "data_digest", "default_results_path",
           "row_labels"]

#: schema version stored in ``PRAGMA user_version`` (3: the key gained ``data_sha256``)
SCHEMA_VERSION = 3

#: the request of a score computed with the model's own layers (commitment or selection)
DEFAULT_REQUEST = "default"

#: columns of :meth:`ResultsDatabase.query`, in order
COLUMNS: tuple[str, ...] = (
    "model", "weights_hash", "benchmark", "version", "request", "value", "raw", "ceiling",
    "error", "layer", "created", "updated", "neuroalign_version", "seed", "wall_time_s", "host",
    "data_sha256", "data_files", "weights", "data",
)

#: columns read from the table itself (the rest are read from each record's Score JSON)
_STORED_COLUMNS = COLUMNS[:-2]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    model_id           TEXT    NOT NULL,
    weights_hash       TEXT    NOT NULL DEFAULT '',
    benchmark_id       TEXT    NOT NULL,
    benchmark_version  INTEGER NOT NULL DEFAULT 0,
    request            TEXT    NOT NULL DEFAULT 'default',
    data_sha256        TEXT    NOT NULL DEFAULT '',
    value              REAL,
    raw                REAL,
    ceiling            REAL,
    error              REAL,
    layer              TEXT,
    created            TEXT,
    updated            TEXT    NOT NULL,
    neuroalign_version TEXT,
    seed               INTEGER,
    wall_time_s        REAL,
    host               TEXT,
    data_files         TEXT,
    score_json         TEXT    NOT NULL,
    PRIMARY KEY (model_id, weights_hash, benchmark_id, benchmark_version, request, data_sha256)
);
CREATE INDEX IF NOT EXISTS scores_benchmark ON scores (benchmark_id);
"""

_UPSERT = """
INSERT INTO scores (model_id, weights_hash, benchmark_id, benchmark_version, request,
                    data_sha256, value, raw, ceiling, error, layer, created, updated,
                    neuroalign_version, seed, wall_time_s, host, data_files, score_json)
VALUES (:model_id, :weights_hash, :benchmark_id, :benchmark_version, :request, :data_sha256,
        :value, :raw, :ceiling, :error, :layer, :created, :updated, :neuroalign_version, :seed,
        :wall_time_s, :host, :data_files, :score_json)
ON CONFLICT (model_id, weights_hash, benchmark_id, benchmark_version, request, data_sha256)
DO UPDATE SET
    value = excluded.value, raw = excluded.raw, ceiling = excluded.ceiling,
    error = excluded.error, layer = excluded.layer, created = excluded.created,
    updated = excluded.updated, neuroalign_version = excluded.neuroalign_version,
    seed = excluded.seed, wall_time_s = excluded.wall_time_s, host = excluded.host,
    data_files = excluded.data_files, score_json = excluded.score_json
"""

_SELECT = (
    "SELECT model_id, weights_hash, benchmark_id, benchmark_version, request, value, raw, "
    "ceiling, error, layer, created, updated, neuroalign_version, seed, wall_time_s, host, "
    "data_sha256, data_files, score_json FROM scores"
)


def data_digest(files: dict[str, str]) -> str:
    """The results-key digest of ``{file name: sha256}``: sha256 of the sorted ``name sha256``
    lines; ``""`` for no files."""
    import hashlib

    if not files:
        return ""
    text = "".join(f"{name}\t{sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _home() -> Path:
    """``$NEUROALIGN_HOME`` as :mod:`neuroalign.store` resolves it (same rule if it is absent)."""
    try:
        from ..store.assets import home
    except ImportError:
        return Path(os.environ.get("NEUROALIGN_HOME") or "~/.cache/neuroalign").expanduser()
    return Path(home())


def default_results_path() -> Path:
    """``$NEUROALIGN_RESULTS`` if set, else ``$NEUROALIGN_HOME/results.sqlite``."""
    override = os.environ.get("NEUROALIGN_RESULTS")
    if override:
        return Path(override).expanduser()
    return _home() / "results.sqlite"


class ResultsDatabase:
    """Scores keyed by (model, weights hash, benchmark, version, request, data sha256), in SQLite.

    Parameters
    ----------
    path : str or path-like, optional
        Database file; created (with its directory) on first use. Default:
        :func:`default_results_path`. ``":memory:"`` gives a private in-memory database.
    timeout : float
        Seconds a writer waits for another process's write lock before failing.

    Notes
    -----
    Instances are cheap, thread-safe and picklable (the connection is reopened lazily in the new
    process), so they can be shipped to distributed workers.

    Examples
    --------
    >>> results = ResultsDatabase(tmp_path / "results.sqlite")       # doctest: +SKIP
    >>> results.put(score)                                           # doctest: +SKIP
    >>> results.get("timm:resnet18", "MajajHong2015.IT-pls").value   # doctest: +SKIP
    0.53
    >>> results.query(benchmark="MajajHong2015.*")                   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 60.0):
        self.path = Path(path) if path is not None and str(path) != ":memory:" else path
        if self.path is None:
            self.path = default_results_path()
        self.timeout = float(timeout)
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection
    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(
                str(self.path), timeout=self.timeout, isolation_level=None,
                check_same_thread=False,
            )
            connection.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            self._enable_wal(connection)
            connection.execute("PRAGMA synchronous=FULL")
            self._migrate(connection)
        except sqlite3.DatabaseError as error:
            raise NeuroalignError(
                f"cannot open the results database {str(self.path)!r} ({error}); move the file "
                "aside or point NEUROALIGN_RESULTS at another path"
            ) from error
        self._connection, self._pid = connection, os.getpid()
        return connection

    def _enable_wal(self, connection: sqlite3.Connection) -> None:
        """``PRAGMA journal_mode=WAL``, waiting out other processes as the busy timeout does.

        Switching a new database to WAL needs an exclusive lock, and SQLite reports "database is
        locked" at once, without its busy handler, while another connection is opening or
        writing it: retry (the switch is idempotent) until ``timeout``.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    @staticmethod
    def _migrate(connection: sqlite3.Connection) -> None:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this neuroalign understands "
                f"({SCHEMA_VERSION}); upgrade neuroalign"
            )
        if version < SCHEMA_VERSION:
            connection.execute("BEGIN IMMEDIATE")
            try:
                (version,) = connection.execute("PRAGMA user_version").fetchone()  # under lock
                if version in (1, 2):  # the key gained the request (2), the data (3): rebuild
                    connection.execute("DROP INDEX IF EXISTS scores_benchmark")
                    connection.execute(f"ALTER TABLE scores RENAME TO scores_v{version}")
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        connection.execute(statement)
                if version in (1, 2):
                    _copy_old_records(connection, version)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection (it reopens on next use)."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __enter__(self) -> ResultsDatabase:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        if self.path == ":memory:":
            raise TypeError("an in-memory ResultsDatabase cannot be pickled; give it a file path")
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout=state["timeout"])

    def __repr__(self) -> str:
        return f"ResultsDatabase({str(self.path)!r})"

    # ------------------------------------------------------------------ writing
    def put(self, score: Score) -> None:
        """Store ``score``, replacing any record with the same key (an idempotent upsert).

        Raises
        ------
        NeuroalignError
            If ``score.provenance`` lacks ``model_id`` or ``benchmark_id``.
        """
        row = _row(score)
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(_UPSERT, row)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def put_many(self, scores: Iterable[Score]) -> int:
        """Store every Score of ``scores`` in one transaction (all or none); return how many."""
        rows = [_row(score) for score in scores]
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(_UPSERT, rows)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return len(rows)

    def delete(self, model: str = "*", benchmark: str = "*", *, weights_hash: str | None = None,
               version: int | None = None, request: str = "*") -> int:
        """Delete the records matching the fnmatch patterns (every request and data by default);
        return how many were deleted."""
        keys = [
            (r["model"], r["weights_hash"] or "", r["benchmark"], r["version"] or 0, r["request"],
             r["data_sha256"] or "")
            for r in self._rows(model, benchmark, weights_hash=weights_hash, version=version,
                                request=request)
        ]
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "DELETE FROM scores WHERE model_id=? AND weights_hash=? AND benchmark_id=? "
                    "AND benchmark_version=? AND request=? AND data_sha256=?", keys,
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return len(keys)

    # ------------------------------------------------------------------ reading
    def get(self, model_id: str, benchmark_id: str, *, weights_hash: str | None = None,
            version: int | None = None, request: str = DEFAULT_REQUEST,
            data_sha256: str | None = None) -> Score | None:
        """The stored Score, or ``None``.

        Without ``version`` the highest stored benchmark version is returned; without
        ``weights_hash`` (or ``data_sha256``), the most recently written record among the
        model's weights (or the data it was computed on).
        ``request``: ``"default"`` (the model's own layers) or e.g. ``"layers=layer3"``.
        """
        where = ["model_id = ?", "benchmark_id = ?", "request = ?"]
        args: list[Any] = [model_id, benchmark_id, request]
        if data_sha256 is not None:
            where.append("data_sha256 = ?")
            args.append(data_sha256)
        if weights_hash is not None:
            where.append("weights_hash = ?")
            args.append(weights_hash)
        if version is not None:
            where.append("benchmark_version = ?")
            args.append(int(version))
        sql = (f"SELECT score_json FROM scores WHERE {' AND '.join(where)} "
               "ORDER BY benchmark_version DESC, updated DESC LIMIT 1")
        with self._lock:
            found = self._connect().execute(sql, args).fetchone()
        return None if found is None else Score.from_json(found[0])

    def has(self, model_id: str, benchmark_id: str, *, weights_hash: str | None = None,
            version: int | None = None, request: str = DEFAULT_REQUEST,
            data_sha256: str | None = None) -> bool:
        """Whether :meth:`get` would find a record."""
        return self.get(model_id, benchmark_id, weights_hash=weights_hash, version=version,
                        request=request, data_sha256=data_sha256) is not None

    def scores(self, model: str = "*", benchmark: str = "*",
               request: str = DEFAULT_REQUEST) -> Iterator[Score]:
        """Every stored Score whose model and benchmark ids (and request) match the fnmatch
        patterns; ``request="*"`` includes forced-layer records."""
        sql = ("SELECT model_id, benchmark_id, request, score_json FROM scores "
               "ORDER BY model_id, benchmark_id, request")
        with self._lock:
            rows = self._connect().execute(sql).fetchall()
        for model_id, benchmark_id, stored_request, text in rows:
            if (fnmatch.fnmatchcase(model_id, model)
                    and fnmatch.fnmatchcase(benchmark_id, benchmark)
                    and fnmatch.fnmatchcase(stored_request, request)):
                yield Score.from_json(text)

    def _rows(self, model: str = "*", benchmark: str = "*", *, weights_hash: str | None = None,
              version: int | None = None,
              request: str = DEFAULT_REQUEST) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connect().execute(
                _SELECT + " ORDER BY model_id, benchmark_id, benchmark_version, weights_hash"
            ).fetchall()
        out = []
        for row in rows:
            record = dict(zip(_STORED_COLUMNS, row[:-1]))
            if not (fnmatch.fnmatchcase(record["model"], model)
                    and fnmatch.fnmatchcase(record["benchmark"], benchmark)
                    and fnmatch.fnmatchcase(record["request"], request)):
                continue
            if weights_hash is not None and record["weights_hash"] != weights_hash:
                continue
            if version is not None and record["version"] != int(version):
                continue
            record["weights"], record["data"] = _identity(row[-1], record["weights_hash"])
            record["weights_hash"] = record["weights_hash"] or None
            record["version"] = record["version"] or None
            record["data_sha256"] = record["data_sha256"] or None
            record["data_files"] = _files(record["data_files"])
            out.append(record)
        return out

    def query(self, model: str = "*", benchmark: str = "*",
              request: str = DEFAULT_REQUEST) -> pd.DataFrame:
        """A tidy table: one row per record matching the fnmatch patterns.

        Only default records (the model's own layers) unless ``request`` says otherwise
        (``"*"``: every record, forced-layer ones too; ``"layers=*"``: only those).
        Columns are :data:`COLUMNS`: ``model``, ``weights_hash``, ``benchmark``, ``version``,
        ``request``, ``value`` (ceiled), ``raw``, ``ceiling``, ``error``, ``layer`` (chosen
        layer), ``created`` (when the score was computed), ``updated`` (when it was written),
        provenance details, ``data_sha256`` (digest of the data; None: not known),
        ``data_files`` (file -> sha256 of the data the score was computed on), ``weights`` (which
        weights, in words: ``"pretrained:<tag> 1a2b3c4d"``,
        ``"random 1a2b3c4d"``, ``"weights 1a2b3c4d"``; see
        :func:`neuroalign.scoring.engine.weights_label`) and ``data`` (``"real"``,
        ``"synthetic <store>"``, ``"store <store>"``, or ``"unknown"`` for records written before
        neuroalign recorded it).
        """
        import pandas as pd

        frame = pd.DataFrame(self._rows(model, benchmark, request=request),
                             columns=list(COLUMNS))
        for column in ("value", "raw", "ceiling", "error", "wall_time_s"):
            frame[column] = frame[column].astype("float64")
        frame["version"] = frame["version"].astype("Int64")
        frame["seed"] = frame["seed"].astype("Int64")
        return frame

    def to_xarray(self, model: str = "*", benchmark: str = "*") -> xr.DataArray:
        """Default records' ceiled values as a ``model x benchmark`` DataArray (NaN where nothing
        is stored).

        One row per model *and* what it was scored with: records of one model with different
        weights (pretrained, random, another checkpoint) or data (real, synthetic) are never
        mixed in one row. A model scored with one identity only keeps its id as the row label;
        otherwise each row is labelled ``"<model> [<weights>, <data>]"``. The ``model_id``,
        ``weights`` and ``data`` coordinates (along ``model``) name each row's parts. Among
        records of the same row and benchmark, the highest benchmark version, then the most
        recently written record, is used.
        """
        import numpy as np
        import xarray as xr

        frame = self.query(model, benchmark)
        frame = frame.sort_values(["version", "updated"]).drop_duplicates(
            ["model", "weights", "data", "benchmark"], keep="last"
        )
        frame["row"] = row_labels(frame)
        table = frame.pivot(index="row", columns="benchmark", values="value")
        errors = frame.pivot(index="row", columns="benchmark", values="error")
        errors = errors.reindex(index=table.index, columns=table.columns)
        parts = frame.drop_duplicates("row").set_index("row").reindex(table.index)
        return xr.DataArray(
            np.asarray(table.to_numpy(dtype="float64")),
            dims=("model", "benchmark"),
            coords={"model": list(table.index), "benchmark": list(table.columns),
                    "model_id": ("model", list(parts["model"])),
                    "weights": ("model", list(parts["weights"])),
                    "data": ("model", list(parts["data"])),
                    "error": (("model", "benchmark"), errors.to_numpy(dtype="float64"))},
            name="score",
        )

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM scores").fetchone()[0])


def _identity(score_json: str, weights_hash: str | None) -> tuple[str, str]:
    """``(weights, data)`` in words from a record's Score JSON (see :meth:`ResultsDatabase.query`)."""
    import json

    provenance = json.loads(score_json).get("provenance") or {}
    weights = provenance.get("weights")
    if not weights:
        weights = f"unknown {weights_hash[:8]}" if weights_hash else "unknown"
    return weights, provenance.get("data_source") or "unknown"


def row_labels(frame: pd.DataFrame) -> list[str]:
    """One label per row of a results table (``model``, ``weights``, ``data`` columns): the model
    id when the table holds that model with one (weights, data) identity only, else
    ``"<model> [<weights>, <data>]"``, so different weights or data never share a label."""
    identities = frame.groupby("model")[["weights", "data"]].apply(
        lambda group: len(group.drop_duplicates())) if len(frame) else {}
    return [model if identities[model] == 1 else f"{model} [{weights}, {data}]"
            for model, weights, data in zip(frame["model"], frame["weights"], frame["data"])]


def _row(score: Score) -> dict[str, Any]:
    if not isinstance(score, Score):
        raise NeuroalignError(
            f"ResultsDatabase.put needs a neuroalign.Score; found {type(score).__name__}"
        )
    prov = score.provenance
    missing = [name for name in ("model_id", "benchmark_id") if not getattr(prov, name)]
    if missing:
        raise NeuroalignError(
            f"cannot store a Score without provenance.{' and provenance.'.join(missing)} "
            f"(the results key); found provenance {prov.model_dump(exclude_defaults=True)}; "
            "set them, e.g. score.provenance.model_id = 'timm:resnet18'"
        )
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    import json

    return {
        "model_id": prov.model_id,
        "weights_hash": prov.model_weights_sha256 or "",
        "benchmark_id": prov.benchmark_id,
        "benchmark_version": int(prov.benchmark_version or 0),
        "request": _request_of(score),
        "data_sha256": prov.data_sha256 or "",
        "data_files": json.dumps(prov.dataset_sha256, sort_keys=True),
        "value": score.value,
        "raw": score.raw,
        "ceiling": score.ceiling,
        "error": score.error,
        "layer": score.layer,
        "created": prov.created or now,
        "updated": now,
        "neuroalign_version": prov.neuroalign_version,
        "seed": prov.seed,
        "wall_time_s": prov.wall_time_s,
        "host": prov.host,
        "score_json": score.to_json(),
    }


def _request_of(score: Score) -> str:
    return score.provenance.request


def _files(text: str | None) -> dict[str, str]:
    import json

    try:
        files = json.loads(text) if text else {}
    except ValueError:
        return {}
    return files if isinstance(files, dict) else {}


def _copy_old_records(connection: sqlite3.Connection, version: int) -> None:
    """Schema 1 or 2 -> 3: every record keeps its columns; schema-1 records get the request
    their Score JSON names. Old records' data is unknown (``data_sha256 = ""``): they are shown,
    but never served for a benchmark that declares data."""
    import json

    columns = ("model_id, weights_hash, benchmark_id, benchmark_version, value, raw, ceiling, "
               "error, layer, created, updated, neuroalign_version, seed, wall_time_s, host, "
               "score_json")
    extra = ", request" if version == 2 else ""
    rows = connection.execute(f"SELECT {columns}{extra} FROM scores_v{version}").fetchall()
    for row in rows:
        score = json.loads(row[15])
        if version == 2:
            request = row[16]
        else:
            attrs = score.get("attrs") or {}
            request = attrs.get("request") or DEFAULT_REQUEST  # schema-1 kept it in attrs
        files = (score.get("provenance") or {}).get("dataset_sha256") or {}
        connection.execute(
            f"INSERT INTO scores ({columns}, request, data_sha256, data_files) "
            f"VALUES ({', '.join('?' * 19)})",
            (*row[:16], request, "", json.dumps(files, sort_keys=True)),
        )
    connection.execute(f"DROP TABLE scores_v{version}")
