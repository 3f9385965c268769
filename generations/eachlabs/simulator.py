"""A faithful fake of the Eachlabs Seedance 2.0 prediction API: a WSGI app, an httpx transport, real MP4 outputs."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from generations.eachlabs import video
from generations.eachlabs.state import Job, StateStore

logger = logging.getLogger(__name__)

MODEL_SLUG = "bytedance-seedance-2-0-image-to-video"
RESOLUTIONS = ("480p", "720p")
DURATIONS = ("auto", *(str(seconds) for seconds in range(4, 16)))
ASPECT_RATIOS = ("auto", *video.ASPECT_RATIOS)
INPUT_FIELDS = {
    "prompt",
    "image_url",
    "end_image_url",
    "resolution",
    "duration",
    "aspect_ratio",
    "generate_audio",
    "seed",
    "end_user_id",
}
MAX_IMAGE_BYTES = 30 * 1024 * 1024
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}
MAX_BODY_BYTES = 1024 * 1024
_KEEP_JOBS_S = 7 * 24 * 3600


@dataclass
class SimulatorConfig:
    """Every knob of the simulator; change attributes on a live instance (tests do)."""

    latency_s: float | None = None  # None: a seeded draw around the documented ~220 s
    latency_mean_s: float = 220.0
    latency_sd_s: float = 35.0
    failure_rate: float = 0.0
    create_limit: int = 100
    create_window_s: float = 60.0
    concurrency_limit: int = 10
    error_429_rate: float = 0.0  # share of API calls answered 429 (1.0 is a storm)
    error_5xx_rate: float = 0.0  # share of API calls answered 500/502/503
    storm_retry_after_s: int = 2
    response_delay_s: float = 0.0  # slow answers; past the client's read timeout they time out
    webhooks_enabled: bool = True
    webhook_loss_rate: float = 0.0  # share of webhooks never sent
    webhook_delay_s: float = 0.0  # sent this long after the job ends
    webhook_attempts: int = 4
    webhook_retry_delays_s: tuple[float, ...] = (5.0, 30.0, 120.0)
    webhook_timeout_s: float = 30.0
    output_retention_s: float = 3600.0
    allow_local_urls: bool = False
    accepted_keys: frozenset[str] | None = None  # None: any non-empty key
    # `auto` lengths: like the real model's, a hair past whole seconds (5.042 s is 121 frames at 24 fps).
    auto_extra_s: float = 0.042  # added to the whole seconds `auto` picks from a hash of the input
    auto_duration_s: float | None = None  # render every `auto` job at exactly this length (e.g. 5.042)


class SystemClock:
    def __call__(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FakeClock:
    """A clock tests move by hand; sleeping just moves it."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    sleep = advance


@dataclass
class Forced:
    """One scripted answer for the next matching API call (see Simulator.force_next)."""

    status_code: int | None = None
    retry_after: float | None = None
    message: str = ""
    details: str = ""
    timeout: bool = False
    network_error: bool = False
    method: str | None = None


@dataclass
class SimRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class SimResponse:
    status: int
    body: bytes | Path = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: dict, headers: dict | None = None) -> SimResponse:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, status: int, message: str, details: str = "", headers: dict | None = None) -> SimResponse:
        return cls.json(status, {"status": "error", "message": message, "details": details}, headers)


class _Reject(Exception):
    def __init__(self, response: SimResponse):
        self.response = response


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


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
        request = _request_from_environ(environ)
        if request is None:
            response = SimResponse.error(413, "Request body too large")
        else:
            if self.config.response_delay_s and _is_api_path(request.path):
                time.sleep(self.config.response_delay_s)
            forced = self._pop_forced(request.method) if _is_api_path(request.path) else None
            response = self.handle(request, forced=forced)
        body = response.body.read_bytes() if isinstance(response.body, Path) else response.body
        headers = [(name, value) for name, value in response.headers.items()]
        if "Content-Length" not in response.headers:
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{response.status} {_REASONS.get(response.status, 'Status')}", headers)
        return [body]

    def transport(self, *, api_base_url: str) -> SimulatorTransport:
        return SimulatorTransport(self, api_base_url=api_base_url)

    def handle(self, request: SimRequest, *, forced: Forced | None = None) -> SimResponse:
        """Answer one request; never raises."""
        try:
            return self._route(request, forced)
        except _Reject as reject:
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
            raise _Reject(SimResponse.error(404, "Not found", f"No route for {request.path}"))
        key_hash = self._authenticate(request)
        self._inject_faults(forced)
        if len(parts) == 2:
            if request.method != "POST":
                raise _Reject(SimResponse.error(405, "Method not allowed"))
            return self._create(request, key_hash)
        if request.method != "GET":
            raise _Reject(SimResponse.error(405, "Method not allowed"))
        return self._get(parts[2], key_hash)

    def _authenticate(self, request: SimRequest) -> str:
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            self.stats["unauthorized"] += 1
            raise _Reject(SimResponse.error(401, "Missing API key", "Send your API key in the X-API-Key header."))
        if self.config.accepted_keys is not None and key not in self.config.accepted_keys:
            self.stats["unauthorized"] += 1
            raise _Reject(SimResponse.error(401, "Invalid API key", "The API key is not valid or was revoked."))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

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
        raise _Reject(SimResponse.error(status, message or "Request failed", details, headers))

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
        known = {item.name: item for item in fields(SimulatorConfig)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            current = getattr(self.config, name)
            if name == "accepted_keys":
                value = None if value is None else frozenset(value)
            elif name in ("latency_s", "auto_duration_s"):
                value = None if value is None else float(value)
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"{name} must be true or false")
            elif isinstance(current, tuple):
                value = tuple(float(item) for item in value)
            else:
                value = type(current)(value)
            if name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
            setattr(self.config, name, value)

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
        problems = self._validate_input(inputs)
        webhook_url = payload.get("webhook_url")
        if webhook_url is not None and not _is_http_url(webhook_url):
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
            if in_flight >= self.config.concurrency_limit:
                return self._limited(f"{self.config.concurrency_limit} concurrent predictions", first_done - now)
            job = self._new_job(key_hash, inputs, now)
            self.store.insert_job(db, job)
            if webhook_url is not None:
                self._schedule_webhook(db, job, webhook_url)
        self.stats["creates"] += 1
        return SimResponse.json(
            200, {"status": "success", "message": "Prediction created successfully", "predictionID": job.id}
        )

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

    def _schedule_webhook(self, db, job: Job, url: str) -> None:
        config = self.config
        with self._lock:
            lost = self._rng.random() < config.webhook_loss_rate
        state = "pending" if config.webhooks_enabled and not lost else "lost"
        payload = {
            "exec_id": job.id,
            "status": "succeeded" if job.outcome == "success" else "failed",
            "output": job.output_url,
            "error": job.details if job.outcome == "error" else "",
        }
        self.store.insert_webhook(
            db, job_id=job.id, url=url, payload=payload, due_at=job.finish_at + config.webhook_delay_s, state=state
        )
        if state == "lost":
            self.stats["webhooks_lost"] += 1

    # --- input validation -----------------------------------------------------------------
    def _validate_input(self, inputs: dict) -> list[str]:
        problems = [f"{name}: unknown field" for name in sorted(set(inputs) - INPUT_FIELDS)]
        prompt = inputs.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append("prompt: is required and must be a non-empty string")
        if "image_url" not in inputs:
            problems.append("image_url: is required")
        for name in ("image_url", "end_image_url"):
            if name in inputs:
                problem = self._check_image_url(inputs[name])
                if problem:
                    problems.append(f"{name}: {problem}")
        for name, allowed in (("resolution", RESOLUTIONS), ("duration", DURATIONS), ("aspect_ratio", ASPECT_RATIOS)):
            if name in inputs and inputs[name] not in allowed:
                problems.append(f"{name}: must be one of {', '.join(allowed)} (a string)")
        if "generate_audio" in inputs and not isinstance(inputs["generate_audio"], bool):
            problems.append("generate_audio: must be a JSON boolean")
        for name in ("seed", "end_user_id"):
            if name in inputs and not isinstance(inputs[name], str):
                problems.append(f"{name}: must be a string")
        return problems

    def _check_image_url(self, value) -> str:
        if not isinstance(value, str) or not value.strip():
            return "must be a non-empty string URL"
        if value[:5].lower() == "data:":
            return "data URIs are not accepted; give a public HTTPS URL"
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            return "must be a public HTTPS URL"
        local = _is_local_host(host)
        if local and not self.config.allow_local_urls:
            return "localhost and private-network URLs are not accepted; give a public HTTPS URL"
        if parts.scheme != "https" and not local:
            return "must be an HTTPS URL"
        suffix = Path(unquote(parts.path)).suffix.lower()
        if suffix and suffix not in IMAGE_EXTENSIONS:
            return "must be a JPEG, PNG or WebP image"
        media_name = self._media_name(value)
        return self._check_media_file(media_name) if media_name is not None else ""

    def _media_name(self, url: str) -> str | None:
        """The storage name when `url` is this site's own media (the only images the simulator reads)."""
        prefix = f"{self.site_url}{self.media_url}" if self.site_url else None
        if not prefix or not url.startswith(prefix):
            return None
        return unquote(urlsplit(url).path[len(urlsplit(prefix).path) :])

    def _check_media_file(self, name: str) -> str:
        from django.core.files.storage import default_storage

        try:
            if default_storage.size(name) > MAX_IMAGE_BYTES:
                return "image is larger than 30 MB"
            with default_storage.open(name) as handle, Image.open(handle) as image:
                if image.format not in IMAGE_FORMATS:
                    return "must be a JPEG, PNG or WebP image"
        except (OSError, UnidentifiedImageError, ValueError):
            return "could not be fetched as a JPEG, PNG or WebP image"
        return ""

    def _load_image(self, url: str | None, label: str) -> Image.Image | None:
        if url is None:
            return None
        name = self._media_name(url)
        if name is not None:
            from django.core.files.storage import default_storage

            try:
                with default_storage.open(name) as handle, Image.open(handle) as image:
                    image.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size, much faster
                    return image.convert("RGB")
            except (OSError, UnidentifiedImageError, ValueError):
                logger.warning("simulator could not read %s; drawing a placeholder", name)
        return video.placeholder_image(url, label)

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
        first = self._load_image(job.input.get("image_url"), label)
        last = self._load_image(job.input.get("end_image_url"), label)
        video.render_mp4(path, first=first, last=last, spec=self.video_spec(job, first))
        self.stats["renders"] += 1
        logger.info("simulator rendered %s in %.2f s", job.id, time.perf_counter() - started)

    # --- webhooks and housekeeping ---------------------------------------------------------
    def deliver_webhooks(self) -> int:
        """Send every webhook that is due (one attempt each); returns how many were accepted with a 2xx."""
        now = self.clock()
        delivered = 0
        # Outputs render on first download, not here, so a burst of finishing jobs does not delay the webhooks.
        for hook in self.store.claim_due_webhooks(now, lease_s=self.config.webhook_timeout_s + 30):
            status, error = self._post(hook.url, hook.payload)
            self.stats["webhook_attempts"] += 1
            attempts = hook.attempts + 1
            if status is not None and 200 <= status < 300:
                delivered += 1
                self.stats["webhooks_delivered"] += 1
                self.store.record_webhook_attempt(hook.job_id, state="delivered", due_at=now, status=status, error="")
                continue
            delays = self.config.webhook_retry_delays_s or (0.0,)
            state = "gave_up" if attempts >= self.config.webhook_attempts else "pending"
            due_at = self.clock() + delays[min(attempts - 1, len(delays) - 1)]
            self.store.record_webhook_attempt(hook.job_id, state=state, due_at=due_at, status=status, error=error)
        return delivered

    def _post(self, url: str, payload: dict) -> tuple[int | None, str]:
        try:
            with httpx.Client(
                transport=self._webhook_transport_for(url), timeout=self.config.webhook_timeout_s
            ) as http:
                response = http.post(url, json=payload)
            return response.status_code, "" if response.is_success else response.text[:200]
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _webhook_transport_for(self, url: str) -> httpx.BaseTransport | None:
        if self.webhook_transport is not None:
            return self.webhook_transport
        if self.deliver_site_in_process and self.site_url and _origin(url) == _origin(self.site_url):
            return httpx.WSGITransport(app=_django_app)
        return None

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


class SimulatorTransport(httpx.BaseTransport):
    """Routes the provider's API and the simulator's output URLs into the simulator; anything else goes out."""

    def __init__(self, simulator: Simulator, *, api_base_url: str):
        self.simulator = simulator
        self._api_origin = _origin(api_base_url)
        self._output_origin = _origin(simulator.output_base_url)
        self._fallback = httpx.HTTPTransport()

    def _routed(self, request: httpx.Request) -> bool:
        origin = _origin(str(request.url))
        return origin == self._api_origin or (
            origin == self._output_origin and "/simulator/outputs/" in request.url.path
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not self._routed(request):
            return self._fallback.handle_request(request)
        sim = self.simulator
        forced = sim._pop_forced(request.method) if _is_api_path(path) else None
        if forced is not None and forced.network_error:
            raise httpx.ConnectError("simulated network error: connection refused", request=request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        response = sim.handle(SimRequest(request.method, path, headers, request.read()), forced=forced)
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        delay_s = sim.config.response_delay_s if _is_api_path(path) else 0.0
        timed_out = forced is not None and forced.timeout
        if read_timeout is not None and (timed_out or delay_s >= read_timeout > 0):
            sim.clock.sleep(read_timeout)
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        if delay_s:
            sim.clock.sleep(delay_s)
        body = response.body.read_bytes() if isinstance(response.body, Path) else response.body
        return httpx.Response(response.status, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        self._fallback.close()


def _django_app(environ, start_response):
    """This site's own Django app, for webhooks to SITE_URL without a live server.

    Django closes "old" database connections around each request; inside a caller's transaction (a test, or a
    service that delivers synchronously) that would close the caller's connection, so skip it there, as
    Django's test client does."""
    from django.core import signals
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import close_old_connections, connections

    def run() -> list[bytes]:
        # Not get_wsgi_application(): it runs django.setup() again, which reconfigures logging on every call.
        response = WSGIHandler()(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()  # fires request_finished

    if not any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        return run()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        return run()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _request_from_environ(environ) -> SimRequest | None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name.startswith("HTTP_")}
    return SimRequest(environ["REQUEST_METHOD"].upper(), environ.get("PATH_INFO", "/"), headers, body)


def _is_api_path(path: str) -> bool:
    return "/v1/prediction" in path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _is_http_url(value) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_local_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


# --- the process's simulator (in-process mode) ------------------------------------------
_process_simulator: Simulator | None = None
_process_lock = threading.Lock()


def simulator_from_settings(**overrides) -> Simulator:
    from django.conf import settings

    config = SimulatorConfig(
        latency_s=settings.EACHLABS_SIMULATOR_LATENCY,
        failure_rate=settings.EACHLABS_SIMULATOR_FAILURE_RATE,
        output_retention_s=settings.EACHLABS_SIMULATOR_OUTPUT_RETENTION_S,
        allow_local_urls=True,
    )
    options = {
        "state_dir": Path(settings.EACHLABS_SIMULATOR_DIR),
        "output_base_url": f"{settings.SITE_URL}/simulator/outputs",
        "config": config,
        "seed": settings.EACHLABS_SIMULATOR_SEED,
        "site_url": settings.SITE_URL,
        "media_url": settings.MEDIA_URL,
        "deliver_site_in_process": True,
    }
    options.update(overrides)
    return Simulator(**options)


def get_simulator() -> Simulator:
    """The in-process simulator of this process, built from settings on first use."""
    global _process_simulator
    with _process_lock:
        from django.conf import settings

        if _process_simulator is None:
            _process_simulator = simulator_from_settings()
        if settings.EACHLABS_SIMULATOR_BACKGROUND:
            # Idempotent while the thread lives; restarts it in a forked worker, where it does not exist.
            _process_simulator.start_background()
        return _process_simulator


def set_simulator(simulator: Simulator | None) -> None:
    """Install (or with None, drop) the process's simulator; tests install one with a fake clock."""
    global _process_simulator
    with _process_lock:
        if _process_simulator is not None and _process_simulator is not simulator:
            _process_simulator.stop_background()
        _process_simulator = simulator
