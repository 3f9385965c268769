"""The Eachlabs prediction API client: one pooled httpx client, typed errors, one status vocabulary."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from email.utils import parsedate_to_datetime
from typing import BinaryIO

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

MODEL_SLUG = "bytedance-seedance-2-0-image-to-video"
DEFAULT_BASE_URL = "https://api.eachlabs.ai/v1"
# Sent in simulator mode, where no real key exists; the simulator only needs a non-empty one.
SIMULATOR_API_KEY = "local-simulator-key"
_CHUNK_BYTES = 64 * 1024


class PredictionStatus(enum.StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Polling says processing|success|error, webhooks say succeeded|failed; anything unknown is still running.
_STATUS_WORDS = {
    "processing": PredictionStatus.PROCESSING,
    "success": PredictionStatus.SUCCEEDED,
    "succeeded": PredictionStatus.SUCCEEDED,
    "error": PredictionStatus.FAILED,
    "failed": PredictionStatus.FAILED,
    "canceled": PredictionStatus.FAILED,
    "cancelled": PredictionStatus.FAILED,
}


@dataclass(frozen=True)
class PredictionInput:
    prompt: str
    image_url: str
    end_image_url: str | None = None
    resolution: str | None = None
    duration: int | str | None = None
    aspect_ratio: str | None = None
    generate_audio: bool | None = None
    seed: str | int | None = None
    end_user_id: str | None = None

    def to_payload(self) -> dict:
        """The contract's `input` object: absent fields left out, duration and seed as strings."""
        payload = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if item.name in ("duration", "seed"):
                value = str(value)
            payload[item.name] = value
        return payload


@dataclass(frozen=True)
class PredictionResult:
    id: str
    status: PredictionStatus
    output: str | None
    predict_time: float | None
    message: str
    details: str


class EachlabsError(Exception):
    """A provider call that did not work: stable `code`, human `message` (never the key), upstream status."""

    code = "provider_error"
    retryable = False

    def __init__(self, message: str, *, status_code: int | None = None, details: str = "", code: str | None = None):
        self.message = _redact(message)
        self.details = _redact(details)
        self.status_code = status_code
        if code:
            self.code = code
        super().__init__(self.message)


class ProviderInvalidInput(EachlabsError):
    code = "provider_invalid_input"


class ProviderAuthError(EachlabsError):
    code = "provider_auth"


class ProviderNotFound(EachlabsError):
    code = "provider_not_found"


class ProviderRateLimited(EachlabsError):
    code = "provider_rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderFault(EachlabsError):
    code = "provider_fault"
    retryable = True


class ProviderTimeout(EachlabsError):
    code = "provider_timeout"
    retryable = True


class ProviderNetworkError(EachlabsError):
    code = "provider_network"
    retryable = True


class InvalidWebhook(EachlabsError):
    code = "provider_invalid_webhook"


def _redact(text: str, secret: str = "") -> str:
    for key in {settings.EACHLABS_API_KEY, secret} - {""}:
        text = text.replace(key, "[redacted]")
    return text


class EachlabsClient:
    """Thread-safe; share one per process (get_client). Retries belong to the callers."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        transport: httpx.BaseTransport | None = None,
        model: str = MODEL_SLUG,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
        # The key goes on API calls only, never to output hosts (CDNs, buckets).
        self._http = httpx.Client(timeout=timeout, limits=limits, transport=transport)

    def __repr__(self) -> str:
        return f"EachlabsClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def create_prediction(self, input: PredictionInput, webhook_url: str | None = None) -> str:
        body: dict = {"model": self.model, "input": input.to_payload()}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        data = self._call("POST", "/prediction/", kind="create", json=body)
        prediction_id = data.get("predictionID")
        if not isinstance(prediction_id, str) or not prediction_id:
            raise ProviderFault("The provider accepted the prediction but returned no predictionID.", status_code=200)
        return prediction_id

    def get_prediction(self, prediction_id: str) -> PredictionResult:
        if not prediction_id or "/" in prediction_id:
            raise ProviderNotFound(f"Invalid prediction id {prediction_id!r}.")
        data = self._call("GET", f"/prediction/{prediction_id}", kind="get")
        metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
        return PredictionResult(
            id=str(data.get("predictionID") or prediction_id),
            status=_STATUS_WORDS.get(str(data.get("status", "")).lower(), PredictionStatus.PROCESSING),
            output=data.get("output") or None,
            predict_time=_as_float(metrics.get("predict_time")),
            message=str(data.get("message") or ""),
            details=str(data.get("details") or ""),
        )

    def download_output(self, url: str, destination: BinaryIO, *, max_bytes: int) -> int:
        """Stream the output video into `destination`; returns the bytes written."""
        with _observed("download"):
            return self._download(url, destination, max_bytes=max_bytes)

    def _download(self, url: str, destination: BinaryIO, *, max_bytes: int) -> int:
        written = 0
        with (
            _translated_transport_errors("downloading the output"),
            self._http.stream("GET", url, follow_redirects=True) as response,
        ):
            if response.status_code in (403, 404, 410):
                raise ProviderNotFound(
                    f"The output URL answered {response.status_code}; it has expired or never existed.",
                    status_code=response.status_code,
                )
            if not response.is_success:
                raise _error_from_response(response, body=_safe_json(response.read()), secret=self._api_key)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(max_bytes)
            for chunk in response.iter_bytes(_CHUNK_BYTES):
                written += len(chunk)
                if written > max_bytes:
                    raise _too_large(max_bytes)
                destination.write(chunk)
        return written

    def _call(self, method: str, path: str, *, kind: str, **kwargs) -> dict:
        headers = {"X-API-Key": self._api_key, "Accept": "application/json"}
        with _observed(kind):
            with _translated_transport_errors(f"{method} {path}"):
                response = self._http.request(method, self.base_url + path, headers=headers, **kwargs)
            body = _safe_json(response.content)
            if not response.is_success:
                raise _error_from_response(response, body=body, secret=self._api_key)
            if not isinstance(body, dict):
                raise ProviderFault("The provider answered with a body that is not a JSON object.", status_code=200)
            return body


# --- observing calls (metrics) -----------------------------------------------------------
# Called once per finished call with its kind ("create", "get", "download"), the error it raised (None when
# it worked) and its latency; set by generations.apps (generations/metrics.py) so the client imports nothing.
CallObserver = Callable[[str, "EachlabsError | None", float], None]
_call_observer: CallObserver | None = None


def set_call_observer(observer: CallObserver | None) -> None:
    global _call_observer
    _call_observer = observer


class _observed:
    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        if _call_observer is not None and (exc is None or isinstance(exc, EachlabsError)):
            _call_observer(self.kind, exc, time.perf_counter() - self.started)
        return False


class _translated_transport_errors:
    """Turns httpx's transport exceptions into our typed, retryable errors."""

    def __init__(self, action: str):
        self.action = action

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, httpx.TransportError):
            return False
        if isinstance(exc, httpx.TimeoutException):
            raise ProviderTimeout(f"The provider did not answer in time ({self.action}).") from exc
        raise ProviderNetworkError(f"Could not reach the provider ({self.action}): {type(exc).__name__}.") from exc


def _error_from_response(response: httpx.Response, *, body, secret: str) -> EachlabsError:
    status = response.status_code
    body = body if isinstance(body, dict) else {}
    message = _redact(str(body.get("message") or f"The provider answered HTTP {status}."), secret)
    details = _redact(str(body.get("details") or ""), secret)
    kwargs = {"status_code": status, "details": details}
    if status == 400:
        return ProviderInvalidInput(message, **kwargs)
    if status in (401, 403):
        return ProviderAuthError(message, **kwargs)
    if status == 404:
        return ProviderNotFound(message, **kwargs)
    if status == 429:
        return ProviderRateLimited(message, retry_after=_retry_after(response.headers.get("Retry-After")), **kwargs)
    if status >= 500:
        return ProviderFault(message, **kwargs)
    if status == 408:
        return ProviderTimeout(message, **kwargs)
    return EachlabsError(message, code="provider_unexpected", **kwargs)


def _retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _too_large(max_bytes: int) -> EachlabsError:
    return EachlabsError(f"The output video is larger than {max_bytes} bytes.", code="output_too_large")


def _safe_json(content: bytes):
    try:
        return httpx.Response(200, content=content).json()
    except ValueError:
        return None


def _as_float(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_webhook(payload: dict) -> PredictionResult:
    """Normalize the provider's webhook body {exec_id, status, output, error}; raises InvalidWebhook."""
    if not isinstance(payload, dict):
        raise InvalidWebhook("The webhook body is not a JSON object.")
    exec_id = payload.get("exec_id")
    if not isinstance(exec_id, str) or not exec_id:
        raise InvalidWebhook("The webhook has no exec_id.")
    status = _STATUS_WORDS.get(str(payload.get("status", "")).lower())
    if status is None or status is PredictionStatus.PROCESSING:
        raise InvalidWebhook(f"The webhook status {payload.get('status')!r} is not succeeded or failed.")
    error = str(payload.get("error") or "")
    return PredictionResult(
        id=exec_id,
        status=status,
        output=payload.get("output") or None,
        predict_time=None,
        message=error,
        details=error,
    )


# --- one client per key, per process ---------------------------------------------------------
# Keyed by the key's fingerprint (SHA-256 of base URL and secret); None is the environment's key.
_clients: dict[str | None, EachlabsClient] = {}
_client_lock = threading.Lock()


def uses_in_process_simulator(base_url: str | None = None) -> bool:
    """No key and the default base URL: the in-process simulator answers (set EACHLABS_BASE_URL to leave it)."""
    base_url = (base_url or settings.EACHLABS_BASE_URL).rstrip("/")
    return settings.EACHLABS_SIMULATED and base_url == DEFAULT_BASE_URL


def build_client(*, api_key: str, base_url: str = "", read_timeout_s: float | None = None) -> EachlabsClient:
    """A new client for one key; get_client() shares them, callers of this one close it."""
    base_url = base_url or settings.EACHLABS_BASE_URL
    transport = None
    if uses_in_process_simulator(base_url):
        # Settings name the simulator's transport factory, so the product never imports the simulator.
        transport = import_string(settings.EACHLABS_SIMULATOR_TRANSPORT)(api_base_url=base_url)
    return EachlabsClient(
        base_url=base_url,
        api_key=api_key,
        connect_timeout_s=settings.EACHLABS_CONNECT_TIMEOUT_S,
        read_timeout_s=read_timeout_s or settings.EACHLABS_READ_TIMEOUT_S,
        transport=transport,
    )


def get_client(key=None) -> EachlabsClient:
    """The shared client for a ProviderKey (duck-typed: fingerprint, base_url, plaintext_secret()), or for the
    environment's key when None."""
    cache_key = None if key is None else key.fingerprint
    with _client_lock:
        client = _clients.get(cache_key)
        if client is None:
            if key is None:
                client = build_client(api_key=settings.EACHLABS_API_KEY or SIMULATOR_API_KEY)
            else:
                client = build_client(api_key=key.plaintext_secret(), base_url=key.base_url)
            _clients[cache_key] = client
        return client


def reset_client() -> None:
    with _client_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
