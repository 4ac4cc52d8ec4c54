"""The response store served over HTTP, for xdist workers on other hosts.

The claim store is a SQLite file: processes on one machine share it, but workers that xdist
starts on other hosts (``--tx ssh=...``) would each open their own file, send the same request
twice and leave the answers on their host. With ``--mlb-store-server=HOST:PORT`` the controller
serves its own store (one SQLite file, on its disk) to every worker: each operation of
``ResponseStore`` (read, claim, renew, fail, write) is one small POST, checked by a token the
controller hands the workers with their input. The controller holds the only copy, so the next
run finds the answers there.

The server is the standard library's threading HTTP server (one store connection per handler
thread, as SQLite wants); the client is ``httpx``. It is meant for a trusted network: the token
keeps a stray client out, but the traffic is plain HTTP, as xdist's own channel over ssh is not.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from .cache import CacheError, ClaimState, ResponseStore

TOKEN_HEADER = "X-MLB-Store-Token"
_OPS = frozenset({"get_many", "put", "claim", "release", "renew", "fail", "claims", "count"})


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``PORT`` 0 picks a free one); a bare port binds every interface."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--mlb-store-server: {text!r} is not HOST:PORT (e.g. 0.0.0.0:8765)")
    return (host or "0.0.0.0"), int(port)


class StoreServer:
    """Serves one SQLite store file to remote workers until ``close``."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0, advertise: str | None = None) -> None:
        self.path = path
        self.token = secrets.token_urlsafe(24)
        self.requests = 0
        local = threading.local()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # quiet: pytest owns the terminal
                pass

            def do_POST(self) -> None:
                if self.headers.get(TOKEN_HEADER) != server.token:
                    self._reply(403, {"error": "wrong or missing store token"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    op, args, who = body["op"], body["args"], body["store"]
                    if op not in _OPS:
                        raise KeyError(op)
                except (ValueError, KeyError, TypeError) as exc:
                    self._reply(400, {"error": f"bad store request: {exc}"})
                    return
                stores: dict[tuple[str, str], ResponseStore] = local.__dict__.setdefault("stores", {})
                try:
                    key = (who["run_id"], who["owner"])
                    if key not in stores:
                        stores[key] = ResponseStore(server.path, *key)
                    result = getattr(stores[key], op)(*args)
                except CacheError as exc:
                    self._reply(500, {"error": str(exc)})
                    return
                server.requests += 1
                self._reply(200, {"result": _encode(op, result)})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        shown = advertise or (str(bound_host) if bound_host not in ("0.0.0.0", "::") else _this_host())
        self.url = f"http://{shown}:{bound_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="mlb-store-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _this_host() -> str:
    import socket

    return socket.getfqdn()


def _encode(op: str, result: Any) -> Any:
    if op == "claims":
        return {k: asdict(v) for k, v in result.items()}
    return result


class RemoteStore:
    """``ResponseStore``'s interface, answered by a ``StoreServer``; a failure is a ``CacheError``."""

    def __init__(self, url: str, token: str, run_id: str, owner: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.owner = owner
        self._client = httpx.Client(timeout=timeout_s, headers={TOKEN_HEADER: token})

    def _call(self, op: str, *args: Any) -> Any:
        try:
            resp = self._client.post(
                self.url + "/store",
                json={"op": op, "args": list(args), "store": {"run_id": self.run_id, "owner": self.owner}},
            )
        except httpx.HTTPError as exc:
            raise CacheError(f"response store server {self.url}: {type(exc).__name__}: {exc}") from None
        try:
            payload = resp.json()
        except ValueError:
            raise CacheError(f"response store server {self.url}: HTTP {resp.status_code}, not JSON") from None
        if resp.status_code != 200:
            raise CacheError(f"response store server {self.url}: {payload.get('error', resp.status_code)}")
        return payload["result"]

    def get_many(self, keys: Sequence[str], max_age_s: float | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        return {k: (raw, meta) for k, (raw, meta) in self._call("get_many", list(keys), max_age_s).items()}

    def put(self, key: str, model: str, raw: str, meta: dict[str, Any]) -> None:
        self._call("put", key, model, raw, meta)

    def claim(self, key: str, lease_s: float, max_age_s: float | None = None) -> str:
        return str(self._call("claim", key, lease_s, max_age_s))

    def release(self) -> int:
        return int(self._call("release"))

    def renew(self, keys: Iterable[str], lease_s: float) -> None:
        self._call("renew", list(keys), lease_s)

    def fail(self, key: str, message: str, lease_s: float) -> None:
        self._call("fail", key, message, lease_s)

    def claims(self, keys: Sequence[str]) -> dict[str, ClaimState]:
        return {k: ClaimState(**v) for k, v in self._call("claims", list(keys)).items()}

    def count(self) -> int:
        return int(self._call("count"))

    def close(self) -> None:
        self._client.close()
