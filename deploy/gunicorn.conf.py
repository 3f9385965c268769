"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py seedance_saas.wsgi`.

Every value can be overridden from the environment (the names below); see README "Deploying".
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threads rather than many processes: requests mostly wait on the database, Redis or storage.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A request never runs long: uploads are capped (61 MB) and slow work runs in django-q2 tasks.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, requests in hand get this long to finish, inside a 10 s stop grace (README "Deploying").
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "8"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then (memory growth), spread so they never all restart at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Off: a reload (SIGHUP, `systemctl reload`) then starts workers that import the new release. With preload on,
# they would fork from a master still holding the old code.
preload_app = os.environ.get("GUNICORN_PRELOAD", "false").lower() in ("1", "true", "yes")
# Behind the TLS proxy: trust its X-Forwarded-* only from these addresses (the app reads the client
# address itself, see TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")  # stdout
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Method, path, status, bytes, duration (microseconds) and the request id; no query string (signed media
# links carry their signature there), no referrer, no user agent.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(D)sus rid=%({x-request-id}i)s'
# The provider webhook path /hooks/eachlabs/<secret>/ carries a secret: this logger class redacts it (and every
# other secret our log redaction knows) from each access-log field.
logger_class = os.environ.get("GUNICORN_LOGGER_CLASS", "seedance_saas.gunicorn_logging.MaskedSecretsLogger")
