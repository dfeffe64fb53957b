"""Agreement of neuroalign-attacks with torchattacks 3.5.1 and foolbox 3.3.4 on a trained CNN.

Model: the synthetic shapes classifier of ``neuroalign_attacks.synthetic`` (3-layer CNN trained
deterministically on procedural shapes, 32 px, normalisation mean 0.5 / std 0.25 inside the
attacked function). Inputs: ``--images`` held-out shapes (seed 4242) with their true labels,
identical for all three libraries. Reported per attack and library: success rate and mean L2 /
Linf norm of the perturbation over all images, and over the images all libraries flip.

Run::

    PYTHONPATH=/tmp/refattacks .venv/bin/python benchmarks/bench_attack_agreement.py

Needs torchattacks and foolbox (+ eagerpy, GitPython) on PYTHONPATH; exits with a message
otherwise. They are never dependencies of the plugin.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from neuroalign_attacks import cw_l2, fgsm, min_eps, pgd_l2, pgd_linf
from neuroalign_attacks.pixel_space import NormalizedModel
from neuroalign_attacks.synthetic import ShapesCNN, load_classifier, render_shapes


def summarise(model, images, labels, adversarial):
    with torch.no_grad():
        success = model(adversarial).argmax(1) != labels
    delta = (adversarial - images).flatten(1)
    return success, delta.norm(dim=1), delta.abs().amax(dim=1)


def row(success, l2, linf):
    return {"success": round(float(success.float().mean()), 4),
            "mean_l2": round(float(l2.mean()), 4), "mean_linf": round(float(linf.mean()), 5),
            "median_l2_successful": round(float(l2[success].median()), 4) if success.any()
            else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only the cases whose name contains one of these strings "
                             "(\"min_eps\" selects the minimal-epsilon comparison)")
    args = parser.parse_args(argv)
    try:
        import foolbox
        import torchattacks
    except ImportError as error:
        sys.exit(f"needs torchattacks 3.5.1 and foolbox 3.3.4 on PYTHONPATH ({error})")
    torch.set_num_threads(args.threads)
    net = load_classifier(0)
    model = NormalizedModel(net, ShapesCNN.mean, ShapesCNN.std).eval()
    images, labels = render_shapes(args.images, 32, seed=4242)
    with torch.no_grad():
        clean_ok = model(images).argmax(1) == labels
    images, labels = images[clean_ok], labels[clean_ok]  # attack correctly classified images only
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    report = {"images": int(len(images)), "clean_accuracy": float(clean_ok.float().mean())}

    def ours(fn, **kw):
        result = fn(model, images, labels, **kw)
        return summarise(model, images, labels, result.adversarial)

    def fb(attack, eps):
        _, clipped, _ = attack(fmodel, images, labels, epsilons=eps)
        return summarise(model, images, labels, clipped)

    def ta(attack):
        return summarise(model, images, labels, attack(images, labels))

    eps_inf, eps_2, steps = 4 / 255, 0.5, 10
    cases = {
        "fgsm eps=4/255": {
            "neuroalign": lambda: ours(fgsm, eps=eps_inf),
            "torchattacks": lambda: ta(torchattacks.FGSM(model, eps=eps_inf)),
            "foolbox": lambda: fb(foolbox.attacks.LinfFastGradientAttack(random_start=False),
                                  eps_inf),
        },
        "pgd_linf eps=4/255 steps=10": {
            "neuroalign": lambda: ours(pgd_linf, eps=eps_inf, steps=steps),
            "torchattacks": lambda: ta(torchattacks.PGD(model, eps=eps_inf,
                                                        alpha=2.5 * eps_inf / steps, steps=steps,
                                                        random_start=False)),
            "foolbox": lambda: fb(foolbox.attacks.LinfPGD(abs_stepsize=2.5 * eps_inf / steps,
                                                          steps=steps, random_start=False),
                                  eps_inf),
        },
        "pgd_l2 eps=0.5 steps=10": {
            "neuroalign": lambda: ours(pgd_l2, eps=eps_2, steps=steps),
            "torchattacks": lambda: ta(torchattacks.PGDL2(model, eps=eps_2,
                                                          alpha=2.5 * eps_2 / steps, steps=steps,
                                                          random_start=False)),
            "foolbox": lambda: fb(foolbox.attacks.L2PGD(abs_stepsize=2.5 * eps_2 / steps,
                                                        steps=steps, random_start=False), eps_2),
        },
        "cw_l2 9x100 steps, c0=1e-3, lr=0.01": {
            "neuroalign": lambda: ours(cw_l2, steps=100, binary_search_steps=9,
                                       initial_const=1e-3, lr=0.01),
            "foolbox": lambda: fb(foolbox.attacks.L2CarliniWagnerAttack(
                binary_search_steps=9, steps=100, stepsize=0.01, initial_const=1e-3,
                abort_early=True), None),
        },
        "cw_l2 c=1 steps=100 (no search)": {
            "neuroalign": lambda: ours(cw_l2, steps=100, binary_search_steps=1,
                                       initial_const=1.0, lr=0.01, abort_early=False),
            "torchattacks": lambda: ta(torchattacks.CW(model, c=1, kappa=0, steps=100, lr=0.01)),
        },
    }
    if args.only is not None:
        cases = {name: libs for name, libs in cases.items() if any(k in name for k in args.only)}
    for name, libraries in cases.items():
        results = {lib: run() for lib, run in libraries.items()}
        common = torch.stack([r[0] for r in results.values()]).all(0)
        report[name] = {lib: {**row(*r), "mean_l2_on_common": round(float(r[1][common].mean()), 4)
                              if common.any() else None} for lib, r in results.items()}
        print(name, json.dumps(report[name]), flush=True)

    # minimal eps: batched bisection vs the same bisection image by image with torchattacks
    if args.only is not None and "min_eps" not in args.only:
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(report, handle, indent=2)
        return report
    result = min_eps(model, images, labels, tolerance=0.001)
    reference = []
    for x, y in zip(images, labels):
        lo, hi = 0.001, 10.0
        while hi - lo >= 0.001:
            mid = lo + (hi - lo) / 2
            adv = torchattacks.PGDL2(model, eps=mid, alpha=2.5 * mid / 3, steps=3,
                                     random_start=False)(x[None], y[None])
            with torch.no_grad():
                ok = bool(model(adv).argmax(1) != y)
            hi, lo = (mid, lo) if ok else (hi, mid)
        reference.append(hi)
    reference = torch.tensor(reference, dtype=torch.float64)
    ours_eps = result.extras["eps"]
    report["min_eps l2 tol=0.001"] = {
        "neuroalign_median_eps": round(float(ours_eps.median()), 4),
        "torchattacks_median_eps": round(float(reference.median()), 4),
        "neuroalign_mean_eps": round(float(ours_eps.mean()), 4),
        "torchattacks_mean_eps": round(float(reference.mean()), 4),
        "median_abs_rel_diff_per_image": round(float(((ours_eps - reference).abs()
                                                      / reference).median()), 5),
        "share_within_1pct": round(float((((ours_eps - reference).abs() / reference) < 0.01)
                                         .double().mean()), 4),
    }
    print("min_eps", json.dumps(report["min_eps l2 tol=0.001"]), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
