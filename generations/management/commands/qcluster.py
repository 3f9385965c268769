"""`manage.py qcluster`: django-q2's cluster plus, on main-cluster nodes, the generations ticker; stops on SIGTERM.

It replaces django-q2's own command of the same name (`django_q` comes after our apps in INSTALLED_APPS), so
every existing way of starting a node (Makefile, Procfile, systemd, tests) runs the ticker too.
"""

from __future__ import annotations

import os
import signal
import time

from django.conf import settings
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand


class Command(DjangoQClusterCommand):
    help = "Starts a django-q2 cluster; on the main cluster also the generations ticker (generations.ticker)."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - django-q2 signs payloads with it: fail now if it is missing
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        # Imported only now: django-q2 reads Q_CLUSTER_NAME when its configuration is first imported.
        from django_q.cluster import Cluster
        from django_q.conf import Conf

        from generations.ticker import Ticker

        cluster = Cluster()
        ticker = Ticker() if Conf.CLUSTER_NAME == Conf.PREFIX else None
        stopping = []

        def stop(signum, frame) -> None:
            if stopping:
                return
            stopping.append(signum)
            if ticker is not None:
                ticker.stopping.set()  # finishes its pass and hands the lease over while the workers finish
            # Workers finish the task in hand (and the few already fetched), then exit. The ticker no longer
            # runs inside a worker, so nothing holds a worker for long.
            cluster.stop()
            if ticker is not None:
                ticker.stop()

        # Cluster() installed django-q2's handlers; ours stops the ticker too. SIGTERM should reach this process
        # only (Docker and Kubernetes do that; systemd with KillMode=mixed): see README "Deploying".
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        if ticker is not None and not stopping:
            ticker.start()
        while cluster.sentinel.is_alive() and not stopping:
            time.sleep(0.2)
        stop(None, None)
