"""A whole running product in subprocesses: migrated database, standalone simulator, gunicorn, qcluster.

Used by the background-path integration tests and the lifecycle benchmark. Everything
listens on 127.0.0.1 only, and every process is stopped when the stack exits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import closing, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


class Stack:
    """`with Stack(tmp_path, latency_s=2) as stack:` gives a product with one worker cluster."""

    def __init__(
        self,
        directory: Path,
        *,
        latency_s: float,
        webhooks: bool = True,
        workers: int = 2,
        webhook_cluster: bool = True,
        postgres_url: str | None = None,
        redis_url: str | None = None,
        extra_env: dict | None = None,
        nodes: int = 1,
        simulator_args: list[str] | None = None,
    ):
        self.directory = Path(directory)
        self.latency_s = latency_s
        self.webhooks = webhooks
        self.workers = workers
        self.webhook_cluster = webhook_cluster
        self.node_count = nodes
        self.simulator_args = list(simulator_args or [])
        self.nodes: dict[str, subprocess.Popen] = {}
        self.web_port = free_port()
        self.simulator_port = free_port()
        self.processes: list[subprocess.Popen] = []
        self._postgres_admin_url = postgres_url
        self._database_name = f"seedance_stack_{uuid.uuid4().hex[:10]}"
        if postgres_url:
            database_url = f"{postgres_url.rsplit('/', 1)[0]}/{self._database_name}"
        else:
            database_url = f"sqlite:///{self.directory / 'stack.sqlite3'}"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTEST_VERSION", "PYTEST_CURRENT_TEST", "DJANGO_SETTINGS_MODULE", "REDIS_URL")
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="seedance_saas.settings",
            DATABASE_URL=database_url,
            MEDIA_ROOT=str(self.directory / "media"),
            SITE_URL=f"http://127.0.0.1:{self.web_port}",
            EACHLABS_API_KEY="stack-key",
            EACHLABS_BASE_URL=f"http://127.0.0.1:{self.simulator_port}/v1",
            EACHLABS_SIMULATOR_DIR=str(self.directory / "simulator"),
            EACHLABS_EXPECTED_PROCESSING_S=str(latency_s),
            Q_SYNC="false",
            Q_WORKERS=str(workers),
            DEBUG="true",
            TRIAL_CREDIT_USD="100000",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.env.update(extra_env or {})

    # --- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._create_database()
            self.manage("migrate", "--noinput")
            self._start_simulator()
            self._start_web()
            for index in range(self.node_count):
                self.start_node("qcluster" if index == 0 else f"qcluster-{index + 1}")
            if self.webhook_cluster:
                self.start_webhook_cluster()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        # SIGTERM to each main process only, as Docker, Kubernetes and systemd (KillMode=mixed) do; then SIGKILL
        # to whatever is left of its group.
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        self._drop_database()

    def start_node(self, name: str) -> subprocess.Popen:
        """A main-cluster worker node (`manage.py qcluster`): its workers and the generations ticker."""
        self.nodes[name] = self._spawn(name, [sys.executable, "manage.py", "qcluster"])
        return self.nodes[name]

    def kill_node(self, name: str) -> None:
        """SIGKILL of a whole node (its main process, sentinel and workers), as a crashed machine."""
        process = self.nodes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_node(self, name: str, *, timeout_s: float = 30) -> float:
        """SIGTERM to the node's main process (what Docker sends); returns the seconds it took to exit."""
        process = self.nodes[name]
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever it left behind
        return time.monotonic() - started

    def node_holding_the_lease(self) -> str | None:
        """Which node's ticker holds the lease (its value is `host:pid` of the node's main process)."""
        holder = self.run_python("from generations.ticker import lease_holder\nemit(lease_holder())")
        if not holder:
            return None
        pid = int(holder.rsplit(":", 1)[1])
        return next((name for name, process in self.nodes.items() if process.pid == pid), None)

    def start_webhook_cluster(self) -> None:
        """The partner-webhook worker group: the same command on its own queue (README, Running)."""
        self._spawn("qcluster-webhooks", [sys.executable, "manage.py", "qcluster"], Q_CLUSTER_NAME="webhooks")

    def _spawn(self, name: str, command: list[str], **extra_env: str) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        # Its own process group, so stopping it also stops the workers it forked.
        env = {**self.env, **extra_env}
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def _start_simulator(self) -> None:
        command = [
            sys.executable, "manage.py", "eachlabs_simulator", "--port", str(self.simulator_port),
            "--latency", str(self.latency_s), "--seed", "7", "--allow-local-urls",
        ]  # fmt: skip
        if not self.webhooks:
            command.append("--no-webhooks")
        command += self.simulator_args
        wait_for_port(self.simulator_port, process=self._spawn("simulator", command))

    def _start_web(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "seedance_saas.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", "2", "--threads", "4", "--log-level", "warning",
        ]  # fmt: skip
        wait_for_port(self.web_port, process=self._spawn("web", command))

    def _create_database(self) -> None:
        if self._postgres_admin_url:
            self._psql(f'CREATE DATABASE "{self._database_name}"')

    def _drop_database(self) -> None:
        if self._postgres_admin_url:
            self._psql(f'DROP DATABASE IF EXISTS "{self._database_name}" WITH (FORCE)')

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._postgres_admin_url, autocommit=True) as connection:
            connection.execute(sql)

    # --- driving it -------------------------------------------------------------------
    def manage(self, *args: str, timeout_s: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def run_python(self, code: str) -> object:
        """Runs code inside the stack's Django (with `emit(obj)` to return JSON) and returns what it emitted."""
        prelude = "import json\ndef emit(obj):\n    print('@@' + json.dumps(obj, default=str))\n"
        out = self.manage("shell", "-c", prelude + code)
        lines = [line[2:] for line in out.splitlines() if line.startswith("@@")]
        return json.loads(lines[-1]) if lines else None

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")


SEED_GENERATIONS = """
import io
from PIL import Image
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts import services as accounts
from accounts.models import User
from generations import services
from generations.catalog import validate_inputs

def frame():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("frame.png", buffer.getvalue(), content_type="image/png")

plan = json.loads({plan!r})
organizations = {{}}
for name, count in plan:
    owner = User.objects.create_user(email=f"owner-{{name}}@stack.test", password="pw-stack-1")
    organizations[name] = accounts.organization_create(name=name, owner=owner)
order = []
pending = [[name, count] for name, count in plan]
while any(count for _, count in pending):
    for entry in pending:
        name, count = entry
        burst = min(count, {burst})
        for _ in range(burst):
            image = frame()
            inputs = validate_inputs(prompt="a slow pan", duration="{duration}", resolution="480p", image=image)
            organization = organizations[name]
            end_user = accounts.end_user_for_partner(organization=organization, external_id="bench")
            generation = services.generation_create(
                organization=organization, end_user=end_user, inputs=inputs, image=image
            )
            order.append(str(generation.pk))
        entry[1] -= burst
emit(order)
"""


def seed_generations(stack: Stack, plan: list[tuple[str, int]], *, duration: int = 4, burst: int = 1000) -> list[str]:
    """Creates organizations and their generations (each organization's batch in one burst, in plan order)."""
    return stack.run_python(SEED_GENERATIONS.format(plan=json.dumps(plan), duration=duration, burst=burst))


STATUS_REPORT = """
from generations.models import Generation, ProviderCall
rows = []
for g in Generation.objects.select_related("organization").order_by("completed_at"):
    rows.append({
        "id": str(g.pk), "org": g.organization.name, "status": g.status, "prediction_id": g.prediction_id,
        "created_at": g.created_at.timestamp(), "submitted_at": g.submitted_at and g.submitted_at.timestamp(),
        "completed_at": g.completed_at and g.completed_at.timestamp(), "polls": g.polls,
        "webhooks": g.webhooks_received, "video": g.video.name, "cost": g.cost, "error": g.error_message,
        "creates": ProviderCall.objects.filter(generation=g, kind="create").count(),
        "accepted": ProviderCall.objects.filter(generation=g, kind="create", status_code=200).count(),
        "gets": ProviderCall.objects.filter(generation=g, kind="get").count(),
        "rate_limited": ProviderCall.objects.filter(generation=g, kind="create", status_code=429).count(),
    })
emit(rows)
"""


def generation_rows(stack: Stack) -> list[dict]:
    return stack.run_python(STATUS_REPORT)


def wait_until_terminal(stack: Stack, *, expected: int, timeout_s: float, interval_s: float = 2.0) -> list[dict]:
    code = (
        "from generations.models import Generation, TERMINAL\n"
        "emit(Generation.objects.filter(status__in=TERMINAL).count())"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stack.run_python(code) >= expected:
            return generation_rows(stack)
        time.sleep(interval_s)
    raise TimeoutError(
        f"not all {expected} generations ended in {timeout_s} s\n--- qcluster log ---\n{stack.log('qcluster')[-4000:]}"
    )


def simulator_finish_times(stack: Stack) -> dict[str, float]:
    """When each job really finished at the provider (the simulator's own record)."""
    import sqlite3

    paths = list((stack.directory / "simulator").rglob("*.sqlite3"))
    finish: dict[str, float] = {}
    for path in paths:
        with closing(sqlite3.connect(path)) as connection:
            finish.update(dict(connection.execute("SELECT id, finish_at FROM jobs").fetchall()))
    return finish
