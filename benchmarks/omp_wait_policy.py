"""Import this module before torch in a benchmark script: OpenMP threads then sleep while idle.

PyTorch's CPU kernels run on OpenMP (libgomp), whose worker threads busy-wait (spin) between
parallel regions unless told otherwise. On a machine shared with other jobs, spinning threads
compete for the cores the busy ones need, and one call's wall time swings by an order of
magnitude (a 10-step PGD on 2 shared cores measured 2 s to 64 s). ``OMP_WAIT_POLICY=PASSIVE``
makes idle threads sleep, so repeated calls stay within ~10 % (measured with
``benchmarks/bench_omp_wait_policy.py``; numbers in ``docs/attacks.md``).

The OpenMP runtime reads the variable once, when it is loaded (on ``import torch``), so this
module must be imported first. An explicit ``OMP_WAIT_POLICY`` in the environment is kept
(``OMP_WAIT_POLICY=ACTIVE python benchmarks/bench_attacks.py`` measures the spinning policy).
"""

from __future__ import annotations

import os
import sys

__all__ = ["WAIT_POLICY", "wait_policy"]

WAIT_POLICY = "PASSIVE"

if "OMP_WAIT_POLICY" not in os.environ:
    if "torch" in sys.modules:
        raise RuntimeError(
            "omp_wait_policy was imported after torch, too late for OpenMP to see "
            "OMP_WAIT_POLICY; import it before torch (or set OMP_WAIT_POLICY in the environment)"
        )
    os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY


def wait_policy() -> str:
    """The ``OMP_WAIT_POLICY`` this process runs with (recorded in benchmark reports)."""
    return os.environ.get("OMP_WAIT_POLICY", "")
