"""How much does registering every timm architecture cost? (neuroalign-timm)

Each measurement runs in a fresh interpreter (nothing cached, nothing imported) and is repeated;
the median and the min are reported. What is timed:

``core import``       ``import neuroalign.plugins`` (pydantic, pluggy): the floor every plugin pays
``plugin import``     ``import neuroalign_timm.plugin`` on top of that
``catalog read``      reading and parsing the shipped ``timm_models.json``
``spec build``        constructing one validated ``ModelSpec`` per architecture
``registry``          a fresh ``PluginManager`` with only this plugin, registry collected
                      (hook call, staging, duplicate checks): what a ``neuroalign`` command pays
``list models``       ``neuroalign list models 'timm:*' --json`` end to end (only this plugin),
                      checked not to import torch or timm

Run::

    python benchmarks/bench_timm_registration.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

SNIPPET = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import neuroalign.plugins
    t1 = time.perf_counter()
    import neuroalign_timm.plugin
    from neuroalign_timm.specs import catalog, model_specs
    t2 = time.perf_counter()
    cat = catalog()
    t3 = time.perf_counter()
    specs = model_specs()
    t4 = time.perf_counter()
    manager = neuroalign.plugins.PluginManager(autoload=False, builtin=False)
    manager.register(neuroalign_timm.plugin, name="timm", distribution="neuroalign-timm")
    n = len(manager.registry.ids("model"))
    t5 = time.perf_counter()
    heavy = [m for m in ("torch", "timm") if m in sys.modules]
    print(json.dumps({"core import": t1 - t0, "plugin import": t2 - t1, "catalog read": t3 - t2,
                      "spec build": t4 - t3, "registry": t5 - t4, "models": n, "heavy": heavy}))
""")

CLI_SNIPPET = textwrap.dedent("""
    import contextlib, io, json, sys, time
    t0 = time.perf_counter()
    from neuroalign.app.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(["list", "models", "timm:*", "--json"])
        except SystemExit:
            pass
    t1 = time.perf_counter()
    heavy = [m for m in ("torch", "timm") if m in sys.modules]
    print(json.dumps({"list models": t1 - t0, "listed": len(json.loads(out.getvalue())),
                      "heavy": heavy}))
""")


def _run(code: str) -> dict:
    env = {**os.environ, "NEUROALIGN_LOAD_PLUGINS": "timm"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    runs = [_run(SNIPPET) for _ in range(args.repeat)]
    cli_runs = [_run(CLI_SNIPPET) for _ in range(args.repeat)]
    print(f"neuroalign-timm registration, {runs[0]['models']} models, "
          f"median (min) of {args.repeat} fresh interpreters:")
    for key in ("core import", "plugin import", "catalog read", "spec build", "registry"):
        values = [r[key] * 1000 for r in runs]
        print(f"  {key:<14} {statistics.median(values):8.1f} ms  ({min(values):.1f})")
    values = [r["list models"] * 1000 for r in cli_runs]
    print(f"  {'list models':<14} {statistics.median(values):8.1f} ms  ({min(values):.1f})  "
          f"[{cli_runs[0]['listed']} listed]")
    per_model = statistics.median(r["spec build"] + r["registry"] for r in runs) / runs[0]["models"]
    print(f"  per model      {per_model * 1e6:8.1f} us (spec build + registry)")
    heavy = sorted({m for r in runs + cli_runs for m in r["heavy"]})
    print(f"  heavy modules imported: {heavy or 'none'}")
    return 1 if heavy else 0


if __name__ == "__main__":
    sys.exit(main())
