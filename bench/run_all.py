"""Every benchmark in one command: runs each with its reference in the same run, then rewrites the
"Last full run" section of bench/README.md (machine, command, printed figures and ratios).

    uv run python -m bench.run_all            # the figures of record (about 10 minutes on 2 cores)
    uv run python -m bench.run_all --quick    # smaller volumes, to check that every benchmark runs

Benchmarks run one after another (never in parallel: they would measure each other). The
hand-written analysis above the generated section is kept; with `--only`, the other benchmarks'
last figures stay as they were (each carries its own date).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- last-full-run:begin -->", "<!-- last-full-run:end -->"

# name → (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "validation_bench": (["--events", "200000"], ["--events", "20000", "--python-subset", "2000", "--repeat", "1"]),
    "api_bench": (["--requests", "3000", "--workers", "1"], ["--requests", "300"]),
    "read_floor": (["--requests", "20000"], ["--requests", "2000"]),
    "notification_bench": (["--deliveries", "20000"], ["--deliveries", "2000"]),
    "upload_bench": (["--size-mib", "1024", "--chunk-mib", "8"], ["--size-mib", "64", "--chunk-mib", "8"]),
    "pipeline_bench": (["--events", "1000000"], ["--events", "20000"]),
    "analytics_bench": (["--events", "1000000", "10000000"], ["--events", "100000"]),
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as info:
        model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{psutil.cpu_count()} vCPU ({model}), {memory:.0f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )


def run(name: str, args: list[str]) -> tuple[str, float, int]:
    command = [sys.executable, "-m", f"bench.{name}", *args]
    print(f"==> {' '.join(['python', '-m', f'bench.{name}', *args])}", flush=True)
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:  # progress stays visible while the output is kept
        print(f"    {line}", end="", flush=True)
        lines.append(line)
    return "".join(lines), time.monotonic() - start, process.wait()


def subsection(name: str, args: list[str], output: str, seconds: float, code: int) -> str:
    status = "" if code == 0 else f" — **failed (exit {code})**"
    run_date = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    head = f"### `{name}` ({seconds:.0f} s, {run_date}){status}"
    return "\n".join([head, "", "```", f"python -m bench.{name} {' '.join(args)}", output.rstrip(), "```", ""])


def section(previous: dict[str, str], fresh: dict[str, str], quick: bool) -> str:
    """The generated section: fresh figures where a benchmark ran, the previous ones where it did not."""
    parts = [
        BEGIN,
        "## Last full run (written by `bench/run_all.py`)",
        "",
        f"On {machine()}{' (quick volumes: not figures of record)' if quick else ''}. "
        "Each benchmark prints its own reference workload and ratio.",
        "",
    ]
    parts += [fresh.get(name) or previous[name] for name in BENCHMARKS if name in fresh or name in previous]
    parts.append(END)
    return "\n".join(parts)


def previous_subsections(text: str) -> dict[str, str]:
    if BEGIN not in text or END not in text:
        return {}
    body = text[text.index(BEGIN) : text.index(END)]
    found = {}
    for chunk in body.split("\n### ")[1:]:
        name = chunk.split("`")[1]
        found[name] = "### " + chunk.rstrip() + "\n"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small volumes (checks that everything runs)")
    parser.add_argument("--only", nargs="*", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    options = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    fresh, codes = {}, []
    for name in options.only:
        args = BENCHMARKS[name][1 if options.quick else 0]
        output, seconds, code = run(name, args)
        fresh[name] = subsection(name, args, output, seconds, code)
        codes.append(code)
    text = README.read_text()
    generated = section(previous_subsections(text), fresh, options.quick)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + generated + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + generated + "\n"
    README.write_text(text)
    print(f"wrote {README.relative_to(ROOT)}")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
