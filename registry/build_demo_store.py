#!/usr/bin/env python
"""Build the offline synthetic demo store (what ``neuroalign demo`` scores against).

Every installed dataset plugin's synthetic generator (``DatasetSpec.synthetic``) writes its
files, in the dataset's real format, under ``DIRECTORY/<dataset id>/``; ``DIRECTORY/index.json``
lists them with sha256 and size (the registry index format, :mod:`neuroalign.index`). Nothing
touches the network and a given seed and scale give the same bytes, so the index doubles as a
checksum list. Use the store with ``NEUROALIGN_STORE=DIRECTORY``.

    python registry/build_demo_store.py demo-store/store            # demo scale (1/8)
    python registry/build_demo_store.py /tmp/full --scale 1 --force  # real dataset sizes

The builder itself is :func:`neuroalign.app.demo.build_store`.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from neuroalign.app.demo import DEMO_SCALE, DEMO_SEED, build_store

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default="demo-store/store",
                        help="where to write the store (default: demo-store/store)")
    parser.add_argument("--scale", type=float, default=DEMO_SCALE,
                        help=f"fraction of the real dataset sizes (default {DEMO_SCALE})")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="world seed (default 0)")
    parser.add_argument("--dataset", action="append", dest="datasets",
                        help="only this dataset id (repeatable; default: all with a generator)")
    parser.add_argument("--force", action="store_true", help="rebuild even if intact")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    path = build_store(args.directory, scale=args.scale, seed=args.seed, datasets=args.datasets,
                       force=args.force, log=lambda message: print(message, file=sys.stderr))
    print(f"store ready in {time.perf_counter() - start:.1f} s: {path} "
          f"(use it with NEUROALIGN_STORE={path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
