"""Speed and quality of neuroalign-attacks against torchattacks 3.5.1 on identical inputs.

Model: timm ``resnet18`` with random weights (``pretrained=False``, seed 0), labels = its own
predictions on the clean images, so every attack has something to flip. Images: uniform noise
(seed 1), ``--images`` x 3 x ``--size`` x ``--size``. Each timed call is repeated ``--repeats``
times, alternating ours and theirs; each row reports the median wall time, the spread of the
repeats (min / median / max, and max / min) and every individual time, with the load average
before and after (the machine is shared). ``OMP_WAIT_POLICY`` is set to ``PASSIVE`` unless the
environment sets it (``benchmarks/omp_wait_policy.py``: spinning OpenMP threads made the same
call vary 2 s - 64 s on a shared machine); the report records the policy used.

Comparisons (issue 5 performance targets):

* ``pgd``: ``pgd_linf`` / ``pgd_l2`` (10 steps, step 2.5 eps/steps, no random start) vs
  ``torchattacks.PGD`` / ``PGDL2`` with the same settings (+ one forward pass to get success,
  which our result includes). Ours runs with ``memory_format="auto"`` (channels-last for this
  conv net on CPU) and, for reference, ``"contiguous"`` (the layout torchattacks runs in).
* ``cw``: ``cw_l2`` (``--cw``, default the fast setting: c = 1 like the reference, one Adam
  update, c x10 for images not yet flipped, a 1-pass line search back to the boundary) vs
  ``torchattacks.CW(c=1, kappa=0, steps=50, lr=0.01)``, whose batch-wide early abort stops it
  after ~5 updates on these inputs (the number of forward passes it made is reported).
* ``min_eps``: batched ``min_eps`` vs paper 003's bisection run image by image with
  ``torchattacks.PGDL2`` (3 steps, same bracket and tolerance).

Run::

    PYTHONPATH=/tmp/refattacks .venv/bin/python benchmarks/bench_attacks.py --threads 2

torchattacks is only imported here; the script exits with a message when it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import omp_wait_policy  # sets OMP_WAIT_POLICY before torch loads OpenMP
import torch

from neuroalign_attacks import CW_PRESETS, cw_l2, min_eps, pgd_l2, pgd_linf
from neuroalign_attacks.pixel_space import NormalizedModel

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def spread(walls):
    """``{"min", "median", "max", "max_over_min"}`` of repeated wall times (seconds)."""
    return {"min": min(walls), "median": statistics.median(walls), "max": max(walls),
            "max_over_min": max(walls) / min(walls)}


def timed(calls, repeats):
    """Run the named ``calls`` in turn, ``repeats`` rounds; ``{name: (median s, every s, output)}``.

    Interleaving the contenders spreads the shared machine's load changes over all of them.
    """
    walls = {name: [] for name in calls}
    out = {}
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            out[name] = fn()
            walls[name].append(time.perf_counter() - start)
    return {name: (statistics.median(walls[name]), walls[name], out[name]) for name in calls}


def timed_pair(theirs, ours, repeats, times=None):
    """:func:`timed` for two calls: median wall time and last output of each.

    ``times`` (a dict) receives every wall time, ``{"theirs": [...], "ours": [...]}``.
    """
    runs = timed({"theirs": theirs, "ours": ours}, repeats)
    if times is not None:
        times["theirs"], times["ours"] = runs["theirs"][1], runs["ours"][1]
    return runs["theirs"][0], runs["theirs"][2], runs["ours"][0], runs["ours"][2]


def spreads(all_walls):
    """:func:`spread` of each contender's wall times, ``{name: {...}}``."""
    return {name: spread(walls) for name, walls in all_walls.items()}


def print_spread(label, all_walls):
    """One line per contender: min / median / max of its repeats."""
    for name, s in spreads(all_walls).items():
        print(f"  {label} {name}: min {s['min']:.2f} s, median {s['median']:.2f} s, "
              f"max {s['max']:.2f} s (max/min {s['max_over_min']:.2f})", flush=True)


def success_of(model, adv, labels):
    with torch.no_grad():
        return model(adv).argmax(1) != labels


def bisect_one_by_one(torchattacks, model, images, labels, lower, upper, tolerance, steps):
    """Paper 003 Alg. 1 with torchattacks.PGDL2, one image at a time (the reference)."""
    eps_out, l2_out = [], []
    for x, y in zip(images, labels):
        x, y = x[None], y[None]
        lo, hi, best = lower, upper, None
        while hi - lo >= tolerance:
            mid = lo + (hi - lo) / 2
            attack = torchattacks.PGDL2(model, eps=mid, alpha=2.5 * mid / steps, steps=steps,
                                        random_start=False)
            adv = attack(x, y)
            if bool(success_of(model, adv, y)):
                hi, best = mid, adv
            else:
                lo = mid
        eps_out.append(hi if best is not None else float("inf"))
        l2_out.append(float((best - x).norm()) if best is not None else float("inf"))
    return torch.tensor(eps_out), torch.tensor(l2_out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", nargs="*", default=["pgd", "cw", "min_eps"])
    parser.add_argument("--pgd-norms", nargs="*", default=["linf", "l2"])
    parser.add_argument("--layouts", nargs="+", default=["auto", "contiguous"],
                        choices=["auto", "channels_last", "contiguous"],
                        help="memory_format(s) our PGD runs in; the first is compared with "
                             "torchattacks, the others are reported alongside")
    parser.add_argument("--linf-eps", type=float, default=1 / 255)
    parser.add_argument("--l2-eps", type=float, default=0.1)
    parser.add_argument("--tolerance", type=float, default=0.001)
    parser.add_argument("--cw", default=None,
                        help="JSON parameters of our cw_l2 (default: the fast setting of "
                             "docs/attacks.md, CW_PRESETS['fast'], registered as cw_l2_fast)")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)
    try:
        import timm
        import torchattacks
    except ImportError as error:
        sys.exit(f"bench_attacks needs timm and torchattacks 3.5.1 ({error}); install torchattacks "
                 "into a scratch dir and put it on PYTHONPATH")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False).eval().to(device)
    model = NormalizedModel(net, MEAN, STD).eval().to(device)
    images = torch.rand(args.images, 3, args.size, args.size,
                        generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        labels = model(images).argmax(1)
    report = {"device": str(device), "threads": args.threads, "images": args.images,
              "size": args.size, "torch": torch.__version__,
              "torchattacks": torchattacks.__version__, "repeats": args.repeats,
              "omp_wait_policy": omp_wait_policy.wait_policy(),
              "loadavg_before": os.getloadavg()}
    print(json.dumps(report))

    if "pgd" in args.only:
        for norm, ours_fn, theirs_cls, eps in (("linf", pgd_linf, torchattacks.PGD, args.linf_eps),
                                               ("l2", pgd_l2, torchattacks.PGDL2, args.l2_eps)):
            if norm not in args.pgd_norms:
                continue
            attack = theirs_cls(model, eps=eps, alpha=2.5 * eps / 10, steps=10, random_start=False)
            calls = {"theirs": lambda: (lambda a: (a, success_of(model, a, labels)))(
                attack(images, labels))}
            for layout in args.layouts:  # "auto": channels-last on CPU for this conv net
                calls[f"ours_{layout}"] = (lambda layout=layout: ours_fn(
                    net, images, labels, eps=eps, steps=10, mean=MEAN, std=STD,
                    memory_format=layout))
            runs = timed(calls, args.repeats)
            t_theirs, _, adv = runs["theirs"]
            t_ours, _, res = runs[f"ours_{args.layouts[0]}"]
            row = {"ours_s": t_ours, "theirs_s": t_theirs, "speedup": t_theirs / t_ours,
                   "all_s": {name: run[1] for name, run in runs.items()},
                   "spread_s": spreads({name: run[1] for name, run in runs.items()}),
                   "loadavg_after": os.getloadavg()[0],
                   "ours_success": float(res.success.float().mean()),
                   "theirs_success": float(adv[1].float().mean()),
                   "max_abs_diff_adv": float((res.adversarial - adv[0]).abs().max()), "eps": eps}
            for layout in args.layouts[1:]:  # the same attack in another layout, for reference
                t_other, _, other = runs[f"ours_{layout}"]
                row[f"ours_{layout}_s"] = t_other
                row[f"speedup_{layout}"] = t_theirs / t_other
                row[f"ours_{layout}_success"] = float(other.success.float().mean())
            report[f"pgd_{norm}"] = row
            print(f"pgd_{norm}", json.dumps(row), flush=True)
            print_spread(f"pgd_{norm}", row["all_s"])

    if "cw" in args.only:
        options = dict(CW_PRESETS["fast"]) if args.cw is None else json.loads(args.cw)
        attack = torchattacks.CW(model, c=1, kappa=0, steps=50, lr=0.01)
        calls = [0]  # forward passes of the reference (= its iterations; ours wraps net itself)
        hook = model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
        times = {}
        t_theirs, adv, t_ours, res = timed_pair(
            lambda: attack(images, labels),
            lambda: cw_l2(net, images, labels, mean=MEAN, std=STD, **options), args.repeats,
            times)
        hook.remove()
        theirs_ok = success_of(model, adv, labels)
        theirs_l2 = (adv - images).flatten(1).norm(dim=1)
        ours_l2 = res.l2[res.success].float()
        row = {"ours_s": t_ours, "theirs_s": t_theirs, "time_ratio": t_ours / t_theirs,
               "all_s": times, "spread_s": spreads(times), "loadavg_after": os.getloadavg()[0],
               "ours_success": float(res.success.float().mean()),
               "theirs_success": float(theirs_ok.float().mean()),
               "ours_median_l2": float(ours_l2.median()) if len(ours_l2) else None,
               "theirs_median_l2": (float(theirs_l2[theirs_ok].median()) if theirs_ok.any()
                                    else None),
               "ours_gradient_evaluations": res.gradient_evaluations,
               "ours_forward_passes": res.extras["forward_passes"],
               "theirs_iterations": calls[0] / args.repeats,
               "theirs_gradient_evaluations": calls[0] // args.repeats * args.images,
               "ours_parameters": options}
        both = res.success.to(theirs_ok.device) & theirs_ok
        if both.any():  # the same images, so medians are comparable even if success rates differ
            row["both_success"] = float(both.float().mean())
            row["ours_median_l2_on_both"] = float(res.l2.to(theirs_l2.device)[both].median())
            row["theirs_median_l2_on_both"] = float(theirs_l2[both].median())
        report["cw_l2"] = row
        print("cw_l2", json.dumps(row), flush=True)
        print_spread("cw_l2", times)

    if "min_eps" in args.only:
        lower, upper, tol = 0.001, 10.0, args.tolerance
        times = {}
        t_theirs, (eps_t, l2_t), t_ours, res = timed_pair(
            lambda: bisect_one_by_one(torchattacks, model, images, labels, lower, upper, tol, 3),
            lambda: min_eps(net, images, labels, lower=lower, upper=upper, tolerance=tol,
                            steps=3, mean=MEAN, std=STD), args.repeats, times)
        eps_o = res.extras["eps"].float()
        row = {"ours_s": t_ours, "theirs_s": t_theirs, "speedup": t_theirs / t_ours,
               "all_s": times, "spread_s": spreads(times), "loadavg_after": os.getloadavg()[0],
               "ours_median_eps": float(eps_o.median()), "theirs_median_eps": float(eps_t.median()),
               "median_eps_rel_diff": float((eps_o.median() - eps_t.median()).abs()
                                            / eps_t.median()),
               "ours_median_l2": float(res.l2.float().median()),
               "theirs_median_l2": float(l2_t.median()),
               "ours_success": float(res.success.float().mean()),
               "per_image_rel_diff_median": float(((eps_o - eps_t).abs() / eps_t).median()),
               "ours_gradient_evaluations": res.gradient_evaluations, "tolerance": tol}
        report["min_eps"] = row
        print("min_eps", json.dumps(row), flush=True)
        print_spread("min_eps", times)

    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
