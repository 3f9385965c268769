"""Serves the Eachlabs provider simulator on 127.0.0.1 over real HTTP (load and fault tests)."""

from __future__ import annotations

import signal
import socketserver
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from provider_simulator import Simulator, SimulatorConfig


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # one line per request is noise at 100 creates a minute
        pass


def _rate(value: str) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("must be between 0 and 1")
    return rate


class Command(BaseCommand):
    help = "Serve a faithful Eachlabs Seedance 2.0 simulator on 127.0.0.1 (base URL http://127.0.0.1:PORT/v1)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency", type=float, default=None, help="seconds per job (default: ~220 s, seeded)")
        parser.add_argument("--failure-rate", type=_rate, default=0.0, help="share of jobs that end in error")
        parser.add_argument("--no-webhooks", action="store_true", help="never send webhooks")
        parser.add_argument("--seed", type=int, default=None, help="seed for latencies, failures and faults")
        parser.add_argument("--allow-local-urls", action="store_true", help="accept localhost/private image URLs")
        parser.add_argument("--create-limit", type=int, default=100, help="creates per rolling minute per key")
        parser.add_argument("--concurrency-limit", type=int, default=10, help="jobs in flight per key")
        parser.add_argument("--error-429-rate", type=_rate, default=0.0, help="share of API calls answered 429")
        parser.add_argument("--error-5xx-rate", type=_rate, default=0.0, help="share of API calls answered 5xx")
        parser.add_argument("--webhook-loss-rate", type=_rate, default=0.0, help="share of webhooks never sent")
        parser.add_argument("--response-delay", type=float, default=0.0, help="seconds before each API answer")
        parser.add_argument("--retention", type=float, default=3600.0, help="seconds an output URL stays alive")
        parser.add_argument(
            "--key",
            action="append",
            default=[],
            metavar="KEY[=LIMIT]",
            help="accept this API key (others get 401), optionally with its own in-flight limit; repeatable",
        )
        parser.add_argument("--state-dir", default=None, help="default: EACHLABS_SIMULATOR_DIR/standalone-PORT")

    def handle(self, *args, **options):
        port = options["port"]
        state_dir = Path(options["state_dir"] or Path(settings.EACHLABS_SIMULATOR_DIR) / f"standalone-{port}")
        config = SimulatorConfig(
            latency_s=options["latency"],
            failure_rate=options["failure_rate"],
            webhooks_enabled=not options["no_webhooks"],
            allow_local_urls=options["allow_local_urls"],
            create_limit=options["create_limit"],
            concurrency_limit=options["concurrency_limit"],
            error_429_rate=options["error_429_rate"],
            error_5xx_rate=options["error_5xx_rate"],
            webhook_loss_rate=options["webhook_loss_rate"],
            response_delay_s=options["response_delay"],
            output_retention_s=options["retention"],
            accepted_keys=frozenset(key.partition("=")[0] for key in options["key"]) or None,
            key_concurrency_limits={
                key: int(limit) for key, _, limit in (item.partition("=") for item in options["key"]) if limit
            }
            or None,
        )
        simulator = Simulator(
            state_dir=state_dir,
            output_base_url=f"http://127.0.0.1:{port}/simulator/outputs",
            config=config,
            seed=options["seed"],
            site_url=settings.SITE_URL,
            media_url=settings.MEDIA_URL,
        )
        try:
            server = make_server(
                "127.0.0.1", port, simulator, server_class=_ThreadingServer, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc}") from exc
        simulator.start_background(interval_s=0.5)
        # SIGTERM (a supervisor, a test) stops as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
        latency = f"{config.latency_s:g} s" if config.latency_s is not None else "~220 s"
        self.stdout.write(
            f"Eachlabs simulator listening on http://127.0.0.1:{port}/v1 (latency {latency}, "
            f"failure rate {config.failure_rate:g}, webhooks {'on' if config.webhooks_enabled else 'off'}, "
            f"state {state_dir})",
        )
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop_background()
            server.server_close()
        self.stdout.write("Eachlabs simulator stopped.")
