"""Fixtures shared by the data-layer tests: a real HTTP server on 127.0.0.1 and an empty cache."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class Server(ThreadingHTTPServer):
    """Serves ``routes``: path -> (body, behaviour, content type); counts every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, tuple[bytes, str, str]] = {}
        self.hits: list[str] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def serve(self, path: str, body: bytes, behaviour: str = "normal", kind: str = "application/octet-stream") -> str:
        self.routes[path] = (body, behaviour, kind)
        return self.url(path)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.hits.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, behaviour, kind = self.server.routes[self.path]
        if behaviour == "stall":  # accept, then say nothing
            time.sleep(3)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if behaviour == "encoded":  # transport compression, as GitHub's raw host does
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        if behaviour not in ("cut", "nolength"):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "cut":  # no Content-Length: the cut cannot be seen in the transfer
            self.wfile.write(body[: len(body) // 2])
        elif behaviour == "truncate":  # promise the whole body, send a third, close cleanly
            self.wfile.write(body[: len(body) // 3])
        elif behaviour == "reset":  # send half, then abort the connection (RST)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
        elif behaviour in ("trickle", "slow"):
            step, pause = (1, 0.2) if behaviour == "trickle" else (max(len(body) // 10, 1), 0.05)
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass
        else:
            self.wfile.write(body)


@pytest.fixture
def server():
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_DOWNLOAD_DEADLINE", raising=False)
    return folder
