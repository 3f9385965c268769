"""A stand-in Sentry: a local HTTP server that keeps every envelope the SDK sends, decoded into items."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSentry:
    def __init__(self):
        self.envelopes: list[list[dict]] = []
        self.raw: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                fake.raw.append(body)
                fake.envelopes.append(_items(body))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public0key@127.0.0.1:{self.server.server_port}/42"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [item for envelope in self.envelopes for item in envelope if "exception" in item or "message" in item]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _items(body: bytes) -> list[dict]:
    """An envelope is a header line, then (item header line, payload line) pairs; keep the JSON payloads."""
    items = []
    for line in body.split(b"\n")[1:]:
        try:
            decoded = json.loads(line)
        except ValueError:
            continue
        if isinstance(decoded, dict) and "type" not in decoded:
            items.append(decoded)
    return items
