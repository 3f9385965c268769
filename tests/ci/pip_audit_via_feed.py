"""Runs the real pip-audit with PyPI's vulnerability feed (https://pypi.org/pypi/...) replaced by $AUDIT_FEED_URL."""

import os
import sys

import requests
from pip_audit._cli import audit

FEED = "https://pypi.org/pypi/"
_request = requests.Session.request


def _to_test_feed(self, method, url, *args, **kwargs):
    if str(url).startswith(FEED):
        url = os.environ["AUDIT_FEED_URL"].rstrip("/") + "/pypi/" + str(url)[len(FEED) :]
    return _request(self, method, url, *args, **kwargs)


if __name__ == "__main__":
    requests.Session.request = _to_test_feed
    sys.argv[0] = "pip-audit"
    audit()
