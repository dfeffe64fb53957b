"""Property-based fuzz of index parsing and stimulus-set decoding (issue 10, "Measure it").

Every generated input is *bad by construction* (one known-bad mutation of a valid index, or a
stimulus archive with a known defect or a documented recovery). Each outcome is classified:

* ``clear error``: a :class:`~neuroalign.errors.NeuroalignError` whose message names the index
  URL (indexes) or a file (stimuli);
* ``recovery``: a documented recovery whose result is checked exactly (16-bit scaled, palette
  expanded, alpha dropped, gray + colour promoted to RGB);
* ``silent``: anything returned that should not be, or a wrong result;
* ``crash``: any other exception.

The tests assert zero silent and zero crash outcomes. Set ``NEUROALIGN_FUZZ_REPORT=path`` to
write the counts as JSON. Bounded: a fixed number of examples, derandomized, no deadline.
"""

from __future__ import annotations

import collections
import copy
import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroalign.errors import NeuroalignError
from neuroalign.stimuli import decode_image, match_members, stack_images
from neuroalign.store.index import INDEX_FORMAT, parse_index

EXAMPLES = int(os.environ.get("NEUROALIGN_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
SHA = "a" * 64

#: text with markup, control characters and non-ASCII, as a hostile index would hold
hostile_text = st.text(alphabet=st.sampled_from(list("ab[]/:.\\ \x1b\x00\n\u202eé{}\"'")),
                       max_size=20)


def _valid_index() -> dict:
    return {
        "format": INDEX_FORMAT, "generated": "2026-01-01", "description": "fuzz",
        "plugins": [{"distribution": "neuroalign-x", "version": "1", "pip": "pip install x",
                     "benchmarks": ["X.IT-a"], "datasets": ["X.data"]}],
        "benchmarks": [{"id": "X.IT-a", "version": 1, "distribution": "neuroalign-x",
                        "region": "IT", "dataset": "X.data"}],
        "datasets": [{"id": "X.data", "version": 1, "distribution": "neuroalign-x", "assets": [
            {"name": "assembly", "url": "assembly.nc", "sha256": SHA, "format": "netcdf"},
            {"name": "stimuli", "url": "https://cdn.example/s.zip", "sha1": "b" * 40,
             "format": "zip"}]}],
    }


NOT_A_LIST = st.one_of(st.integers(), hostile_text, st.dictionaries(hostile_text, st.integers(),
                                                                    max_size=2), st.none())
NOT_AN_OBJECT = st.one_of(st.integers(), hostile_text, st.lists(st.integers(), max_size=3),
                          st.none(), st.booleans())
NOT_AN_INT = st.one_of(hostile_text.filter(lambda t: not t.strip().lstrip("-").isdigit()),
                       st.lists(st.integers(), max_size=2), st.floats(allow_nan=True).filter(
                           lambda f: not float(f).is_integer() if f == f else True),
                       st.dictionaries(hostile_text, st.integers(), max_size=1))


@st.composite
def bad_index(draw):
    """``(data, remote, what)``: a valid index with one mutation that makes it invalid."""
    data = _valid_index()
    remote = draw(st.booleans())
    kind = draw(st.sampled_from([
        "top", "format", "section", "entry", "required", "version", "size", "sha256", "scheme",
        "local-url", "extra-field", "unhashed-remote", "asset-not-object", "url-type",
        "assets-not-list"]))
    dataset, asset = data["datasets"][0], data["datasets"][0]["assets"][0]
    if kind == "top":
        data = draw(NOT_AN_OBJECT)
    elif kind == "format":
        data["format"] = draw(st.one_of(hostile_text, st.integers(), st.none()).filter(
            lambda v: v != INDEX_FORMAT))
    elif kind == "section":
        data[draw(st.sampled_from(["plugins", "benchmarks", "datasets"]))] = draw(NOT_A_LIST)
    elif kind == "entry":
        section = draw(st.sampled_from(["plugins", "benchmarks", "datasets"]))
        data[section][0] = draw(NOT_AN_OBJECT)
    elif kind == "required":
        target, field = draw(st.sampled_from([
            (dataset, "id"), (dataset, "version"), (dataset, "distribution"),
            (data["benchmarks"][0], "id"), (data["benchmarks"][0], "distribution"),
            (data["plugins"][0], "distribution"), (asset, "name"), (asset, "url")]))
        del target[field]
    elif kind == "version":
        draw(st.sampled_from([dataset, data["benchmarks"][0]]))["version"] = draw(NOT_AN_INT)
    elif kind == "size":
        asset["size"] = draw(st.one_of(st.integers(max_value=-1), NOT_AN_INT))
    elif kind == "sha256":
        asset["sha256"] = draw(st.one_of(hostile_text, st.integers()).filter(
            lambda v: not (isinstance(v, str) and len(v) == 64 and set(v) <= set("0123456789abcdef"))))
    elif kind == "scheme":
        asset["url"] = draw(st.sampled_from(["ftp", "javascript", "data", "ssh", "smb"])) + \
            "://" + draw(hostile_text)
    elif kind == "local-url":
        remote = True
        asset["url"] = draw(st.sampled_from(["file:///etc/passwd", "/etc/passwd",
                                             "memory://x/y", "file://" + "/tmp/x"]))
        asset["sha256"] = draw(st.sampled_from([None, SHA]))
        if asset["sha256"] is None:
            del asset["sha256"]
    elif kind == "extra-field":
        target = draw(st.sampled_from([data, dataset, asset, data["plugins"][0],
                                       data["benchmarks"][0]]))
        name = draw(hostile_text.filter(lambda n: n not in target and n not in (
            "format", "generated", "description", "plugins", "benchmarks", "datasets", "id",
            "version", "distribution", "assets", "name", "url", "sha256", "sha1", "size",
            "format", "version_id", "entry_point", "pip", "models", "kind", "region",
            "dataset", "metric", "citation")))
        target[name] = draw(st.integers())
    elif kind == "unhashed-remote":
        data["datasets"][0]["assets"][1].pop("sha1")
    elif kind == "asset-not-object":
        dataset["assets"][draw(st.integers(0, 1))] = draw(NOT_AN_OBJECT)
    elif kind == "url-type":
        asset["url"] = draw(st.one_of(st.integers(), st.none(), st.lists(st.integers(),
                                                                            max_size=2)))
    elif kind == "assets-not-list":
        dataset["assets"] = draw(NOT_A_LIST)
    return data, remote, kind


def _record(area: str, outcome: str, what: str) -> None:
    OUTCOMES[area][outcome] += 1
    OUTCOMES[area][f"{outcome}: {what}"] += 1


def test_fuzz_index_parsing():
    @FUZZ
    @given(bad_index())
    def check(case):
        data, remote, kind = case
        url = ("https://store.example/x/index.json" if remote else "/srv/store/index.json")
        before = copy.deepcopy(data)
        try:
            parse_index(data, url, remote=remote)
        except NeuroalignError as error:
            message = str(error)
            clear = url in message and "\n" not in message.split(url, 1)[0]
            _record("index", "clear error" if clear else "unclear error", kind)
        except Exception as error:  # noqa: BLE001 - counted, then failed below
            _record("index", "crash", f"{kind}: {type(error).__name__}: {error}"[:120])
        else:
            _record("index", "silent", kind)
        assert data == before  # parsing never edits the caller's data

    check()
    counts = OUTCOMES["index"]
    bad = {k: v for k, v in counts.items() if k.startswith(("silent", "crash", "unclear"))}
    assert not bad, bad
    assert counts["clear error"] >= min(EXAMPLES, 100)


# ------------------------------------------------------------------------- stimulus decoding


def _encode(array: np.ndarray, mode: str | None, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    (Image.fromarray(array, mode=mode) if mode else Image.fromarray(array)).save(buffer,
                                                                                format=fmt)
    return buffer.getvalue()


@st.composite
def stimulus_case(draw):
    """``(files, expected, kind)``: images of one archive and what decoding them must give.

    ``expected`` is the exact uint8 stack (a documented recovery) or the name of a file the
    error must mention.
    """
    size = draw(st.integers(2, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    n = draw(st.integers(2, 5))
    names = [f"img{i}.png" for i in range(n)]
    gray = [rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in names]
    files = {name: _encode(image, None) for name, image in zip(names, gray)}
    kind = draw(st.sampled_from(["16-bit", "palette", "alpha", "rgba", "mixed-color",
                                 "corrupt", "truncated", "float", "int32", "mixed-size",
                                 "ambiguous", "missing"]))
    victim = names[draw(st.integers(0, n - 1))]
    index = names.index(victim)
    expected: object = np.stack(gray)[..., None]
    if kind == "16-bit":
        wide = rng.integers(0, 65536, (size, size), dtype=np.uint16)
        files[victim] = _encode(wide, None)
        stack = np.stack(gray)
        stack[index] = np.round(wide / 257.0).astype(np.uint8)
        expected = stack[..., None]
    elif kind == "palette":
        from PIL import Image

        palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
        codes = rng.integers(0, 256, (size, size), dtype=np.uint8)
        image = Image.fromarray(codes, mode="P")
        image.putpalette(palette.flatten().tolist())
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        files[victim] = buffer.getvalue()
        rgb = palette[codes]
        is_gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        stack = [np.repeat(g[..., None], 3, -1) for g in gray]
        stack[index] = rgb
        expected = np.stack(gray)[..., None] if is_gray else np.stack(stack)
        if is_gray:
            expected[index, ..., 0] = rgb[..., 0]
    elif kind == "alpha":  # LA: alpha dropped, gray kept
        alpha = rng.integers(0, 256, (size, size), dtype=np.uint8)
        files[victim] = _encode(np.stack([gray[index], alpha], -1), "LA")
    elif kind in ("rgba", "mixed-color"):
        rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        if kind == "rgba":
            alpha = rng.integers(0, 256, (size, size, 1), dtype=np.uint8)
            files[victim] = _encode(np.concatenate([rgb, alpha], -1), "RGBA")
        else:
            files[victim] = _encode(rgb, None)
        stack = [np.repeat(g[..., None], 3, -1) for g in gray]
        stack[index] = rgb
        expected = np.stack(stack)
    elif kind == "corrupt":
        files[victim] = draw(st.binary(max_size=40))
        expected = victim
    elif kind == "truncated":
        files[victim] = files[victim][: draw(st.integers(0, len(files[victim]) - 13))]
        expected = victim
    elif kind == "float":
        files[victim] = _encode(rng.random((size, size)).astype(np.float32), None, "TIFF")
        expected = victim
    elif kind == "int32":
        files[victim] = _encode(rng.integers(0, 2 ** 20, (size, size)).astype(np.int32), None,
                                "TIFF")
        expected = victim
    elif kind == "mixed-size":
        files[victim] = _encode(rng.integers(0, 256, (size + 1, size), dtype=np.uint8), None)
        expected = victim
    elif kind == "ambiguous":
        expected = victim  # the victim also exists under two folders
    elif kind == "missing":
        del files[victim]
        expected = victim
    return files, expected, kind, victim


def _archive(files: dict[str, bytes], kind: str, victim: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            if kind == "ambiguous" and name == victim:
                archive.writestr(f"a/{name}", data)
                archive.writestr(f"b/{name}", data)
            else:
                archive.writestr(f"top/{name}", data)
    return buffer.getvalue()


def _load(listed: list[str], blob: bytes) -> np.ndarray:
    """What a loader does (the Majaj plugin's read_stimulus_set): match, decode, stack."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = match_members(listed, archive.namelist(), archive="stimuli.zip")
        return stack_images({name: decode_image(archive.read(members[name]), members[name])
                             for name in listed})


def test_fuzz_stimulus_loading():
    @FUZZ
    @given(stimulus_case())
    def check(case):
        files, expected, kind, victim = case
        listed = sorted(set(files) | {victim})
        blob = _archive(files, kind, victim)
        try:
            result = _load(listed, blob)
        except NeuroalignError as error:
            named = isinstance(expected, str) and expected in str(error)
            _record("stimuli", "clear error" if named else "unclear error",
                    f"{kind}: {error}"[:100] if not named else kind)
        except Exception as error:  # noqa: BLE001 - counted, then failed below
            _record("stimuli", "crash", f"{kind}: {type(error).__name__}: {error}"[:120])
        else:
            right = isinstance(expected, np.ndarray) and result.shape == expected.shape and \
                np.array_equal(result, expected)
            _record("stimuli", "recovery" if right else "silent", kind)

    check()
    counts = OUTCOMES["stimuli"]
    bad = {k: v for k, v in counts.items() if k.startswith(("silent", "crash", "unclear"))}
    assert not bad, bad
    assert counts["clear error"] > 0 and counts["recovery"] > 0


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("NEUROALIGN_FUZZ_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump({area: dict(counts) for area, counts in OUTCOMES.items()}, handle,
                      indent=1, sort_keys=True)
