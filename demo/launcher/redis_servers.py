"""The Redis the demo runs on: ``REDIS_URL`` if set, else a server it starts, and with
``--cluster`` a local Redis Cluster for the cache; both stopped with the demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from launcher import ROOT


def from_checkout() -> None:
    """Make ``cache_admin`` importable from a checkout that is not installed (--no-install)."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))


class RedisServers:
    def __init__(self, var_dir: Path) -> None:
        self.server: Any = None
        self.cluster: Any = None
        self.server_file = var_dir / "redis_url"
        self.cluster_file = var_dir / "redis_cluster_url"

    def pick(self, env: dict[str, str], port: int | None) -> None:
        if os.environ.get("REDIS_URL"):
            print(f"Redis: REDIS_URL={os.environ['REDIS_URL']}", flush=True)
            return
        from_checkout()
        from cache_admin.testing import RedisServer

        server = RedisServer(port).start()
        self.server = server
        env["REDIS_URL"] = server.url
        # Other terminals (`manage.py loadgen`, `cache_stats`) find this server through it.
        self.server_file.write_text(server.url)
        print(f"Redis: started {server.binary} on {server.url}", flush=True)

    def start_cluster(self, env: dict[str, str]) -> None:
        from_checkout()
        from cache_admin.testing import RedisClusterServer

        print("Redis Cluster: starting 3 primaries and 3 replicas ...", flush=True)
        # Assigned before start(), so that a start interrupted by Ctrl-C is stopped too.
        self.cluster = RedisClusterServer(3, 1)
        self.cluster.start()
        env["REDIS_CLUSTER_URL"] = self.cluster.url
        self.cluster_file.write_text(self.cluster.url)
        ports = ", ".join(str(node.port) for node in self.cluster.nodes)
        print(f"Redis Cluster: the cache is on nodes at 127.0.0.1 ports {ports}", flush=True)

    def pids(self) -> str:
        """`` redis=<pid>`` and `` cluster_node<n>=<pid>`` of what it started."""
        pids = ""
        if self.server is not None and self.server.process is not None:
            pids += f" redis={self.server.process.pid}"
        if self.cluster is not None:
            for number, node in enumerate(self.cluster.nodes, start=1):
                if node.process is not None:
                    pids += f" cluster_node{number}={node.process.pid}"
        return pids

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server_file.unlink(missing_ok=True)
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster_file.unlink(missing_ok=True)
