"""Wall-time spread of one attack call under OpenMP's default (spinning) and PASSIVE wait policy.

Each round starts one fresh Python process per policy (the policy must be in the environment
before torch loads OpenMP), in alternating order; each process times ``--calls`` identical
10-step ``pgd_linf`` calls on a random-weight timm ``resnet18`` (``--images`` x 3 x ``--size``
px, ``--threads`` torch threads) and prints the per-call wall times. ``--competitors N`` runs N
background processes doing the same work with the default policy meanwhile, as other users of
a shared machine would. Reported per policy: every call's time and min / median / max.

Run::

    .venv/bin/python benchmarks/bench_omp_wait_policy.py --rounds 3 --calls 3 --competitors 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

WORKER = r"""
import json, sys, time
import torch, timm
from neuroalign_attacks import pgd_linf
threads, images, size, calls = map(int, sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = timm.create_model("resnet18", pretrained=False).eval()
x = torch.rand(images, 3, size, size, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    y = net(x).argmax(1)
walls = []
for _ in range(calls if calls > 0 else 10**9):  # 0: until terminated (a competitor)
    start = time.perf_counter()
    pgd_linf(net, x, y, eps=1 / 255, steps=10, normalized=False)
    walls.append(time.perf_counter() - start)
print(json.dumps(walls))
"""

POLICIES = {"default": None, "PASSIVE": "PASSIVE"}


def environment(policy: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    return env


def spread(walls: list[float]) -> dict[str, float]:
    """min / median / max of repeated wall times, and max / min."""
    return {"min": min(walls), "median": statistics.median(walls), "max": max(walls),
            "max_over_min": max(walls) / min(walls)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--competitors", type=int, default=0)
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)
    worker = [sys.executable, "-c", WORKER, str(args.threads), str(args.images), str(args.size)]
    competitors = [subprocess.Popen(worker + ["0"], env=environment(None),
                                    stdout=subprocess.DEVNULL)
                   for _ in range(args.competitors)]
    walls: dict[str, list[float]] = {name: [] for name in POLICIES}
    try:
        for round_ in range(args.rounds):
            order = list(POLICIES) if round_ % 2 == 0 else list(reversed(POLICIES))
            for name in order:
                out = subprocess.run(worker + [str(args.calls)], env=environment(POLICIES[name]),
                                     capture_output=True, text=True, check=True)
                walls[name].extend(json.loads(out.stdout.strip().splitlines()[-1]))
                print(name, [round(w, 3) for w in walls[name][-args.calls:]], flush=True)
    finally:
        for process in competitors:
            process.terminate()
            process.wait()
    report = {"threads": args.threads, "images": args.images, "size": args.size,
              "competitors": args.competitors, "loadavg_after": os.getloadavg(),
              "walls": walls, "spread": {name: spread(w) for name, w in walls.items()}}
    print(json.dumps(report["spread"], indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
