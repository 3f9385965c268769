"""A faithful fake of the Eachlabs Seedance 2.0 prediction API: routing, auth, limits, faults, control, jobs."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import asdict
from pathlib import Path

import httpx
from PIL import Image

from provider_simulator import inputs as input_checks
from provider_simulator import video, webhooks
from provider_simulator.config import FakeClock, Forced, SimulatorConfig, SystemClock, configure
from provider_simulator.http import Reject, SimRequest, SimResponse, SimulatorTransport, wsgi_call
from provider_simulator.inputs import MODEL_SLUG
from provider_simulator.state import Job, StateStore

logger = logging.getLogger(__name__)

__all__ = ["FakeClock", "Forced", "Simulator", "SimulatorConfig", "SimRequest", "SimResponse", "SystemClock"]

_KEEP_JOBS_S = 7 * 24 * 3600


def key_hash_of(key: str) -> str:
    """How the simulator names a key in its store (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Simulator:
    """The fake provider. Call it as a WSGI app, or use `transport()` for an in-process httpx client."""

    def __init__(
        self,
        *,
        state_dir: Path,
        output_base_url: str,
        config: SimulatorConfig | None = None,
        clock=None,
        seed: int | None = None,
        site_url: str = "",
        media_url: str = "/media/",
        deliver_site_in_process: bool = False,
        webhook_transport: httpx.BaseTransport | None = None,
    ):
        self.config = config or SimulatorConfig()
        self.clock = clock or SystemClock()
        self.store = StateStore(Path(state_dir))
        self.outputs_dir = Path(state_dir) / "outputs"
        self.output_base_url = output_base_url.rstrip("/")
        self.site_url = site_url.rstrip("/")
        self.media_url = media_url
        self.deliver_site_in_process = deliver_site_in_process
        self.webhook_transport = webhook_transport
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._forced: deque[Forced] = deque()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_sweep = 0.0

    # --- test and fault controls ----------------------------------------------------
    def force_next(
        self,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        message: str = "",
        details: str = "",
        timeout: bool = False,
        network_error: bool = False,
        hang: bool = False,
        method: str | None = None,
        count: int = 1,
    ) -> None:
        """Script the next `count` API calls (optionally only `method` ones): an HTTP error status, a read
        timeout after the call was processed (`timeout`), or a connection failure before it (`network_error`).
        Timeouts (`hang` is the same) and network errors only happen through the in-process transport."""
        timeout = timeout or hang
        for _ in range(count):
            self._forced.append(
                Forced(status_code, retry_after, message, details, timeout, network_error, method and method.upper())
            )

    def advance(self, seconds: float) -> None:
        """Move a FakeClock forward."""
        self.clock.advance(seconds)

    def job(self, prediction_id: str) -> Job | None:
        """The stored job (its `input` is exactly what the client sent)."""
        return self.store.get_job(prediction_id)

    def webhook_state(self, prediction_id: str) -> dict | None:
        return self.store.webhook_state(prediction_id)

    def _pop_forced(self, method: str) -> Forced | None:
        with self._lock:
            for index, forced in enumerate(self._forced):
                if forced.method in (None, method):
                    del self._forced[index]
                    return forced
        return None

    # --- HTTP entry points ------------------------------------------------------------
    def __call__(self, environ, start_response):
        """WSGI entry point (the standalone server)."""
        return wsgi_call(self, environ, start_response)

    def transport(self, *, api_base_url: str) -> SimulatorTransport:
        return SimulatorTransport(self, api_base_url=api_base_url)

    def handle(self, request: SimRequest, *, forced: Forced | None = None) -> SimResponse:
        """Answer one request; never raises."""
        try:
            return self._route(request, forced)
        except Reject as reject:
            return reject.response
        except Exception:  # the real provider answers 500 on its own bugs, and so do we
            logger.exception("simulator error")
            self.stats["faults"] += 1
            return SimResponse.error(500, "Internal server error")

    def _route(self, request: SimRequest, forced: Forced | None) -> SimResponse:
        parts = [part for part in request.path.split("/") if part]
        if len(parts) >= 3 and parts[-3:-1] == ["simulator", "outputs"]:
            return self._serve_output(request, parts[-1])
        if parts == ["_simulator", "config"]:
            return self._control(request)
        if parts[:2] != ["v1", "prediction"] or len(parts) > 3:
            raise Reject(SimResponse.error(404, "Not found", f"No route for {request.path}"))
        key_hash = self._authenticate(request)
        self._inject_faults(forced)
        if len(parts) == 2:
            if request.method != "POST":
                raise Reject(SimResponse.error(405, "Method not allowed"))
            return self._create(request, key_hash)
        if request.method != "GET":
            raise Reject(SimResponse.error(405, "Method not allowed"))
        return self._get(parts[2], key_hash)

    def _authenticate(self, request: SimRequest) -> str:
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            self.stats["unauthorized"] += 1
            raise Reject(SimResponse.error(401, "Missing API key", "Send your API key in the X-API-Key header."))
        if self.config.accepted_keys is not None and key not in self.config.accepted_keys:
            self.stats["unauthorized"] += 1
            raise Reject(SimResponse.error(401, "Invalid API key", "The API key is not valid or was revoked."))
        return key_hash_of(key)

    def _inject_faults(self, forced: Forced | None) -> None:
        if forced is not None and forced.status_code:
            self._reject_with(forced.status_code, forced.retry_after, forced.message, forced.details)
        with self._lock:
            roll_429, roll_5xx, pick = self._rng.random(), self._rng.random(), self._rng.choice((500, 502, 503))
        if roll_429 < self.config.error_429_rate:
            self._reject_with(429, self.config.storm_retry_after_s, "", "")
        if roll_5xx < self.config.error_5xx_rate:
            self._reject_with(pick, None, "", "")

    def _reject_with(self, status: int, retry_after: float | None, message: str, details: str) -> None:
        headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
        if status == 429:
            self.stats["rate_limited"] += 1
            message = message or "Rate limit exceeded"
        elif status >= 500:
            self.stats["faults"] += 1
            message = message or "Internal server error"
        raise Reject(SimResponse.error(status, message or "Request failed", details, headers))

    # --- control (not part of the provider's API) ----------------------------------------
    def _control(self, request: SimRequest) -> SimResponse:
        """GET shows the config and counters; POST {"field": value, ...} changes the config of a running server."""
        if request.method == "POST":
            try:
                changes = json.loads(request.body or b"{}")
                self.configure(**changes)
            except (ValueError, TypeError) as exc:
                return SimResponse.error(400, "Invalid config change", str(exc))
        elif request.method != "GET":
            return SimResponse.error(405, "Method not allowed")
        config = asdict(self.config)
        config["accepted_keys"] = sorted(config["accepted_keys"]) if config["accepted_keys"] is not None else None
        return SimResponse.json(200, {"config": config, "stats": dict(self.stats)})

    def configure(self, **changes) -> None:
        """Change config fields by name, checking names and coercing types (the control endpoint uses this)."""
        configure(self.config, **changes)

    # --- create -------------------------------------------------------------------------
    def _create(self, request: SimRequest, key_hash: str) -> SimResponse:
        self.stats["create_requests"] += 1
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return self._invalid("Request body must be a JSON object")
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            return self._invalid("model is required", "Give the model slug in the `model` field.")
        if model != MODEL_SLUG:
            self.stats["not_found"] += 1
            return SimResponse.error(404, "Model not found", f"No model with slug {model!r}.")
        inputs = payload.get("input")
        if not isinstance(inputs, dict):
            return self._invalid("input must be a JSON object", "Send `input` as an object, not a string.")
        problems = input_checks.validate_input(self, inputs)
        webhook_url = payload.get("webhook_url")
        if webhook_url is not None and not input_checks.is_http_url(webhook_url):
            problems.append("webhook_url: must be an absolute http(s) URL")
        if problems:
            return self._invalid(f"Invalid input: {problems[0]}", "; ".join(problems))
        return self._admit(key_hash, inputs, webhook_url)

    def _invalid(self, message: str, details: str = "") -> SimResponse:
        self.stats["invalid"] += 1
        return SimResponse.error(400, message, details)

    def _admit(self, key_hash: str, inputs: dict, webhook_url: str | None) -> SimResponse:
        now = self.clock()
        with self.store.write() as db:
            created, oldest = self.store.count_created_since(db, key_hash, now - self.config.create_window_s)
            if created >= self.config.create_limit:
                wait_s = oldest + self.config.create_window_s - now
                return self._limited(f"{self.config.create_limit} creates per minute", wait_s)
            in_flight, first_done = self.store.count_in_flight(db, key_hash, now)
            limit = self._concurrency_limit(key_hash)
            if in_flight >= limit:
                return self._limited(f"{limit} concurrent predictions", first_done - now)
            job = self._new_job(key_hash, inputs, now)
            self.store.insert_job(db, job)
            if webhook_url is not None:
                webhooks.schedule_webhook(self, db, job, webhook_url)
        self.stats["creates"] += 1
        return SimResponse.json(
            200, {"status": "success", "message": "Prediction created successfully", "predictionID": job.id}
        )

    def _concurrency_limit(self, key_hash: str) -> int:
        for key, limit in (self.config.key_concurrency_limits or {}).items():
            if key_hash_of(key) == key_hash:
                return limit
        return self.config.concurrency_limit

    def _limited(self, what: str, wait_s: float) -> SimResponse:
        self.stats["rate_limited"] += 1
        return SimResponse.error(
            429,
            f"Rate limit exceeded: at most {what} per API key",
            "Retry after the time given in the Retry-After header.",
            {"Retry-After": str(max(1, math.ceil(wait_s)))},
        )

    def _new_job(self, key_hash: str, inputs: dict, now: float) -> Job:
        config = self.config
        with self._lock:
            drawn = self._rng.gauss(config.latency_mean_s, config.latency_sd_s)
            fails = self._rng.random() < config.failure_rate
            jitter = self._rng.uniform(0.9, 0.99)
        latency_s = config.latency_s if config.latency_s is not None else min(max(drawn, 60.0), 600.0)
        job_id = str(uuid.uuid4())
        return Job(
            id=job_id,
            key_hash=key_hash,
            created_at=now,
            finish_at=now + latency_s,
            outcome="error" if fails else "success",
            message="Prediction failed" if fails else "",
            details="The model could not generate a video for this input." if fails else "",
            predict_time=None if fails else round(latency_s * jitter, 2),
            input=inputs,
            output_url="" if fails else f"{self.output_base_url}/{job_id}.mp4",
        )

    # --- poll ------------------------------------------------------------------------------
    def _get(self, prediction_id: str, key_hash: str) -> SimResponse:
        self.stats["gets"] += 1
        job = self.store.get_job(prediction_id)
        if job is None or job.key_hash != key_hash:
            self.stats["not_found"] += 1
            return SimResponse.error(404, "Prediction not found", f"No prediction with id {prediction_id!r}.")
        if self.clock() < job.finish_at:
            return SimResponse.json(200, {"status": "processing", "predictionID": job.id, "output": None})
        if job.outcome == "error":
            return SimResponse.json(
                200,
                {"status": "error", "predictionID": job.id, "output": None, "message": job.message,
                 "details": job.details},
            )  # fmt: skip
        return SimResponse.json(
            200,
            {"status": "success", "predictionID": job.id, "output": job.output_url,
             "metrics": {"predict_time": job.predict_time}},
        )  # fmt: skip

    # --- outputs -------------------------------------------------------------------------
    def output_file(self, prediction_id: str) -> Path | None:
        """The rendered MP4 of a succeeded job while its URL is alive (rendered on first use), else None."""
        job = self.store.get_job(prediction_id)
        now = self.clock()
        if job is None or job.outcome != "success" or now < job.finish_at:
            return None
        if now >= job.finish_at + self.config.output_retention_s:
            return None
        path = self.outputs_dir / f"{job.id}.mp4"
        if not path.exists():
            self._render(job, path)
        return path

    def _serve_output(self, request: SimRequest, name: str) -> SimResponse:
        if request.method not in ("GET", "HEAD") or not name.endswith(".mp4"):
            return SimResponse.error(404, "Not found")
        path = self.output_file(name.removesuffix(".mp4"))
        if path is None:
            return SimResponse(404, b"Not Found", {"Content-Type": "text/plain"})
        self.stats["outputs_served"] += 1
        body: bytes | Path = b"" if request.method == "HEAD" else path
        return SimResponse(200, body, {"Content-Type": "video/mp4", "Content-Length": str(path.stat().st_size)})

    def video_spec(self, job: Job, first: Image.Image) -> video.VideoSpec:
        inputs = job.input
        duration = inputs.get("duration", "auto")
        if duration != "auto":
            seconds = float(duration)
        elif self.config.auto_duration_s is not None:
            seconds = self.config.auto_duration_s
        else:
            seconds = video.auto_duration_s(json.dumps(inputs, sort_keys=True)) + self.config.auto_extra_s
        ratio = inputs.get("aspect_ratio", "auto")
        if ratio == "auto":
            ratio = video.snap_aspect_ratio(*first.size)
        width, height = video.frame_size(ratio)
        return video.VideoSpec(width, height, seconds, bool(inputs.get("generate_audio", True)))

    def _render(self, job: Job, path: Path) -> None:
        started = time.perf_counter()
        label = f"Seedance simulator: {job.input.get('prompt', '')}"
        first = input_checks.load_image(self, job.input.get("image_url"), label)
        last = input_checks.load_image(self, job.input.get("end_image_url"), label)
        video.render_mp4(path, first=first, last=last, spec=self.video_spec(job, first))
        self.stats["renders"] += 1
        logger.info("simulator rendered %s in %.2f s", job.id, time.perf_counter() - started)

    # --- webhooks and housekeeping ---------------------------------------------------------
    def deliver_webhooks(self) -> int:
        """Send every webhook that is due (one attempt each); returns how many were accepted with a 2xx."""
        return webhooks.deliver_due(self)

    def sweep(self) -> None:
        """Delete expired outputs, and job records older than a week."""
        now = self.clock()
        for path in self.outputs_dir.glob("*.mp4"):
            job = self.store.get_job(path.stem)
            if job is None or now >= job.finish_at + self.config.output_retention_s:
                path.unlink(missing_ok=True)
        self.store.delete_jobs_before(now - _KEEP_JOBS_S)

    def tick(self) -> None:
        self.deliver_webhooks()
        if self.clock() - self._last_sweep > 60:
            self._last_sweep = self.clock()
            self.sweep()

    def start_background(self, interval_s: float = 1.0) -> None:
        """Deliver due webhooks from a daemon thread (server and in-process modes)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="eachlabs-simulator", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.tick()
            except Exception:
                logger.exception("simulator background tick failed")
