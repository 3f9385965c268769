"""Real receivers on 127.0.0.1 for the transport tests: each counts the connections it accepted."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path


class RawServer:
    """A TCP server whose `respond(conn, request_bytes)` writes whatever answer a test needs."""

    def __init__(self, respond, *, tls: ssl.SSLContext | None = None, read_request: bool = True):
        self.respond = respond
        self.read_request = read_request
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.sni: list[str | None] = []
        self.bytes_sent = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(30)
            if not self.read_request:
                self.respond(self, conn)
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head, _, body = request.partition(b"\r\n\r\n")
            fields = dict(line.partition(b":")[::2] for line in head.split(b"\r\n")[1:])
            length = int({k.lower(): v for k, v in fields.items()}.get(b"content-length", 0))
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            self.respond(self, conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.bytes_sent += len(data)

    def close(self) -> None:
        self._stopped.set()
        self._sock.close()


def answer_ok(server: RawServer, conn) -> None:
    server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def answer_dripping(interval_s: float, *, length: int = 15, from_status_line: bool = False):
    """Answers 200 one byte every interval_s, either the whole answer or only its body."""

    def respond(server: RawServer, conn) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode()
        if not from_status_line:
            server.send(conn, head)
            head = b""
        for byte in head + b"x" * length:
            server.send(conn, bytes([byte]))
            time.sleep(interval_s)

    return respond


def answer_huge(total_bytes: int):
    """A 200 whose body is `total_bytes` long, pushed as fast as the client takes it."""

    def respond(server: RawServer, conn) -> None:
        server.send(conn, f"HTTP/1.1 200 OK\r\nContent-Length: {total_bytes}\r\n\r\n".encode())
        block = b"0" * 65536
        remaining = total_bytes
        while remaining > 0:
            server.send(conn, block[:remaining])
            remaining -= len(block)

    return respond


def answer_garbage(server: RawServer, conn) -> None:
    server.send(conn, b"this is not HTTP at all\r\n\r\n")


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` (and a key) made with the openssl command line."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
