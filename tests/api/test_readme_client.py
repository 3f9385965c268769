"""The README's backing-off client, run as written against a live server: it waits out a 429 by `Retry-After`
and pauses when its budget reaches r=0 (a wait here resets the window, as real time would)."""

import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_client() -> dict:
    text = README.read_text()
    block = re.search(r"<!-- README client: start -->\n```python\n(.*?)```\n<!-- README client: end -->", text, re.S)
    code = block[1].split("\nclient = httpx.Client(")[0]  # the definitions; the example call names a made-up host
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


@pytest.mark.django_db(transaction=True)
def test_the_readme_client_waits_out_a_429_and_pauses_at_the_end_of_its_budget(
    live_server, api_key, settings, monkeypatch
):
    settings.API_READ_RATE_PER_MINUTE = 2
    waits = []
    real_sleep = time.sleep

    def sleep(seconds):
        if threading.current_thread() is not threading.main_thread():
            return real_sleep(seconds)
        waits.append(seconds)
        cache.clear()  # waiting until the reset starts a new window

    monkeypatch.setattr(time, "sleep", sleep)
    client = httpx.Client(base_url=f"{live_server.url}/api/v1", headers={"Authorization": f"Bearer {api_key.secret}"})
    for _ in range(2):
        client.get("/generations/")  # someone else spent the budget
    assert client.get("/generations/").status_code == 429

    call = readme_client()["call"]
    response = call(client, "GET", "/generations/")
    assert response.status_code == 200 and len(waits) == 1 and 1 <= waits[0] <= 60  # Retry-After, then the retry
    response = call(client, "GET", "/generations/")
    assert response.status_code == 200 and len(waits) == 2 and 1 <= waits[1] <= 60  # r=0: paused for `t`
    assert "r=0" in response.headers["RateLimit"]
