"""Where the system time of ``PGD.robust_accuracy-linf`` on a tiny CNN goes (issue: 4m35 sys vs
4m08 user, nothing printed for 9 minutes).

Runs the benchmark on a tiny 2-layer CNN (224 px input: the default ``Preprocessing``, as a user's
``Model.from_module`` gets) in child processes, A/B interleaved, and reports per configuration the
user and system CPU seconds, wall seconds and minor page faults (``getrusage`` of the child):

* ``threads=N``: torch intra-op threads (``torch.set_num_threads``) -- oversubscription shows as
  system time from threads yielding/spinning on a machine with fewer free cores;
* ``malloc=default`` vs ``malloc=keep``: glibc returns every freed block above the mmap threshold
  (128 KiB by default, adapting up to 32 MiB) to the kernel, so each PGD step's fresh
  ``images``-sized tensors are mmap'ed, zero-filled page by page (minor faults) and unmapped
  again; ``keep`` is what the benchmark now does itself
  (:func:`neuroalign_attacks.robust_accuracy.keep_freed_memory`, glibc ``mallopt``: freed memory
  is reused), ``default`` turns it off (``NEUROALIGN_MALLOC_KEEP=0``) -- allocation churn shows
  as minor faults and system time that ``keep`` removes.

Usage: ``.venv/bin/python benchmarks/bench_pgd_sys_time.py [--images 40] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CHILD = r"""
import os, sys, json, time
import benchmarks.omp_wait_policy  # noqa: F401  (the command's OMP_WAIT_POLICY default)
import torch
torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
torch.manual_seed(0)  # the same tiny CNN in every run
import neuroalign
net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(128, 6))
model = neuroalign.Model.from_module(net, identifier="tiny:cnn", layers=["3"])
bench = neuroalign.get_benchmark("PGD.robust_accuracy-linf", parameters={
    "n_images": int(os.environ["BENCH_IMAGES"]), "n_readout_images": 60, "steps": [10],
    "device": "cpu"})
start = time.perf_counter()
score = bench(model, progress=False)
print(json.dumps({"value": score.value, "wall": time.perf_counter() - start}))
"""



def run(threads: int, malloc: str, images: int) -> dict[str, float]:
    env = {**os.environ, "BENCH_THREADS": str(threads), "BENCH_IMAGES": str(images),
           "NEUROALIGN_PROGRESS": "0"}
    env["NEUROALIGN_MALLOC_KEEP"] = "1" if malloc == "keep" else "0"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "faults": after.ru_minflt - before.ru_minflt, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    args = parser.parse_args()
    configs = [(t, m) for t in args.threads for m in ("default", "keep")]
    rows: dict[tuple[int, str], list[dict[str, float]]] = {c: [] for c in configs}
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.images} images, "
          f"steps [10], 224 px, A/B interleaved x{args.repeats}", flush=True)
    for _ in range(args.repeats):
        for config in configs:
            rows[config].append(run(*config, args.images))
    print(f"{'threads':>7} {'malloc':>8} {'user s':>8} {'sys s':>8} {'wall s':>8} "
          f"{'minor faults':>13} {'value':>7}")
    for (threads, malloc), runs in rows.items():
        med = {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}
        print(f"{threads:>7} {malloc:>8} {med['user']:>8.1f} {med['sys']:>8.1f} "
              f"{med['wall']:>8.1f} {med['faults']:>13.0f} {med['value']:>7.4f}")


if __name__ == "__main__":
    time.sleep(0)
    main()
