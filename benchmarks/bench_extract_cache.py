"""A second run of the same extraction hits the activation cache (target: < 5% of the first).

Uses the setup of ``bench_extract_memory.py`` (timm resnet50, random weights, 2,560 stimuli at
224 px, PCA). Given the ``--home`` of a finished memory run (its ``first_run.json``), only the
second run is made; otherwise both are, each in a fresh process. Reported: the
``model.activations`` call time (``extract_s``) and the whole child process time
(``process_s``: imports, model construction, hashing of weights and stimuli, cache reads),
and their ratios to the first run.

Run::

    .venv/bin/python benchmarks/bench_extract_cache.py --home /tmp/na-bench
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_extract_memory import parser, run_child, stimuli_path


def main() -> None:
    args = parser().parse_args()
    args.home = args.home or tempfile.mkdtemp(prefix="neuroalign-bench-")
    os.environ["NEUROALIGN_HOME"] = args.home
    stimuli_path(args)
    previous = Path(args.home, "first_run.json")
    first = json.loads(previous.read_text()) if previous.exists() else None
    same = first and all(first.get(k) == getattr(args, k) for k in ("model", "n", "reduction"))
    if not same:
        first = run_child(args)
        previous.write_text(json.dumps(first))
    second = run_child(args)
    print(json.dumps({
        "first": first, "second": second,
        "second_cached_all_layers": second["cached_layers"] == len(second["layers"]),
        "ratio_extract": round(second["extract_s"] / first["extract_s"], 4),
        "ratio_process": round(second["process_s"] / first["process_s"], 4),
    }))


if __name__ == "__main__":
    main()
