"""Loopback servers for tests: a static HTTP server and a moto S3 server, both on 127.0.0.1.

Nothing here talks to anything but 127.0.0.1. Use them from any test, including plugin tests::

    from neuroalign.testing.servers import loopback_http_server, moto_s3_server

    def test_download(tmp_path):
        (tmp_path / "a.nc").write_bytes(b"...")
        with loopback_http_server(tmp_path) as (base_url, hits):
            ...  # fetch f"{base_url}/a.nc"
        assert hits.count == 1

    def test_s3(tmp_path, monkeypatch):
        with moto_s3_server() as s3:
            monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
            url = s3.public_bucket("demo", {"a.nc": b"..."})  # -> "s3://demo"
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HitCounter", "LocalS3", "loopback_http_server", "moto_s3_server", "fetch_worker"]

#: fake, local-only credentials for uploading to the moto server (never real ones)
FAKE_AWS = {"aws_access_key_id": "neuroalign-test", "aws_secret_access_key": "neuroalign-test",
            "aws_session_token": "neuroalign-test", "region_name": "us-east-1"}


@dataclass
class HitCounter:
    """Requests a loopback server received: ``count`` and ``(method, path)`` pairs."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits: HitCounter
    fail_with: int | None = None
    truncate: bool = False
    delay: float = 0.0

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _common(self) -> bool:
        self.hits.add(self.command, self.path)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            self.send_error(self.fail_with)
            return False
        return True

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        if self._common():
            super().do_HEAD()

    def do_GET(self) -> None:  # noqa: N802
        if not self._common():
            return
        if not self.truncate:
            super().do_GET()
            return
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        # announce the full length, send half, hang up: a download cut off mid-way
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


@contextlib.contextmanager
def loopback_http_server(
    directory: str | Path,
    *,
    fail_with: int | None = None,
    truncate: bool = False,
    delay: float = 0.0,
) -> Iterator[tuple[str, HitCounter]]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) in a background thread.

    Parameters
    ----------
    directory : path-like
        Files to serve.
    fail_with : int, optional
        Answer every request with this HTTP status (e.g. 404, 500).
    truncate : bool
        Announce the full Content-Length but send only half the bytes, then close.
    delay : float
        Seconds to wait before answering each request (to make concurrent clients overlap).

    Yields
    ------
    (str, HitCounter)
        The base URL (``http://127.0.0.1:PORT``) and the counter of requests received.
    """
    hits = HitCounter()
    handler = type("Handler", (_Handler,), {"hits": hits, "fail_with": fail_with,
                                             "truncate": truncate, "delay": delay})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class LocalS3:
    """A running moto S3 server: its endpoint and a helper to fill public buckets."""

    endpoint_url: str

    def client(self) -> Any:
        """A boto3 S3 client for this server, with fake local credentials."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, **FAKE_AWS)

    def public_bucket(self, bucket: str, files: Mapping[str, bytes | str | Path]) -> str:
        """Create a public-read ``bucket`` holding ``files`` (key -> bytes or local path).

        Returns ``"s3://<bucket>"``.
        """
        client = self.client()
        client.create_bucket(Bucket=bucket, ACL="public-read")
        for key, content in files.items():
            body = content if isinstance(content, bytes) else Path(content).read_bytes()
            client.put_object(Bucket=bucket, Key=key, Body=body, ACL="public-read")
        return f"s3://{bucket}"


@contextlib.contextmanager
def moto_s3_server() -> Iterator[LocalS3]:
    """Run moto's S3 server on 127.0.0.1 (a free port) for the duration of the block.

    Yields
    ------
    LocalS3
        ``.endpoint_url`` (``http://127.0.0.1:PORT``) and ``.public_bucket(name, files)``.
        Point neuroalign at it with ``NEUROALIGN_S3_ENDPOINT_URL``.
    """
    from moto.server import ThreadedMotoServer

    import urllib.request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto keeps its buckets in process-wide state, shared by every server of the process:
        # start empty, so one test's buckets (and their versioning) never leak into the next
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                      method="POST"), timeout=30).close()
        yield LocalS3(endpoint_url=endpoint)
    finally:
        server.stop()


def fetch_worker(asset_json: str, barrier: Any, results: Any) -> None:
    """Process target for concurrency tests: wait at ``barrier``, fetch, report to ``results``.

    Puts ``("ok", path, sha256)`` or ``("error", type name, message)`` on the ``results`` queue.
    Lives in an importable module so ``multiprocessing``'s ``spawn`` start method can find it.
    """
    from neuroalign.specs import AssetSpec
    from neuroalign.store import fetch, sha256_file

    asset = AssetSpec.model_validate_json(asset_json)
    barrier.wait(timeout=60)
    try:
        path = fetch(asset, progress=False)
        results.put(("ok", str(path), sha256_file(path)))
    except Exception as error:  # report, the parent asserts
        results.put(("error", type(error).__name__, str(error)))
