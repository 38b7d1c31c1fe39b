"""dbt on a Spark lake: `python -m pipelines.dbt_spark <spark://local?lake=…> <dbt arguments>`.

dbt-spark's `session` method runs dbt's SQL on the Spark session of dbt's own process, and that session's catalog is
in memory (spark_adapter.py: the lake's `_catalog.json` is the catalog), so dbt runs here, in-process (`dbtRunner`),
on a session that has first registered the lake's tables. Every build writes its tables into a directory of its own,
`<lake>/_builds/b-…/<schema>/<table>` (the schemas are created there, so a rerun never meets a managed table's
location left by an earlier one); when dbt succeeds, the tables it built (marts, intermediate, the seed) are
published into `_catalog.json` in one commit, so readers see the previous ones until the build has passed. Views
(staging) live in the session only. The build directory is removed either way.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from stores.files import abandoned
from stores.warehouse import spark_adapter

# dbt's schemas on Spark: the models' (generate_schema_name) and the profile's, where the seed goes.
DBT_SCHEMAS = ("staging", "intermediate", "marts", "main")
BUILDS = "_builds"


def build_directory(lake: Path) -> Path:
    return lake / BUILDS / spark_adapter._snapshot_id().replace("s-", "b-", 1)


def sweep_killed_builds(lake: Path) -> list[Path]:
    """The build directories of this machine's dbt runs killed before their `finally` (their process is gone),
    removed; another machine's, on a shared lake, are its own to sweep."""
    removed = []
    for build in sorted((lake / BUILDS).glob("b-*")):
        if abandoned(spark_adapter.writer(build.name)):
            shutil.rmtree(build, ignore_errors=True)
            removed.append(build)
    return removed


def built_tables(build: Path) -> dict[str, Path]:
    """`schema.table` -> its directory, for every table dbt wrote under `build`."""
    return {
        f"{schema.name}.{table.name}": table
        for schema in sorted(build.iterdir())
        if schema.is_dir()
        for table in sorted(schema.iterdir())
        if table.is_dir()
    }


def run(url: str, arguments: Sequence[str]) -> int:
    """dbt `arguments` on the lake of `url`; the tables it built published when it succeeded. dbt's exit code."""
    from dbt.cli.main import dbtRunner

    lake = spark_adapter.lake_of(url)
    lake.mkdir(parents=True, exist_ok=True)
    sweep_killed_builds(lake)
    build = build_directory(lake)
    build.mkdir(parents=True)
    master, settings = spark_adapter.master_of(url)
    spark = spark_adapter.session(master=master, settings=settings)
    # ANSI (Spark 4's default, set here whatever the cluster says): a bad cast, an overflow or a division by zero
    # fails the build as it does on PostgreSQL and DuckDB, rather than becoming a NULL on Spark alone.
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        for schema in DBT_SCHEMAS:  # before the lake's own tables register: `marts` holds both
            spark.sql(f"drop database if exists {schema} cascade")
            spark.sql(f"create database {schema} location '{build / schema}'")
        with spark_adapter.connect(url):
            pass  # the ingestion's tables registered (made empty where missing), and what dbt published before
        result = dbtRunner().invoke(list(arguments))
        if result.success:
            spark_adapter.publish(lake, built_tables(build))
        return 0 if result.success else (1 if result.exception is None else 2)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    url, *arguments = sys.argv[1:] if argv is None else argv
    return run(url, arguments)


if __name__ == "__main__":
    sys.exit(main())
