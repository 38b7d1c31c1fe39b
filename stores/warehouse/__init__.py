"""The warehouse: one port (`Warehouse`), one adapter per engine, chosen by where the warehouse is.

A path is a DuckDB file (the embedded default); `postgresql://…` is a PostgreSQL database; `spark://local?lake=…`
(or `spark://HOST:PORT?lake=…`, a standalone cluster's master) is a lake of Parquet tables under a Spark session
(spark_adapter.py; dbt builds there through pipelines/dbt_spark.py).
Adding an engine is one adapter module and one branch of `open_warehouse`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from stores.warehouse import duckdb_adapter, postgres_adapter, spark_adapter
from stores.warehouse.duckdb_adapter import DuckDBWarehouse, connect
from stores.warehouse.port import DEAD_LETTER_COLUMNS, EVENT_COLUMNS, SCHEMA, Warehouse, schema, storable

__all__ = [
    "DEAD_LETTER_COLUMNS",
    "ERRORS",
    "EVENT_COLUMNS",
    "SCHEMA",
    "DuckDBWarehouse",
    "Warehouse",
    "WarehouseAt",
    "connect",
    "exists",
    "is_postgres",
    "is_spark",
    "name",
    "open_warehouse",
    "schema",
    "storable",
    "table_exists",
]

WarehouseAt = Path | str  # a DuckDB file, a postgresql:// URL or a spark:// one
# Opening or using any engine (the Spark adapter's errors import no pyspark: only a spark:// warehouse starts it).
ERRORS = (*DuckDBWarehouse.errors, *postgres_adapter.PostgresWarehouse.errors, *spark_adapter.SparkWarehouse.errors)


def is_postgres(where: WarehouseAt) -> bool:
    return str(where).startswith(("postgresql://", "postgres://"))


def is_spark(where: WarehouseAt) -> bool:
    return str(where).startswith(f"{spark_adapter.SCHEME}://")


def exists(where: WarehouseAt) -> bool:
    """Whether there is a warehouse to read (a database server is assumed to be there; a DuckDB file or a lake's
    catalog may not be)."""
    if is_spark(where):
        return spark_adapter.exists(str(where))
    return is_postgres(where) or Path(where).exists()


def name(where: WarehouseAt) -> str:
    """How to name the warehouse to a person: the file's name, or the database URL without its password."""
    if is_spark(where):
        return str(where)  # no credential in it: the lake's path
    if not is_postgres(where):
        return Path(where).name
    parts = urlsplit(str(where))
    host = parts.hostname or ""
    return f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{host}{parts.path}"


@contextmanager
def open_warehouse(where: WarehouseAt, *, read_only: bool = False) -> Iterator[Warehouse]:
    """The warehouse at `where`; read-only opens let DuckDB readers share the file (PostgreSQL needs no such care)."""
    if is_postgres(where):
        with postgres_adapter.connect(str(where)) as warehouse:
            yield warehouse
    elif is_spark(where):
        with spark_adapter.connect(str(where)) as lake:
            yield lake
    else:
        with duckdb_adapter.connect(Path(where), read_only=read_only) as connection:
            yield DuckDBWarehouse(connection)


def table_exists(connection: object, schema_name: str, name: str) -> bool:
    """For DuckDB connections opened with `connect` (readers not yet on the port)."""
    import duckdb

    assert isinstance(connection, duckdb.DuckDBPyConnection)
    return DuckDBWarehouse(connection).table_exists(schema_name, name)
