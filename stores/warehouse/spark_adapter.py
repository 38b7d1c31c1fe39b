"""The Spark adapter: the warehouse as Parquet tables in a lake, queried by a local Spark session (the ingestion and
the dead-letter replay run on it; dbt builds on it through pipelines/dbt_spark.py, which `publish`es what it built).

`spark://local?lake=/abs/dir` runs Spark in this process (pyspark's own jars, Java 17) over the lake `dir`; the
settings give `$PATRONAGE_DATA_DIR/lake` (api/settings.py). `spark://HOST:PORT?lake=/abs/dir` makes this process the
driver of a Spark standalone cluster whose master listens there: its executors do the work, so the lake must be a
path every worker sees at the same place (a shared filesystem), and their Python the driver's (`PYSPARK_PYTHON`);
`cores` caps what the session takes of the cluster (`spark.cores.max`).

The catalog is the lake itself. Spark's embedded Derby metastore admits one process at a time (a second one fails
with "Another instance of Derby may have already booted the database"), and the pipeline, dbt and an analyst's
reader are three processes; so the session keeps an in-memory catalog, and every process that opens the lake
registers its tables from `_catalog.json`, which names each table's current snapshot (dbt's tables too, their
columns read from their files: `register_published`):

    <lake>/_catalog.json                       {"tables": {"raw.events": "s-<time>-<pid>-<random>", ...}}
    <lake>/raw/events/s-…/event_date=…/*.parquet   one directory per snapshot; raw.events partitioned by event date

How a write commits, since Spark has no multi-statement transactions over plain Parquet:
1. The first write to a table in a transaction makes its next snapshot: a new directory holding hard links to the
   current snapshot's files (or nothing, for `delete from T`), and re-points this session's table there, so the
   transaction reads its own writes; other processes still read the current snapshot, untouched.
2. Writes add Parquet files to that new directory only, after the adapter checked what the engines' DDL would:
   NOT NULL columns and primary keys (`on conflict do nothing` drops the rows whose key is there already). A
   `delete … where` (and `upsert`, a delete then an append) unlinks there the files holding a matching row and
   writes their other rows anew: copy on write, a file at a time; the files it does not touch stay links. The port's
   `mark` (set columns on the rows of some keys) rewrites the files holding one of those rows the same way, with
   every row of the file, the marked ones changed.
3. Commit rewrites `_catalog.json` atomically (a temporary file, then `os.replace`) under a file lock, after checking
   that no other writer committed one of the same tables meanwhile: every table of the transaction appears at once,
   or none does. Rollback re-points the session and removes the new directories.
4. A run killed at any point leaves only directories that `_catalog.json` does not name; the next commit to their
   table removes those whose process is gone. The snapshot before the current one is kept for readers still on it.

Hard links make a snapshot cheap on a local disk; on object storage the same contract needs a table format (Delta
Lake or Iceberg, whose jars cannot come from PyPI here): the next increment's decision.

The ingestion's `create temp table X as <query>` is a session temp view of the query's rows, computed once (as the
engines' temp table is), and `drop table X` drops it.

What the port's contract asks and the adapter cannot do yet raises NotSupportedOnSpark ("not supported on Spark yet:
…") rather than doing something weaker: statements given to `run` that write other than `insert into T …` or
`delete from T [where …]` (`update`: the port's `mark` sets columns on rows by their key, `on conflict … do update`:
the port's `upsert` replaces rows by their key, DDL on the lake's tables), and two open warehouses in one process
(they would share the session's catalog).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from stores.files import abandoned, owner_tag
from stores.warehouse.port import Warehouse, schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SCHEME = "spark"
CATALOG = "_catalog.json"
SPOOL = "_spool"  # files being bulk-loaded, each run's in a directory of its own (Warehouse.spool_root)
SPARK_TYPES = {"varchar": "string", "json": "string", "timestamptz": "timestamp", "bigint": "bigint", "date": "date"}
# Where partitioning helps: the events, by the UTC date they occurred (a column of its own: Spark partitions by
# columns, and plain Parquet has no generated ones).
PARTITIONS = {"raw.events": ("event_date", "cast(occurred_at as date)")}
_CREATE_TABLE = re.compile(r"create table if not exists (\w+\.\w+) \((.*)\)", re.DOTALL | re.IGNORECASE)
_CREATE_SCHEMA = re.compile(r"create schema if not exists (\w+)", re.IGNORECASE)
_INSERT = re.compile(r"insert into (\w+\.\w+)\s*(?:\(([\w\s,]+)\))?\s+(.*)", re.DOTALL | re.IGNORECASE)
# These two match the statement as written: a `--` comment in it ends at its line's end.
_DELETE = re.compile(r"delete\s+from\s+(\w+\.\w+)(?:\s+where\s+(.*))?", re.DOTALL | re.IGNORECASE)
_CREATE_TEMP = re.compile(r"create\s+temp(?:orary)?\s+table\s+(\w+)\s+as\s+(.*)", re.DOTALL | re.IGNORECASE)
_DROP_TEMP = re.compile(r"drop table (?:if exists )?(\w+)", re.IGNORECASE)
_READS = ("select", "with", "values", "show", "describe", "explain", "set", "reset", "cache", "uncache", "refresh")


class SparkWarehouseError(RuntimeError):
    """A statement Spark refused, or a write the adapter refused (a null in a NOT NULL column, a duplicate key)."""


class SparkMissingRelation(SparkWarehouseError):
    """A table or view that does not exist (a mart not built yet)."""


class NotSupportedOnSpark(SparkWarehouseError):
    def __init__(self, what: str) -> None:
        super().__init__(f"not supported on Spark yet: {what}")


@dataclass(frozen=True)
class Table:
    """One of the ingestion's tables, as port.schema() declares it."""

    name: str
    columns: dict[str, str]  # column -> the port's type
    not_null: frozenset[str]
    key: tuple[str, ...]
    partition: tuple[str, str] | None = None  # (column, its expression) added after the port's columns

    def ddl(self, location: Path) -> str:
        columns = [f"{name} {SPARK_TYPES[kind]}" for name, kind in self.columns.items()]
        partitioned = ""
        if self.partition:
            columns.append(f"{self.partition[0]} date")
            partitioned = f" partitioned by ({self.partition[0]})"
        return f"create table {self.name} ({', '.join(columns)}) using parquet{partitioned} location '{location}'"


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def _table(name: str, body: str) -> Table:
    columns: dict[str, str] = {}
    not_null: set[str] = set()
    key: tuple[str, ...] = ()
    for item in _split_top_level(body):
        words = item.lower().split()
        if words[:2] == ["primary", "key"]:
            key = tuple(column.strip() for column in item[item.index("(") + 1 : item.rindex(")")].split(","))
            continue
        column, kind, rest = words[0], words[1], " ".join(words[2:])
        if kind not in SPARK_TYPES or rest not in ("", "not null", "primary key"):
            raise NotSupportedOnSpark(f"column {name}.{column} declared as {item!r}")
        columns[column] = kind
        if rest:
            not_null.add(column)
        if rest == "primary key":
            key = (column,)
    return Table(name, columns, frozenset(not_null | set(key)), key, PARTITIONS.get(name))


def tables() -> tuple[list[str], dict[str, Table]]:
    """The schemas and tables of port.schema(), read from its DDL: one declaration for every engine."""
    schemas, found = [], {}
    for statement in schema({"zstd": "", "plain": ""}):
        text = " ".join(statement.split())
        if made := _CREATE_SCHEMA.fullmatch(text):
            schemas.append(made.group(1))
        elif made := _CREATE_TABLE.fullmatch(text):
            found[made.group(1)] = _table(made.group(1), made.group(2))
        else:
            raise NotSupportedOnSpark(f"the statement {text[:60]!r}")
    return schemas, found


def lake_of(url: str) -> Path:
    """The lake of a `spark://local?lake=…` or `spark://HOST:PORT?lake=…` URL."""
    lake = parse_qs(urlsplit(url).query).get("lake", [""])[-1]
    if not lake or not Path(lake).is_absolute():
        raise SparkWarehouseError(f"{url} needs its lake as an absolute path: spark://local?lake=/path/to/lake")
    return Path(lake)


def master_of(url: str) -> tuple[str, dict[str, str]]:
    """Spark's master for `url` and the session settings it needs: `local[cores]` in this process, or the cluster's
    `spark://HOST:PORT` with `cores` as the most the session may take."""
    parts = urlsplit(url)
    cores = parse_qs(parts.query).get("cores", ["*"])[-1]
    if parts.netloc == "local":
        return f"local[{cores}]", {}
    if not parts.hostname or parts.port is None:
        raise SparkWarehouseError(f"{url}: a Spark master is spark://local or spark://HOST:PORT")
    return f"spark://{parts.netloc}", ({} if cores == "*" else {"spark.cores.max": cores})


def _catalog(lake: Path) -> dict[str, str]:
    try:
        return dict(json.loads((lake / CATALOG).read_text())["tables"])
    except FileNotFoundError:
        return {}


def _snapshot_id() -> str:
    """`s-<ns>-<pid>@<host>-<random>`: a snapshot names the process that writes it, so that a lake several machines
    share has each sweep only its own processes' leftovers (stores/files.py `abandoned`)."""
    return f"s-{time.time_ns()}-{owner_tag()}-{uuid.uuid4().hex[:8]}"


def writer(name: str) -> str:
    """The `<pid>@<host>` (or, named by an earlier version, the bare `<pid>`) of the process that wrote the directory
    `name`, a snapshot or a dbt build named like one; "" for a name of another kind."""
    parts = name.split("-", 2)
    return parts[2].rsplit("-", 1)[0] if len(parts) == 3 else ""


@contextmanager
def _locked(lake: Path) -> Iterator[None]:
    with (lake / "_catalog.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class _Staged:
    base: str | None  # the snapshot the transaction started from (None: the table is new)
    snapshot: str


class SparkWarehouse(Warehouse):
    engine = "spark"
    errors = (SparkWarehouseError,)
    missing_relation = (SparkMissingRelation,)
    bulk_format = "json"  # Spark's JSON reader takes the spool as DuckDB's does

    def __init__(self, session: SparkSession, lake: Path, tables: dict[str, Table]) -> None:
        self.session = session
        self.lake = lake
        self.tables = tables
        self._staged: dict[str, _Staged] | None = None  # table -> its next snapshot, inside `transaction()`

    def spool_root(self) -> Path:
        """Under the lake (made by `connect`): on a cluster the executors read the spool files, and the lake is the
        path they all see."""
        return self.lake / SPOOL

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> DataFrame:
        with _spark_errors():
            return self.session.sql(sql, args=list(params) if params else None)

    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = self._sql(sql, params)
        with _spark_errors():
            found = frame.collect()
        # pyspark hands timestamps over as naive local times; the port gives aware UTC ones, as DuckDB does.
        stamps = [field.dataType.typeName() == "timestamp" for field in frame.schema.fields]
        rows = [
            tuple(
                value.astimezone(UTC) if stamp and value is not None else value
                for value, stamp in zip(row, stamps, strict=True)
            )
            for row in found
        ]
        return list(frame.columns), rows

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.columns_and_rows(sql, params)[1]

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        text = " ".join(sql.split())
        if inserted := _INSERT.fullmatch(text):
            table, names, query = inserted.groups()
            if re.search(r"\bon conflict\b", query, re.IGNORECASE):
                raise NotSupportedOnSpark(f"`on conflict` in {text[:80]!r}")
            columns = [name.strip() for name in names.split(",")] if names else list(self._table(table).columns)
            with _spark_errors():
                frame = self._sql(query, params).toDF(*columns)
            self._append(table, frame)
        elif deleted := _DELETE.fullmatch(sql.strip()):
            table, condition = deleted.groups()
            if condition is None and not params:
                with self._writing():
                    self._next_snapshot(table, keep_rows=False)
            else:
                self._rewrite_where(table, condition or "true", params)
        elif temporary := _CREATE_TEMP.fullmatch(sql.strip()):
            # A session temp view of the query's rows, computed once: later writes to its sources do not change it,
            # as they would not change the engines' temp table.
            name, query = temporary.groups()
            with _spark_errors():
                self._sql(query, params).localCheckpoint().createOrReplaceTempView(name)
        elif (dropped := _DROP_TEMP.fullmatch(text)) and not params:
            with _spark_errors():
                self.session.catalog.dropTempView(dropped.group(1))
        elif text.split(" ", 1)[0].lower() in _READS:
            with _spark_errors():
                self._sql(sql, params).collect()
        else:
            raise NotSupportedOnSpark(f"the statement {text[:80]!r} (Parquet tables change only by insert or delete)")

    def load_json_lines(
        self, table: str, columns: dict[str, str], paths: Sequence[Path], *, on_conflict_do_nothing: bool = False
    ) -> None:
        if not paths:
            return
        from pyspark.sql.types import StringType, StructField, StructType

        # Every field read as text (a JSON object's own text for `json` columns), then cast as the engines do.
        text = StructType([StructField(name, StringType()) for name in columns])
        with _spark_errors():
            frame = self.session.read.schema(text).option("mode", "FAILFAST").json([str(path) for path in paths])
            frame = frame.selectExpr(
                *[
                    name if kind in ("varchar", "json") else f"cast({name} as {SPARK_TYPES[kind]}) as {name}"
                    for name, kind in columns.items()
                ]
            )
        self._append(table, frame, on_conflict_do_nothing=on_conflict_do_nothing)

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """The rows with these keys deleted, then the rows appended: one transaction, as one statement is."""
        if not rows:
            return
        positions = [list(columns).index(column) for column in key]
        matches = " or ".join(f"({' and '.join(f'{column} = ?' for column in key)})" for _ in rows)
        with self._writing():
            self._rewrite_where(table, matches, [row[at] for row in rows for at in positions])
            kinds = self._table(table).columns
            self.load_rows(table, {column: kinds[column] for column in columns}, [tuple(row) for row in rows])

    def mark(self, table: str, key: str, keys: Sequence[Any], values: Mapping[str, Any]) -> None:
        """The files holding a row with one of `keys` rewritten with `values` set on those rows (copy on write, as a
        delete). The keys go to Spark as a table of their own: a statement of 20,000 `?` took Spark 10 s to parse."""
        if not keys or not values:
            return
        kinds = self._table(table).columns
        if key not in kinds:
            raise SparkWarehouseError(f"{table} has no column {key}")
        view = f"marked_keys_{uuid.uuid4().hex[:8]}"
        with _spark_errors():
            listed = self.session.createDataFrame([(one,) for one in keys], f"{key} {SPARK_TYPES[kinds[key]]}")
            listed.createOrReplaceTempView(view)
        try:
            self._rewrite_where(table, f"{key} in (select {key} from {view})", (), values)  # noqa: S608 (our names)
        finally:
            self.session.catalog.dropTempView(view)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._staged is not None:
            raise SparkWarehouseError("a transaction is already open on this warehouse")
        self._staged = {}
        try:
            yield
            self._commit(self._staged)
        except BaseException:
            for name, staged in self._staged.items():
                if staged.base is not None:
                    self._point(name, staged.base)
                shutil.rmtree(self._directory(name, staged.snapshot), ignore_errors=True)
            raise
        finally:
            self._staged = None

    def table_exists(self, schema: str, name: str) -> bool:
        with _spark_errors():
            return bool(self.session.catalog.tableExists(f"{schema}.{name}"))

    # The commit protocol (the module's docstring).

    def _table(self, name: str) -> Table:
        found = self.tables.get(name.lower())
        if found is None:
            raise NotSupportedOnSpark(f"writing {name}, which is not one of the ingestion's tables")
        return found

    def _directory(self, table: str, snapshot: str) -> Path:
        return self.lake.joinpath(*table.split("."), snapshot)

    def _point(self, table: str, snapshot: str) -> None:
        with _spark_errors():
            self.session.sql(f"alter table {table} set location '{self._directory(table, snapshot)}'")
            self.session.catalog.refreshTable(table)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write outside `transaction()` is a transaction of its own."""
        if self._staged is not None:
            yield
        else:
            with self.transaction():
                yield

    def _next_snapshot(self, table: str, *, keep_rows: bool = True) -> Path:
        assert self._staged is not None
        staged = self._staged.get(table)
        if staged is not None and keep_rows:
            return self._directory(table, staged.snapshot)
        base = staged.base if staged else _catalog(self.lake).get(table)
        snapshot = _snapshot_id()
        target = self._directory(table, snapshot)
        target.mkdir(parents=True)
        if keep_rows and base is not None:
            source = self._directory(table, base)
            for path in source.rglob("*.parquet"):
                linked = target / path.relative_to(source)
                linked.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, linked)
        if staged is not None:
            shutil.rmtree(self._directory(table, staged.snapshot), ignore_errors=True)
        self._staged[table] = _Staged(base, snapshot)
        self._point(table, snapshot)
        return target

    def _append(self, name: str, frame: DataFrame, *, on_conflict_do_nothing: bool = False) -> None:
        from pyspark.sql import functions

        table = self._table(name)
        unknown = set(frame.columns) - set(table.columns)
        if unknown:
            raise SparkWarehouseError(f"{name} has no column {', '.join(sorted(unknown))}")
        with _spark_errors():
            frame = frame.select(
                *[
                    functions.col(column).cast(SPARK_TYPES[kind])
                    if column in frame.columns
                    # a column not given is null, as in the engines' INSERT
                    else functions.lit(None).cast(SPARK_TYPES[kind]).alias(column)
                    for column, kind in table.columns.items()
                ]
            )
            if table.partition:
                frame = frame.withColumn(table.partition[0], functions.expr(table.partition[1]))
            with self._writing():
                existing = self.session.table(name)
                if table.key and on_conflict_do_nothing:
                    frame = frame.dropDuplicates(list(table.key)).join(existing, list(table.key), "left_anti")
                frame = frame.localCheckpoint()  # judged once, then written: the checks and the write see one set
                self._check(table, frame, existing)
                frame.write.mode("append").parquet(str(self._next_snapshot(name)), partitionBy=_partition(table))
                self.session.catalog.refreshTable(name)  # the session listed the snapshot's files before these

    def _rewrite_where(
        self, name: str, condition: str, params: Sequence[Any], values: Mapping[str, Any] | None = None
    ) -> None:
        """Copy on write, a file at a time: the next snapshot keeps every file without a matching row as it is (a
        hard link) and has each file with one rewritten, without its matching rows (a delete) or with `values` set on
        them (`mark`)."""
        from pyspark.sql import functions

        table = self._table(name)
        unknown = set(values or {}) - set(table.columns)
        if unknown:
            raise SparkWarehouseError(f"{name} has no column {', '.join(sorted(unknown))}")

        def marking() -> DataFrame:
            return self._sql(
                f"select *, _metadata.file_path as _file, coalesce({condition}, false) as _matched from {name}",  # noqa: S608
                params,
            )

        with _spark_errors():
            if not marking().where("_matched").limit(1).collect():
                return  # nothing matches: no new snapshot
        with self._writing():
            target = self._next_snapshot(name)
            with _spark_errors():
                marked = marking()
                touched = [row[0] for row in marked.where("_matched").select("_file").distinct().collect()]
                if not touched:
                    return
                rewritten = marked.where(functions.col("_file").isin(touched))
                if values is None:
                    rewritten = rewritten.where(~functions.col("_matched"))
                else:
                    rewritten = rewritten.select(
                        *[
                            functions.when(
                                functions.col("_matched"), functions.lit(values[column]).cast(SPARK_TYPES[kind])
                            )
                            .otherwise(functions.col(column))
                            .alias(column)
                            if column in values
                            else functions.col(column)
                            for column, kind in table.columns.items()
                        ],
                    )
                    if table.partition:  # from the values set, should they change it
                        rewritten = rewritten.withColumn(table.partition[0], functions.expr(table.partition[1]))
                rewritten = rewritten.drop("_file", "_matched").localCheckpoint()  # read before its files go
                if values is not None and set(values) & (table.not_null | set(table.key)):
                    untouched = marked.where(~functions.col("_file").isin(touched)).drop("_file", "_matched")
                    self._check(table, rewritten, untouched)
            for uri in touched:
                path = Path(unquote(urlsplit(uri).path))
                if not path.resolve().is_relative_to(target.resolve()):
                    raise SparkWarehouseError(f"{name}: {path} is outside the snapshot being written ({target})")
                path.unlink()
            with _spark_errors():
                rewritten.write.mode("append").parquet(str(target), partitionBy=_partition(table))
                self.session.catalog.refreshTable(name)

    def _check(self, table: Table, frame: DataFrame, existing: DataFrame) -> None:
        from pyspark.sql import functions

        nulls = frame.select(
            *(functions.count_if(functions.col(column).isNull()).alias(column) for column in sorted(table.not_null))
        ).first()
        for column in sorted(table.not_null):
            if nulls and nulls[column]:
                raise SparkWarehouseError(f"null value in column {column!r} of {table.name} violates not-null")
        if table.key:
            key = list(table.key)
            duplicated = frame.select(key).unionByName(existing.select(key)).groupBy(key).count().where("count > 1")
            clash = duplicated.first()
            if clash is not None:
                raise SparkWarehouseError(f"duplicate key {tuple(clash[:-1])} violates {table.name}'s primary key")

    def _commit(self, staged: dict[str, _Staged]) -> None:
        _commit(self.lake, staged)


def _commit(lake: Path, staged: dict[str, _Staged]) -> None:
    """Every table of `staged` at its new snapshot in `_catalog.json` at once, unless another writer moved one."""
    if not staged:
        return
    with _locked(lake):
        current = _catalog(lake)
        moved = [name for name, one in staged.items() if current.get(name) != one.base]
        if moved:
            raise SparkWarehouseError(f"another writer committed {', '.join(moved)} meanwhile: run again")
        previous = dict(current)
        current.update({name: one.snapshot for name, one in staged.items()})
        pending = lake / f"{CATALOG}.{uuid.uuid4().hex[:8]}.tmp"
        with pending.open("w") as handle:
            json.dump({"tables": current, "previous": previous}, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pending, lake / CATALOG)
    for name, one in staged.items():
        _remove_unreferenced(lake, name, keep={one.snapshot, one.base or ""})


def publish(lake: Path, built: Mapping[str, Path]) -> None:
    """Tables written elsewhere on the lake's disk (dbt's build directory: `schema.table` -> its directory of Parquet
    files) as their tables' next snapshots, all committed at once: readers see the previous ones until then."""
    staged: dict[str, _Staged] = {}
    current = _catalog(lake)
    try:
        for name, folder in built.items():
            one = staged[name] = _Staged(current.get(name), _snapshot_id())
            target = lake.joinpath(*name.split("."), one.snapshot)
            target.parent.mkdir(parents=True, exist_ok=True)
            folder.rename(target)  # one rename per table: the same disk, nothing copied
        _commit(lake, staged)
    except BaseException:
        for name, one in staged.items():
            shutil.rmtree(lake.joinpath(*name.split("."), one.snapshot), ignore_errors=True)
        raise


def _forget_other_lakes(spark: SparkSession) -> None:
    """The tables a lake opened earlier in this process registered (all external: dropping one leaves its files), so
    that a lake shows its own tables only, never another's mart of the same name."""
    for database in spark.catalog.listDatabases():
        for table in spark.catalog.listTables(database.name):
            if table.tableType == "EXTERNAL":
                spark.sql(f"drop table if exists {database.name}.{table.name}")


def register_published(spark: SparkSession, lake: Path, skip: Iterable[str] = ()) -> list[str]:
    """The lake's other tables (dbt's, published by `publish`) in this session's catalog at their committed
    snapshots, their columns read from their Parquet files; those in `skip` left as they are."""
    registered = []
    for name, snapshot in sorted(_catalog(lake).items()):
        if name in set(skip):
            continue
        location = lake.joinpath(*name.split("."), snapshot)
        with _spark_errors():
            spark.sql(f"create database if not exists {name.split('.')[0]}")
            spark.sql(f"drop table if exists {name}")
            spark.sql(f"create table {name} using parquet location '{location}'")
        registered.append(name)
    return registered


def _partition(table: Table) -> list[str] | None:
    return [table.partition[0]] if table.partition else None


def _remove_unreferenced(lake: Path, table: str, keep: set[str]) -> None:
    """Snapshots other than `keep`, unless a live process (or another machine's) is still writing one."""
    folder = lake.joinpath(*table.split("."))
    for snapshot in folder.glob("s-*") if folder.is_dir() else ():
        if snapshot.name in keep:
            continue
        tag = writer(snapshot.name)
        if tag == owner_tag() or abandoned(tag):  # this process's rolled back, or a killed run's of this machine
            shutil.rmtree(snapshot, ignore_errors=True)


@contextmanager
def _spark_errors() -> Iterator[None]:
    """Spark's exceptions as the port's: the callers catch `errors` and `missing_relation` whatever the engine."""
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as error:
        if error.getCondition() in ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND"):
            raise SparkMissingRelation(str(error)) from error
        raise SparkWarehouseError(str(error)) from error
    except Py4JError as error:
        raise SparkWarehouseError(str(error)) from error


_open: list[Path] = []  # the lake this process has open: one, since the session's catalog is shared


def session(cores: str = "*", *, master: str | None = None, settings: dict[str, str] | None = None) -> SparkSession:
    """The process's Spark session: started once (about 10 s), then reused by every open of a lake. Local on `cores`
    unless a `master` (and its `settings`: `master_of`) is given."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if master is None or master.startswith("local"):
        # One machine's few cores: a shuffle in 2 partitions, not Spark's 200. A cluster keeps its own setting
        # (spark-defaults.conf: a few per executor core, bench/README.md "Spark on a cluster").
        builder = builder.config("spark.sql.shuffle.partitions", "2")
    for key, value in (settings or {}).items():
        builder = builder.config(key, value)
    with _spark_errors():
        session = (
            builder.master(master or f"local[{cores}]")
            .appName("patronage")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # the pipeline reports its own progress
            .config("spark.sql.catalogImplementation", "in-memory")
            # Databases made without a location (the lake's tables all have theirs) go there, not to ./spark-warehouse.
            .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "patronage-spark-warehouse"))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.hive.manageFilesourcePartitions", "false")  # partitions found from the directories
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")  # not INT96: any reader opens it
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("FATAL")  # a refused statement comes back as its exception, logged by the caller
    return session


@contextmanager
def connect(url: str) -> Iterator[SparkWarehouse]:
    """Open the lake at `url`: its tables registered at their committed snapshots, the ingestion's made if missing."""
    lake = lake_of(url)
    if _open:
        raise NotSupportedOnSpark(f"a second open warehouse in one process ({_open[0]} is open)")
    (lake / SPOOL).mkdir(parents=True, exist_ok=True)
    master, settings = master_of(url)
    spark = session(master=master, settings=settings)
    schemas, found = tables()
    warehouse = SparkWarehouse(spark, lake, found)
    _open.append(lake)
    try:
        with _spark_errors():
            _forget_other_lakes(spark)
            for name in schemas:
                spark.sql(f"create database if not exists {name}")
            committed = _catalog(lake)
            made = {name: _Staged(None, _snapshot_id()) for name in found if name not in committed}
            for name, one in made.items():
                warehouse._directory(name, one.snapshot).mkdir(parents=True)
            warehouse._commit(made)  # the ingestion's tables, empty, for a new lake or a table added since
            committed = _catalog(lake)
            for name, table in found.items():
                spark.sql(f"drop table if exists {name}")  # another lake's, earlier in this process (external)
                spark.sql(table.ddl(warehouse._directory(name, committed[name])))
        register_published(spark, lake, skip=found)
        yield warehouse
    finally:
        _open.remove(lake)


def exists(url: str) -> bool:
    return (lake_of(url) / CATALOG).exists()
