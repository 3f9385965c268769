"""The capacity benchmark's rig: a Stack with several provider keys, organizations on them, and cheap probes.

Reads go straight to the stack's PostgreSQL (psycopg) and to the simulator's own SQLite record, so sampling
every second costs milliseconds rather than a Django start-up per look (`Stack.run_python`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from datetime import datetime

import httpx
import psycopg

from provider_simulator.simulator import key_hash_of
from tests.stack import Stack

SHARED_SECRET = "stack-key"  # Stack's EACHLABS_API_KEY: the shared key seeded from the environment

SETUP = """
from accounts import services as accounts
from accounts.models import User
from generations.services.own_provider_keys import own_provider_key_attach
from generations.services.provider_keys import provider_key_default_ensure

spec = json.loads({spec!r})
shared = provider_key_default_ensure()
out = {{}}
for index, (name, secret) in enumerate(spec):
    owner = User.objects.create_user(email=f"owner-{{index}}@capacity.test", password="pw-stack-1")
    organization = accounts.organization_create(name=name, owner=owner)
    _, api_secret = accounts.api_key_create(organization=organization, name="bench")
    for n in range(10):
        accounts.end_user_for_partner(organization=organization, external_id=f"user-{{n}}")
    key = own_provider_key_attach(organization=organization, secret=secret) if secret else shared
    out[name] = {{"id": organization.pk, "key_id": key.pk, "api_secret": api_secret}}
emit(out)
"""

SEED = """
import io
from PIL import Image
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts import services as accounts
from accounts.models import Organization
from generations import services
from generations.catalog import validate_inputs

def frame():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("frame.png", buffer.getvalue(), content_type="image/png")

remaining = {{int(k): v for k, v in json.loads({plan!r}).items()}}
organizations = Organization.objects.in_bulk(list(remaining))
created = 0
while any(remaining.values()):
    for organization_id, count in remaining.items():
        if not count:
            continue
        organization = organizations[organization_id]
        image = frame()
        inputs = validate_inputs(prompt="a slow pan", duration="4", resolution="480p", image=image)
        end_user = accounts.end_user_for_partner(organization=organization, external_id=f"user-{{created % 10}}")
        services.generation_create(organization=organization, end_user=end_user, inputs=inputs, image=image)
        remaining[organization_id] -= 1
        created += 1
emit(created)
"""

SET_WEIGHTS = """
from decimal import Decimal
from billing.models import BillingAccount, Plan
for organization_id, weight in json.loads({weights!r}).items():
    plan = Plan.objects.create(
        name=f"Weight {{weight}} ({{organization_id}})", slug=f"bench-weight-{{organization_id}}",
        price_480p=Decimal("0.1412"), price_720p=Decimal("0.3024"), price_1080p=Decimal("0.685"),
        dispatch_weight=weight, max_key_share=100,
    )
    BillingAccount.objects.filter(organization_id=int(organization_id)).update(plan=plan)
emit(True)
"""

RESUME = """
from generations.models import ProviderKey
from generations.services.provider_keys import provider_key_resume
provider_key_resume(key=ProviderKey.objects.get(pk={key_id}))
emit(True)
"""


def plans_have_weights(stack: Stack) -> bool:
    """True once fair shares by plan (billing.Plan.dispatch_weight) are in the code under test."""
    return bool(
        stack.run_python(
            "from billing.models import Plan\nemit(any(f.name == 'dispatch_weight' for f in Plan._meta.fields))"
        )
    )


class Rig:
    def __init__(self, stack: Stack, *, keys: dict[str, str | None], limits: dict[str, int]):
        self.stack = stack
        self.latency_s = stack.latency_s
        self.control_url = f"http://127.0.0.1:{stack.simulator_port}/_simulator/config"
        self.api_url = f"http://127.0.0.1:{stack.web_port}/api/v1"
        self.secrets = {name: secret or SHARED_SECRET for name, secret in keys.items()}
        self.limits = limits  # configured in-flight limit of each organization's key (10 unless said)
        self.orgs = stack.run_python(SETUP.format(spec=json.dumps(list(keys.items()))))
        self.db = psycopg.connect(stack.env["DATABASE_URL"], autocommit=True)

    def close(self) -> None:
        self.db.close()

    # --- driving ------------------------------------------------------------------------
    def seed(self, plan: dict[str, int]) -> float:
        """Queue `count` generations per organization (interleaved); returns when the last was created."""
        payload = {self.orgs[name]["id"]: count for name, count in plan.items()}
        self.stack.run_python(SEED.format(plan=json.dumps(payload)))
        return time.time()

    def set_weights(self, weights: dict[str, int]) -> None:
        payload = {self.orgs[name]["id"]: weight for name, weight in weights.items()}
        self.stack.run_python(SET_WEIGHTS.format(weights=json.dumps(payload)))

    def accept_keys(self, names: list[str], extra: list[str]) -> None:
        """Tell the simulator which keys it accepts (a key left out is refused with 401, as if revoked)."""
        keys = sorted({self.secrets[name] for name in names} | set(extra))
        httpx.post(self.control_url, json={"accepted_keys": keys}, timeout=20).raise_for_status()

    def simulator_stats(self) -> dict:
        return httpx.get(self.control_url, timeout=20).json()["stats"]

    def resume_key(self, name: str) -> None:
        self.stack.run_python(RESUME.format(key_id=self.orgs[name]["key_id"]))

    def create_via_api(self, client: httpx.Client, name: str, end_user: str, frame: bytes) -> dict:
        response = client.post(
            f"{self.api_url}/generations/",
            headers={"Authorization": f"Bearer {self.orgs[name]['api_secret']}"},
            data={"prompt": "a slow pan", "duration": "4", "resolution": "480p", "end_user_id": end_user},
            files={"image": ("frame.png", frame, "image/png")},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def read_via_api(self, client: httpx.Client, name: str, generation_id: str) -> dict:
        response = client.get(
            f"{self.api_url}/generations/{generation_id}/",
            headers={"Authorization": f"Bearer {self.orgs[name]['api_secret']}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    # --- reading ------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def org_ids(self, names: list[str]) -> list[int]:
        return [self.orgs[name]["id"] for name in names]

    def generations(self, names: list[str], *, since: float) -> list[dict]:
        """The organizations' generations created since `since` (each scenario's own)."""
        rows = self._query(
            "SELECT id::text, organization_id, provider_key_id, status, extract(epoch FROM created_at)::float, "
            "extract(epoch FROM submitted_at)::float, extract(epoch FROM completed_at)::float, prediction_id, "
            "extract(epoch FROM provider_completed_at)::float "
            "FROM generations_generation WHERE organization_id = ANY(%s) AND created_at >= to_timestamp(%s)",
            (self.org_ids(names), since),
        )
        by_id = {self.orgs[name]["id"]: name for name in names}
        fields = (
            "id", "org", "key_id", "status", "created_at", "submitted_at", "completed_at", "prediction_id",
            "provider_completed_at",
        )  # fmt: skip
        return [dict(zip(fields, (row[0], by_id[row[1]], *row[2:]), strict=True)) for row in rows]

    def terminal_count(self, names: list[str], *, since: float) -> int:
        return self._query(
            "SELECT count(*) FROM generations_generation WHERE organization_id = ANY(%s) "
            "AND status IN ('succeeded', 'failed', 'canceled') AND created_at >= to_timestamp(%s)",
            (self.org_ids(names), since),
        )[0][0]

    def queued_count(self, name: str) -> int:
        return self._query(
            "SELECT count(*) FROM generations_generation WHERE organization_id = %s AND status = 'queued'",
            (self.orgs[name]["id"],),
        )[0][0]

    def wait_terminal(
        self, names: list[str], expected: int, *, since: float, timeout_s: float, during=None
    ) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while self.terminal_count(names, since=since) < expected:
            if time.monotonic() > deadline:
                tail = self.stack.log("qcluster")[-3000:]
                raise TimeoutError(f"{names}: not all {expected} terminal in {timeout_s:.0f} s\n{tail}")
            if during is not None:
                during()
            time.sleep(0.5)
        return self.generations(names, since=since)

    def key_state(self, name: str) -> dict:
        row = self._query(
            "SELECT learned_in_flight_limit, stopped_at IS NOT NULL, paused_until, state_reason "
            "FROM generations_providerkey WHERE id = %s",
            (self.orgs[name]["key_id"],),
        )[0]
        return {"learned": row[0], "stopped": row[1], "paused_until": row[2], "reason": row[3]}

    def rate_limited_calls(self, *, since: float, name: str | None = None) -> list[float]:
        """Times of creates the provider answered 429 (all keys, or one organization's key)."""
        sql = (
            "SELECT extract(epoch FROM started_at)::float FROM generations_providercall "
            "WHERE kind = 'create' AND status_code = 429 AND started_at >= to_timestamp(%s)"
        )
        params: tuple = (since,)
        if name is not None:
            sql += " AND provider_key_id = %s"
            params += (self.orgs[name]["key_id"],)
        return [row[0] for row in self._query(sql, params)]

    def provider_jobs(self, name: str, *, since: float, with_ids: bool = False) -> list[tuple]:
        """(created, finish[, id]) of every job the provider accepted on this organization's key since `since`."""
        key_hash = key_hash_of(self.secrets[name])
        jobs: list[tuple] = []
        for path in (self.stack.directory / "simulator").rglob("*.sqlite3"):
            with closing(sqlite3.connect(path)) as connection:
                jobs += connection.execute(
                    "SELECT created_at, finish_at, id FROM jobs WHERE key_hash = ? AND created_at >= ?",
                    (key_hash, since),
                ).fetchall()
        return sorted(jobs) if with_ids else sorted(job[:2] for job in jobs)


def occupancy(jobs: list[tuple[float, float]], start: float, end: float) -> float:
    """Mean number of jobs in flight at the provider over [start, end]: with each job lasting the latency L,
    throughput is occupancy / L (Little's law), so occupancy / limit is throughput / ideal."""
    if end <= start:
        return float("nan")
    busy = sum(max(0.0, min(job[1], end) - max(job[0], start)) for job in jobs)
    return busy / (end - start)


def max_concurrent(jobs: list[tuple[float, float]], *, since: float) -> int:
    events = sorted([(c, 1) for c, f in jobs if f > since] + [(max(f, since), -1) for c, f in jobs if f > since])
    peak = current = 0
    for moment, step in events:
        current += step
        if moment >= since:
            peak = max(peak, current)
    return peak


def parse_time(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None
