"""Generate ``timm_models.json``, the catalog of timm architectures this plugin registers.

Registration must not import timm or torch, so the list of architectures, their pretrained tags
and their timm module (the *family*) is shipped as a data file generated from the installed timm::

    python -m neuroalign_timm.generate            # rewrite the shipped file
    python -m neuroalign_timm.generate --check    # exit 1 if it is stale

The test suite compares the shipped file with :func:`build_catalog` of the installed timm.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["CATALOG_PATH", "build_catalog", "main", "render"]

CATALOG_PATH = Path(__file__).with_name("timm_models.json")


def build_catalog() -> dict[str, Any]:
    """The catalog of the installed timm: architecture -> family and pretrained tags.

    Returns
    -------
    dict
        ``{"timm_version": str, "models": {name: {"family": str, "tags": [tag, ...]}}}``. The
        first tag is timm's default (what ``timm.create_model(name, pretrained=True)`` loads);
        an empty list means timm has no pretrained weights for the architecture.
    """
    import timm
    from timm.models import get_pretrained_cfg

    family: dict[str, str] = {}
    for module in timm.list_modules():
        for name in timm.list_models(module=module):
            family.setdefault(name, module)
    tags: dict[str, list[str]] = {name: [] for name in timm.list_models()}
    for full in timm.list_models(pretrained=True):
        name, _, tag = full.partition(".")
        tags.setdefault(name, []).append(tag)
    models: dict[str, dict[str, Any]] = {}
    for name in sorted(tags):
        found = tags[name]
        default = get_pretrained_cfg(name) if found else None
        default_tag = getattr(default, "tag", None)
        if default_tag in found:  # timm's default first, the rest in timm's order
            found = [default_tag] + [t for t in found if t != default_tag]
        models[name] = {"family": family.get(name, "unknown"), "tags": found}
    return {"timm_version": timm.__version__, "models": models}


def render(catalog: dict[str, Any]) -> str:
    """Stable JSON text (one architecture a line, so diffs stay readable)."""
    lines = ["{", f'  "timm_version": {json.dumps(catalog["timm_version"])},', '  "models": {']
    items = list(catalog["models"].items())
    for i, (name, entry) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}{comma}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped file is stale")
    parser.add_argument("--output", type=Path, default=CATALOG_PATH)
    args = parser.parse_args(argv)
    text = render(build_catalog())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; regenerate with: python -m neuroalign_timm.generate")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output} ({text.count(chr(10)) - 5} architectures)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
