"""Time the NSD FGSM-sensitivity attack: resnet18, 4 ROIs x 8 subjects, eps 1, 2, 3 / 255.

The attack phase of ``NSD.*-fgsm_sensitivity`` for one model and mapping: 32 objectives (ROI x
subject) read out linearly (an OLS read-out is one linear layer: random coefficients of the same
shape stand in, the cost does not depend on their values) from resnet18's ``--layer`` output
(random weights: offline), on ``--images`` held-out images at 224 px (115 in the benchmark).

Reports, in one run, interleaved (the machine is shared):

* ``unit``: one plain forward + backward pass of the trunk for the images (one scalar
  objective): the cost of the cheapest possible gradient;
* ``attack``: :func:`neuroalign_nsd.sensitivity.fgsm_sensitivity` for all 32 objectives, both
  perturbations, 3 budgets (targeted and shuffled), and its ratio to ``unit``; with
  ``--compare-layouts`` also in the standard (NCHW) layout, and the largest difference;
* the two ways of getting 32 gradients from one graph (``batched``: one vmapped backward,
  ``loop``: 32 backwards with ``retain_graph``), A/B interleaved on one batch.

The total time extrapolates linearly to 115 images (batches are independent)::

    OMP_NUM_THREADS=2 python benchmarks/bench_nsd_sensitivity.py --images 16 --layer layer4
    OMP_NUM_THREADS=2 python benchmarks/bench_nsd_sensitivity.py --images 16 --compare-layouts
    OMP_NUM_THREADS=2 python benchmarks/bench_nsd_sensitivity.py --images 16 --compare-folding
    OMP_NUM_THREADS=2 python benchmarks/bench_nsd_sensitivity.py --floor --repeats 2
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--layer", default="layer4")
    parser.add_argument("--objectives", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compare-layouts", action="store_true",
                        help="also time the attack in the standard layout, interleaved, and "
                             "print the largest difference between the two layouts' results")
    parser.add_argument("--no-fold-batchnorm", dest="fold_batchnorm", action="store_false",
                        help="attack the network as it is (the benchmark folds batch norm)")
    parser.add_argument("--compare-folding", action="store_true",
                        help="also time the attack without batch-norm folding, interleaved, and "
                             "print the largest difference")
    parser.add_argument("--gradients-only", action="store_true",
                        help="only the batched-vs-loop gradient comparison")
    parser.add_argument("--floor", action="store_true",
                        help="only the lower bound: the throughput of plain inference passes of "
                             "the folded channels-last trunk (64-image batches; one batch on 2 "
                             "torch threads vs two batches in two Python threads of 1 torch "
                             "thread each; the same layers as a plain nn.Sequential, eager and "
                             "torch.compile'd, also in 2 processes of 1 thread; interleaved) "
                             "and the seconds the 115 x 192 perturbed forward passes alone "
                             "would take at that rate")
    args = parser.parse_args()
    if args.floor:
        floor(args)
        return

    import torch

    import neuroalign
    from neuroalign_nsd.sensitivity import (EncodingModel, LinearReadout, Trunk, _gradients,
                                            fgsm_sensitivity)

    from neuroalign_nsd.sensitivity import fold_batchnorm

    model = neuroalign.get_model("timm:resnet18", pretrained=False)
    pre = model.preprocessing
    plain = model.module().eval()
    folded, names = fold_batchnorm(plain, keep=[args.layer])
    trunk = Trunk(folded if args.fold_batchnorm else plain, args.layer)
    probe = trunk(torch.zeros(1, 3, pre.input_size, pre.input_size))
    features = probe.shape[1]
    rng = np.random.default_rng(0)
    readout = LinearReadout(rng.normal(0, 1 / np.sqrt(features), (features, args.objectives)),
                            np.zeros(args.objectives))
    encoder = EncodingModel(trunk, readout, pre.mean, pre.std)
    unfolded = EncodingModel(Trunk(plain, args.layer), readout, pre.mean, pre.std)
    for p in list(encoder.parameters()) + list(unfolded.parameters()):
        p.requires_grad_(False)
    print(f"batch norm folded into the convolutions: {len(names) if args.fold_batchnorm else 0}"
          " layers (as the benchmark does, parameter fold_batchnorm)")
    pixels = torch.rand(args.images, 3, pre.input_size, pre.input_size,
                        generator=torch.Generator().manual_seed(0))
    print(f"resnet18 (random weights) cut at {args.layer}: {features} features; "
          f"{args.objectives} objectives; {args.images} images; torch threads "
          f"{torch.get_num_threads()}")

    def unit() -> float:
        start = time.perf_counter()
        for i in range(0, args.images, args.batch_size):
            x = pixels[i:i + args.batch_size].clone().requires_grad_(True)
            encoder(x)[:, 0].sum().backward()
        return time.perf_counter() - start

    results = {}

    def attack(layout: str = "auto", which=None, key=None) -> float:
        start = time.perf_counter()
        results[key or layout] = fgsm_sensitivity(which or encoder, pixels,
                                                  [1 / 255, 2 / 255, 3 / 255],
                                                  batch_size=args.batch_size,
                                                  memory_format=layout)
        return time.perf_counter() - start

    def gradients(method: str) -> float:
        x = pixels[:args.batch_size].clone().requires_grad_(True)
        start = time.perf_counter()
        _gradients(encoder(x), x, method)
        return time.perf_counter() - start

    unit()  # warm-up
    units, attacks, standard, plain_runs = [], [], [], []
    for _ in range(0 if args.gradients_only else args.repeats):
        units.append(unit())
        attacks.append(attack())
        if args.compare_layouts:
            standard.append(attack("contiguous"))
        if args.compare_folding:
            plain_runs.append(attack("auto", unfolded, "unfolded"))
    scale = 115 / args.images
    if not args.gradients_only:
        report(units, attacks, scale, args.images)
        print(f"layout of the attack: {results['auto']['memory_format']}")
    if plain_runs:
        a, c = float(np.median(attacks)), float(np.median(plain_runs))
        diff = max(float(np.abs(results["auto"][kind] - results["unfolded"][kind]).max())
                   for kind in ("targeted", "shuffled"))
        print(f"batch norm not folded: {c:.2f} s (runs {plain_runs}); folded/unfolded "
              f"{a / c:.2f}; largest sensitivity difference {diff:.2e}")
    if standard:
        a, c = float(np.median(attacks)), float(np.median(standard))
        diff = max(float(np.abs(results["auto"][kind] - results["contiguous"][kind]).max())
                   for kind in ("targeted", "shuffled"))
        scale_of = float(np.abs(results["contiguous"]["targeted"]).mean())
        print(f"standard layout: {c:.2f} s (runs {standard}); auto/standard {a / c:.2f}; "
              f"largest sensitivity difference {diff:.2e} (mean |s| {scale_of:.3f})")
    batched, loop = [], []
    for _ in range(args.repeats):
        batched.append(gradients("batched"))
        loop.append(gradients("loop"))
    print(f"32 gradients of one batch ({min(args.batch_size, args.images)} images): batched "
          f"{np.median(batched):.2f} s, loop {np.median(loop):.2f} s, ratio loop/batched "
          f"{np.median(loop) / np.median(batched):.2f}; one forward+backward (unit) "
          f"{np.median(units or [unit()]):.2f} s")


def floor(args: argparse.Namespace) -> None:
    """The perturbed forward passes alone, at the best inference throughput measured here."""
    import copy as copying
    import threading

    import torch

    from neuroalign_nsd.sensitivity import Trunk

    batch = 64
    folded, x = _folded_resnet18(args.layer, batch)
    trunk = Trunk(folded, args.layer).to(memory_format=torch.channels_last)
    copies = [copying.deepcopy(trunk) for _ in range(2)]

    def passes(count: int, net=trunk) -> None:
        with torch.inference_mode():
            for _ in range(count):
                net(x)

    def one_batch_two_threads() -> float:
        torch.set_num_threads(2)
        passes(1)
        start = time.perf_counter()
        passes(4)
        return 4 * batch / (time.perf_counter() - start)

    def two_batches_one_thread_each() -> float:
        torch.set_num_threads(1)
        passes(1)
        # a Trunk keeps per-call state: one copy per thread
        workers = [threading.Thread(target=passes, args=(2, copy)) for copy in copies]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return 4 * batch / (time.perf_counter() - start)

    # the same layers as one plain nn.Sequential (no hook), eager and compiled
    sequential = _sequential(folded, args.layer)
    torch.set_num_threads(2)
    compiled = _compiled(sequential, x, report=True)

    def plain(net) -> Callable[[], float]:
        def measure() -> float:
            torch.set_num_threads(2)
            with torch.no_grad():
                net(x)
                start = time.perf_counter()
                for _ in range(4):
                    net(x)
            return 4 * batch / (time.perf_counter() - start)
        return measure

    variants = [("trunk, 1 batch x 2 threads", one_batch_two_threads),
                ("trunk, 2 batches x 1 thread", two_batches_one_thread_each),
                ("nn.Sequential, eager, 2 threads", plain(sequential))]
    if compiled is not None:
        variants += [("nn.Sequential, torch.compile, 2 threads", plain(compiled)),
                     ("nn.Sequential, torch.compile, 2 processes x 1 thread",
                      lambda: _in_two_processes(args.layer, batch))]
    forwards = 115 * 32 * 3 * 2
    for round_ in range(args.repeats):
        for name, measure in variants:
            rate = measure()
            print(f"round {round_} {name}: {rate:.1f} images/s -> the {forwards} perturbed "
                  f"forward passes alone: {forwards / rate:.0f} s", flush=True)


def _folded_resnet18(layer: str, batch: int):
    """resnet18 (random weights) with batch norm folded (``layer`` kept), and a random
    channels-last input batch at its input size."""
    import torch

    import neuroalign
    from neuroalign_nsd.sensitivity import fold_batchnorm

    model = neuroalign.get_model("timm:resnet18", pretrained=False)
    size = model.preprocessing.input_size
    folded, _ = fold_batchnorm(model.module().eval(), keep=[layer])
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    return folded, x


def _sequential(folded, layer: str):
    """resnet18's layers up to ``layer`` as one plain channels-last ``nn.Sequential``."""
    import torch

    names = ["conv1", "bn1", "act1", "maxpool"] + [f"layer{i}" for i in range(1, 5)]
    names = names[:names.index(layer) + 1]
    sequential = torch.nn.Sequential(*[getattr(folded, n) for n in names]).eval()
    return sequential.to(memory_format=torch.channels_last)


def _compiled(sequential, x, report: bool = False):
    """``torch.compile`` with frozen weights (inductor's C++ kernels: needs a C compiler), or
    None with a message when it cannot build them."""
    import torch

    try:
        import torch._inductor.config as inductor

        inductor.freezing = True
        start = time.perf_counter()
        compiled = torch.compile(sequential)
        with torch.no_grad():
            difference = (compiled(x) - sequential(x)).abs().max().item()
    except Exception as error:  # noqa: BLE001 - a benchmark reports and goes on
        print(f"torch.compile unavailable here ({type(error).__name__}: {error}); "
              "timing eager only", flush=True)
        return None
    if report:
        print(f"torch.compile: {time.perf_counter() - start:.1f} s to compile; largest "
              f"difference to eager {difference:.2g}", flush=True)
    return compiled


def _process_worker(layer: str, batch: int, barrier, rates) -> None:
    """One of two processes of one torch thread each: compiled passes, timed together."""
    import threading

    import torch

    torch.set_num_threads(1)
    folded, x = _folded_resnet18(layer, batch)
    net = _compiled(_sequential(folded, layer), x)
    if net is None:
        barrier.abort()
        rates.put(float("nan"))
        return
    with torch.no_grad():
        net(x)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:  # the other process could not compile
            rates.put(float("nan"))
            return
        start = time.perf_counter()
        for _ in range(4):
            net(x)
    rates.put(4 * batch / (time.perf_counter() - start))


def _in_two_processes(layer: str, batch: int) -> float:
    """Images/s of two spawned processes running compiled passes at once (their rates summed)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, rates = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_process_worker, args=(layer, batch, barrier, rates))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    found = [rates.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return float(sum(found))


def report(units, attacks, scale, images) -> None:
    u, a = float(np.median(units)), float(np.median(attacks))
    print(f"unit (forward+backward, {images} images): {u:.2f} s (runs {units})")
    print(f"attack (32 objectives x 3 eps x targeted+shuffled): {a:.2f} s = {a / u:.1f} units "
          f"(runs {attacks})")
    print(f"extrapolated to 115 images: attack {a * scale:.0f} s, unit {u * scale:.1f} s",
          flush=True)


if __name__ == "__main__":
    main()
