"""The one place that knows where the dbt project is, keeps its manifest current, and points dbt at the warehouse."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from stores.warehouse import WarehouseAt, is_postgres, is_spark

if TYPE_CHECKING:
    from dagster_dbt.compat import BaseAdapter

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))  # the environment's own dbt, PATH or not

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two costs of every build that the assets here do not use, 5 s of each
    pipeline run (bench/README.md): `dbt --version` in a process of its own, to learn the version of the dbt it
    runs (dbt-core's own in this environment, also under the Spark wrapper), and a dbt adapter opened in Dagster's
    process, which only `fetch_row_counts` and `fetch_column_metadata` use."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> BaseAdapter | None:  # type: ignore[override]
        return None


def dbt_cli(executable: str | None = None) -> DbtCli:
    """The dbt resource of the assets: this project, the environment's dbt or `executable` (dbt_executable)."""
    return DbtCli(project_dir=dbt_project, dbt_executable=executable or DBT_EXECUTABLE)  # type: ignore[arg-type]


def _sources_newer_than(path: Path) -> bool:
    built = path.stat().st_mtime
    watched = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds", "analyses"):
        watched += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in watched)


def prepare_manifest() -> Path:
    """`dbt parse` when the manifest is missing or older than the project's files (never committed stale). dbt writes
    into a directory of this parse's own, and the manifest replaces the old one at once: a process loading the
    definitions meanwhile (the UI's code server, a run) reads the old manifest or the new one, never half of one."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or _sources_newer_than(manifest):
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="parsing-", dir=manifest.parent) as target:
            subprocess.run(  # noqa: S603 (our own dbt, our own project)
                [
                    DBT_EXECUTABLE,
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(DBT_PROJECT_DIR),
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                    "--target-path",
                    target,
                ],
                check=True,
                cwd=DBT_PROJECT_DIR,
            )
            os.replace(Path(target) / manifest.name, manifest)
    return manifest


def postgres_connection(warehouse_url: str) -> dict[str, str]:
    """host, port, user, password, dbname and sslmode of a postgresql:// URL, with libpq's defaults.

    A socket directory may be given libpq's way, `?host=/run/postgresql`.
    """
    parts = urlsplit(warehouse_url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    user = unquote(parts.username or "") or query.get("user") or "postgres"
    return {
        "host": query.get("host") or unquote(parts.hostname or "") or "127.0.0.1",
        "port": str(parts.port or query.get("port") or 5432),
        "user": user,
        "password": unquote(parts.password or "") or query.get("password", ""),
        "dbname": unquote(parts.path.lstrip("/")) or query.get("dbname") or user,
        "sslmode": query.get("sslmode", ""),
    }


def dbt_profile(warehouse: WarehouseAt) -> dict[str, Any]:
    """profiles.yml's `patronage` profile with one target, `warehouse`'s, every value given: no variable read."""
    if is_postgres(warehouse):
        connection: dict[str, Any] = postgres_connection(str(warehouse))
        output = {"type": "postgres", **connection, "port": int(connection["port"]), "schema": "public"}
    elif is_spark(warehouse):
        # In dbt's own process, on the session that registered the lake's tables (pipelines/dbt_spark.py); the lake
        # is named for the parse state's key only (host is dbt-spark's required field, unused by `session`).
        output = {"type": "spark", "method": "session", "host": str(warehouse), "schema": "main"}
    else:
        output = {"type": "duckdb", "path": str(Path(warehouse).absolute())}  # dbt runs in dbt_project/
    return {"patronage": {"target": output["type"], "outputs": {output["type"]: {**output, "threads": 2}}}}


@contextmanager
def dbt_profiles_dir(warehouse: WarehouseAt) -> Iterator[Path]:
    """A private directory holding `dbt_profile(warehouse)` as profiles.yml, removed afterwards (it may hold a
    password). The dbt asset passes it with `--profiles-dir`: dbt then reads no environment variable. On Spark it
    also holds the `dbt` that runs there (`dbt_executable`)."""
    with tempfile.TemporaryDirectory(prefix="patronage-dbt-profile-") as folder:
        (Path(folder) / "profiles.yml").write_text(json.dumps(dbt_profile(warehouse)))  # JSON is YAML
        if is_spark(warehouse):
            script = Path(folder) / "dbt"
            entry = shlex.join([sys.executable, "-m", "pipelines.dbt_spark", str(warehouse)])
            script.write_text(f'#!/bin/sh\nexec {entry} "$@"\n')
            script.chmod(0o700)
        yield Path(folder)


def dbt_executable(warehouse: WarehouseAt, profiles: Path) -> str:
    """The dbt to start for `warehouse` with the profiles of `dbt_profiles_dir`: the environment's own, or on Spark
    the one written beside the profile, which runs pipelines/dbt_spark.py on the lake (it registers the lake's tables
    before dbt runs in its process and publishes the tables dbt built)."""
    return str(profiles / "dbt") if is_spark(warehouse) else DBT_EXECUTABLE


PARTIAL_PARSE = "partial_parse.msgpack"
PARSE_STATE_DIR = DBT_PROJECT_DIR / "target" / "parse-state"  # one partial parse per warehouse
PARSE_STATES_KEPT = 16  # the warehouses used last (tests make one per test; each parse is ~1.4 MB)


def _parse_state(warehouse: WarehouseAt) -> Path:
    (output,) = dbt_profile(warehouse)["patronage"]["outputs"].values()
    key = json.dumps({name: value for name, value in output.items() if name != "password"}, sort_keys=True)
    return PARSE_STATE_DIR / hashlib.sha256(key.encode()).hexdigest()[:16] / PARTIAL_PARSE


def modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by a concurrent run
        return 0.0


@contextmanager
def dbt_target(warehouse: WarehouseAt, folder: Path) -> Iterator[Path]:
    """`folder` as dbt's target path for one invocation on `warehouse`, starting from the last parse made for it.

    dbt reuses its parse of the project (`partial_parse.msgpack`) only under the profile that made it, and every
    warehouse has its own profile, so the parse is kept per warehouse rather than per project: a run on the same
    warehouse parses only what changed (19 -> 17 s for the 1M-event build, bench/README.md). Runs keep their own
    folders (artifacts of concurrent runs do not mix); the newest parse replaces the kept one whole.
    """
    kept = _parse_state(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    if kept.exists() and not (folder / PARTIAL_PARSE).exists():
        shutil.copyfile(kept, folder / PARTIAL_PARSE)
    yield folder
    made = folder / PARTIAL_PARSE
    if made.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{PARTIAL_PARSE}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(made, partial)
        os.replace(partial, kept)
        by_use = sorted(PARSE_STATE_DIR.glob(f"*/{PARTIAL_PARSE}"), key=modified_time, reverse=True)
        for stale in by_use[PARSE_STATES_KEPT:]:
            shutil.rmtree(stale.parent, ignore_errors=True)


def _dbt(
    warehouse: WarehouseAt,
    scratch: Path,
    arguments: list[str],
    *,
    environment: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    """dbt `arguments` on `warehouse` outside Dagster with the asset's profile, and target and logs under `scratch`."""
    with dbt_profiles_dir(warehouse) as profiles, dbt_target(warehouse, scratch / "target") as target:
        command = [
            dbt_executable(warehouse, profiles),
            *arguments,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(profiles),
            "--target-path",
            str(target),
            "--log-path",
            str(scratch / "logs"),
        ]
        return subprocess.run(  # noqa: S603 (our own dbt, our own project)
            command,
            env={**os.environ, **(environment or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


# The scheduled build's arguments after `build`: data tests check each run's data, unit tests check the models'
# SQL on fixed rows, which changes only with the code. They run wherever the code is tested (`make test` builds
# with them, `dbt test --select test_type:unit` by hand), not again at every hourly or daily materialization.
PRODUCTION_BUILD = ("--exclude-resource-type", "unit_test")


def dbt_build(
    warehouse: WarehouseAt,
    scratch: Path,
    select: tuple[str, ...] = (),
    *,
    unit_tests: bool = True,
    environment: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    """`dbt build` on `warehouse` outside Dagster (tests, benchmarks) with the asset's profile, target and logs
    under `scratch`; with `select`, only tests whose parents are all selected run; without `unit_tests`, what the
    Dagster asset runs (PRODUCTION_BUILD). `environment` adds variables (a time zone, say); it cannot point dbt
    elsewhere: the profile names every value."""
    selection = ["--select", *select, "--indirect-selection", "cautious"] if select else []
    production = [] if unit_tests else list(PRODUCTION_BUILD)
    return _dbt(warehouse, scratch, ["build", *selection, *production], environment=environment, timeout=timeout)


# dbt's page loads Snowplow's tracker from a CDN when the manifest says usage stats are on (ours says off:
# dbt_project.yml `flags`); the address goes too, so the file names no remote script at all.
_REMOTE_SCRIPT = re.compile(r"""(?<=\.src=)(["'])(?:https?:)?//[^"']*\1""")


def offline_docs_page(html: str) -> str:
    """dbt's static docs page with every remote script address emptied (nothing else in it is remote)."""
    return _REMOTE_SCRIPT.sub('""', html)


class DbtDocsError(RuntimeError):
    """`dbt docs generate` failed; the message ends with dbt's own output."""


def write_docs_site(warehouse: WarehouseAt, page: Path, *, manifest: Path | None = None, timeout: float = 600) -> Path:
    """`dbt docs generate --static` on `warehouse` (its catalog: the warehouse's real columns and types), written
    offline to `page`, one self-contained HTML file; a reader never sees a half-written page. With `manifest` (the
    one a `dbt build` on this warehouse just wrote) dbt reuses it rather than compiling the project again (about 4 s
    of 8); dbt's target is a temporary folder seeded with the warehouse's kept parse."""
    with tempfile.TemporaryDirectory(prefix="patronage-dbt-docs-") as folder:
        target = Path(folder) / "target"
        arguments = ["docs", "generate", "--static"]
        if manifest is not None:
            target.mkdir()
            shutil.copyfile(manifest, target / "manifest.json")
            arguments.append("--no-compile")
        result = _dbt(warehouse, Path(folder), arguments, timeout=timeout)
        static = target / "static_index.html"
        if result.returncode != 0 or not static.exists():
            raise DbtDocsError(f"dbt docs generate failed ({result.returncode}):\n{result.stdout[-4000:]}")
        page.parent.mkdir(parents=True, exist_ok=True)
        partial = page.with_name(f"{page.name}.partial")
        partial.write_text(offline_docs_page(static.read_text(encoding="utf-8")), encoding="utf-8")
        partial.replace(page)
    return page
