"""The product's settings plus one bare route, for the API benchmark's baseline."""

from seedance_saas.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.bench_urls"
