"""Run every benchmark and print its table: ``python -m bench [--quick] [--only tree,fanout,...]``.

Sizes come from the flags; ``--quick`` runs small sizes (a smoke run on a busy machine). Each
benchmark also runs alone: ``python -m bench.tree --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ["tree", "fanout", "sweep", "partner", "webhooks"]


def machine() -> str:
    """nproc, CPU model and RAM, for the README."""
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip() if sys.platform != "win32" else ""
    return (
        f"{cpus} cores ({model}), {mem_kib / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, {pg or 'PostgreSQL'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs")
    parser.add_argument("--markdown", help="also write the machine line and the tables to this file (for the README)")
    modules = {name: importlib.import_module(f"bench.{name}") for name in BENCHMARKS}
    for name, module in modules.items():
        group = parser.add_argument_group(name)
        module.add_arguments(group, prefix=f"{name}-")
    args = parser.parse_args()
    tables = [f"Machine: {machine()}"]
    print(tables[0] + "\n", flush=True)
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        module = modules[name]
        own = argparse.Namespace(**{k[len(name) + 1 :]: v for k, v in vars(args).items() if k.startswith(f"{name}_")})
        if args.quick:
            module.quick(own)
        started = time.perf_counter()
        try:
            tables += asyncio.run(module.main(own))
        except module.NotReady as exc:  # the feature it measures is not in this build yet
            print(f"**{name}**: skipped: {exc}\n", flush=True)
            continue
        except Exception as exc:  # noqa: BLE001  one broken benchmark must not hide the others' tables
            print(f"**{name}**: failed: {type(exc).__name__}: {exc}\n", flush=True)
            tables.append(f"**{name}**: failed: {type(exc).__name__}: {exc}")
            continue
        print(f"\n({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)
        if args.markdown:
            Path(args.markdown).write_text("\n\n".join(tables) + "\n")


if __name__ == "__main__":
    main()
