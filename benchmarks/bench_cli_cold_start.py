"""Cold start of the ``neuroalign`` command (target: ``neuroalign list benchmarks`` < 0.5 s).

Each run is a fresh process through the installed console script, with every installed plugin
loaded, exactly as a user types it. Reports min / median / mean wall time over ``--runs`` runs
(after ``--warmup`` runs that fill the OS file cache), the slowest imports of one run
(``python -X importtime``), and whether torch was imported.

Usage::

    python benchmarks/bench_cli_cold_start.py                 # list benchmarks, --help
    python benchmarks/bench_cli_cold_start.py --runs 30 -- list models 'timm:*'
    hyperfine --warmup 3 'neuroalign list benchmarks'         # if hyperfine is installed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.5


def console_script() -> list[str]:
    """The ``neuroalign`` script next to this interpreter, else ``python -m neuroalign.cli``."""
    script = Path(sys.executable).with_name("neuroalign")
    if script.exists():
        return [str(script)]
    found = shutil.which("neuroalign")
    return [found] if found else [sys.executable, "-m", "neuroalign.app.cli"]


def time_runs(argv: list[str], runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + sys of the child) of ``runs`` fresh processes.

    CPU time barely moves when other processes compete for the cores; wall time does, so
    compare CPU time when the machine is busy (``uptime`` load above its core count).
    """
    import resource

    command = console_script() + argv
    for _ in range(warmup):
        subprocess.run(command, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def slowest_imports(argv: list[str], top: int = 8) -> tuple[list[tuple[float, str]], bool]:
    code = ("import sys; from neuroalign.app.cli import main\n"
            "try: main(sys.argv[1:])\nexcept SystemExit: pass\n"
            "sys.stderr.write('TORCH=%s\\n' % ('torch' in sys.modules))")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv],
                          capture_output=True, text=True, check=False)
    rows = []
    torch = False
    for line in proc.stderr.splitlines():
        if line.startswith("TORCH="):
            torch = line.strip() == "TORCH=True"
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2  # one space, then two per nesting level
        if depth <= 1:  # imports made by the command itself and their direct children
            rows.append((int(cumulative_us) / 1e6, ("  " * depth) + name.strip()))
    return sorted(rows, reverse=True)[:top], torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="Print the measurements as JSON.")
    parser.add_argument("argv", nargs="*", help="neuroalign arguments (default: list benchmarks)")
    args = parser.parse_args()

    commands = [args.argv] if args.argv else [["list", "benchmarks"], ["--help"]]
    report = []
    for argv in commands:
        times, cpus = time_runs(argv, args.runs, args.warmup)
        imports, torch = slowest_imports(argv)
        report.append({
            "command": "neuroalign " + " ".join(argv), "runs": len(times),
            "min_s": min(times), "median_s": statistics.median(times),
            "mean_s": statistics.fmean(times), "max_s": max(times),
            "cpu_median_s": statistics.median(cpus), "load_average": os.getloadavg(),
            "torch_imported": torch, "slowest_imports_s": imports,
        })
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs; script: {console_script()[0]}")
    for row in report:
        verdict = "OK" if row["median_s"] < TARGET_S else f"SLOWER than the {TARGET_S} s target"
        print(f"\n{row['command']}: median {row['median_s']:.3f} s, min {row['min_s']:.3f} s, "
              f"mean {row['mean_s']:.3f} s, max {row['max_s']:.3f} s over {row['runs']} runs "
              f"-> {verdict}; CPU (user+sys) median {row['cpu_median_s']:.3f} s; load average "
              f"{row['load_average'][0]:.1f}; torch imported: {row['torch_imported']}")
        print("  slowest imports (cumulative):")
        for seconds, name in row["slowest_imports_s"]:
            print(f"    {seconds:7.3f} s  {name}")


if __name__ == "__main__":
    main()
