"""A loopback HTTP server that answers the Hub requests huggingface_hub and our downloader make.

Implements, as huggingface_hub 2.4's sources expect them:
  GET  /api/models/{repo}/revision/{rev}             model_info: {"id", "sha", "siblings"}
  GET  /api/models/{repo}/tree/{rev}?recursive=...   list_repo_tree: [{"type", "path", "size", "oid", "lfs"}]
  HEAD /{repo}/resolve/{rev}/{path}                  ETag, X-Repo-Commit, Content-Length (X-Linked-* for LFS)
  GET  /{repo}/resolve/{rev}/{path}                  the file, honouring "Range: bytes=N-" with 206
Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, GatedRepo) as the real Hub does.
Faults for the tests: cut a connection mid-file, answer 503 for a while, stall mid-file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class FakeRepo:
    commit: str
    files: dict[str, bytes]
    lfs_suffixes: tuple[str, ...] = (".safetensors",)
    gated_token: str | None = None  # when set, file downloads need "Authorization: Bearer <token>"

    def is_lfs(self, path: str) -> bool:
        return path.endswith(self.lfs_suffixes)

    def blob_id(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()


@dataclass
class Faults:
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before the cut (once)
    down_after_cut: int = 0  # file requests answered 503 after a cut (the "network" stays down a while)
    down_left: int = 0
    stall_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before stalling
    ignore_range: bool = False  # answer 200 with the whole file, as some proxies and CDNs do
    stalled: threading.Event = field(default_factory=threading.Event)  # set when a stall begins
    release: threading.Event = field(default_factory=threading.Event)  # set to end stalls


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.faults = Faults()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-hub", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_repo(self, repo_id: str, files: dict[str, bytes], **options) -> FakeRepo:
        commit = hashlib.sha1(repo_id.encode() + b"".join(sorted(files.values()))).hexdigest()
        self.repos[repo_id] = FakeRepo(commit, dict(files), **options)
        return self.repos[repo_id]

    def add_folder(self, repo_id: str, folder: Path, **options) -> FakeRepo:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_repo(repo_id, files, **options)

    def file_gets(self, path_suffix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + path_suffix)]

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.faults.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # Clients hanging up (cancel, injected cuts) are part of the tests, not failures of the server.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$")
_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_HEAD(self) -> None:
            self._route(send_body=False)

        def do_GET(self) -> None:
            self._route(send_body=True)

        def _route(self, send_body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.log(Request(self.command, path, self.headers.get("Range"), self.headers.get("Authorization")))
            for pattern, handler in ((_INFO, self._info), (_TREE, self._tree), (_RESOLVE, self._resolve)):
                match = pattern.match(path)
                if match:
                    return handler(send_body=send_body, **match.groupdict())
            self._error(404, "EntryNotFound")

        def _repo(self, repo: str, rev: str) -> FakeRepo | None:
            found = hub.repos.get(repo)
            if found is None:
                self._error(401, "RepoNotFound")
                return None
            if rev not in ("main", found.commit):
                self._error(404, "RevisionNotFound")
                return None
            return found

        def _info(self, repo: str, rev: str, send_body: bool) -> None:
            if (found := self._repo(repo, rev)) is not None:
                siblings = [{"rfilename": p} for p in sorted(found.files)]
                self._json({"id": repo, "sha": found.commit, "siblings": siblings, "private": False,
                            "gated": "manual" if found.gated_token else False})

        def _tree(self, repo: str, rev: str, send_body: bool) -> None:
            if (found := self._repo(repo, rev)) is None:
                return
            entries = []
            for p in sorted(found.files):
                entry = {"type": "file", "path": p, "size": len(found.files[p]), "oid": found.blob_id(p)}
                if found.is_lfs(p):
                    entry["lfs"] = {"oid": found.sha256(p), "size": len(found.files[p]), "pointerSize": 134}
                entries.append(entry)
            self._json(entries)

        def _resolve(self, repo: str, rev: str, path: str, send_body: bool) -> None:
            if (found := self._repo(repo, rev)) is None:
                return
            if path not in found.files:
                return self._error(404, "EntryNotFound")
            if found.gated_token and self.headers.get("Authorization") != f"Bearer {found.gated_token}":
                return self._error(401, "GatedRepo")
            faults = hub.faults
            if send_body and faults.down_left > 0:
                faults.down_left -= 1
                return self._error(503, None)
            data = found.files[path]
            start = None if faults.ignore_range else _range_start(self.headers.get("Range"))
            if start is not None and start >= len(data):
                return self._error(416, None)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            etag = found.sha256(path) if found.is_lfs(path) else found.blob_id(path)
            self.send_header("ETag", f'"{etag}"')
            if found.is_lfs(path):
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("X-Repo-Commit", found.commit)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - (start or 0)))
            self.end_headers()
            if send_body:
                self._send_file(path, data[start or 0:])

        def _send_file(self, path: str, body: bytes) -> None:
            faults = hub.faults
            cut = faults.cut_after.pop(path, None)
            stall = faults.stall_after.pop(path, None)
            if cut is not None:
                faults.down_left = faults.down_after_cut
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the "network" breaks mid-file
                return
            if stall is not None:
                self.wfile.write(body[:stall])
                self.wfile.flush()
                faults.stalled.set()
                faults.release.wait(30)
                return
            self.wfile.write(body)

        def _json(self, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, code: str | None) -> None:
            body = json.dumps({"error": code or "error"}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def _range_start(header: str | None) -> int | None:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match.group(1)) if match else None
