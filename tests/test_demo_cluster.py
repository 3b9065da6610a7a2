"""``demo/run.py --cluster``, run as a user would: the storefront and the console on a local
Redis Cluster of 3 primaries and 3 replicas it starts, and Ctrl-C (SIGINT) stops every
process it started, each cluster node included."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
from django.urls import reverse

from tests.demo_support import Browser
from tests.test_demo_command import (
    RunningDemo,
    admin_login,
    alive,
    first_product_slug,
    processes_in_groups,
    running_demo,
)

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    with running_demo(tmp_path_factory.mktemp("demo-cluster-var"), "--cluster") as running:
        yield running


def test_storefront_and_dashboard_on_the_cluster_then_ctrl_c_stops_every_node(
    demo: RunningDemo,
) -> None:
    nodes = {name: pid for name, pid in demo.pids.items() if name.startswith("cluster_node")}
    assert len(nodes) == 6, demo.pids
    assert "Redis Cluster: the cache is on nodes at 127.0.0.1 ports" in demo.output()
    assert (demo.var / "redis_cluster_url").exists()  # a second terminal finds the cluster

    shopper = Browser(demo.base)
    status, listing = shopper.get("/products/")
    assert status == 200
    assert shopper.get(f"/products/{first_product_slug(listing)}/")[0] == 200

    status, html = admin_login(demo).get(reverse("admin:cache_admin_dashboard"))
    assert status == 200
    assert "Cluster, summed over the 3 primaries that answer" in html
    roles = re.findall(r'data-role="(primary|replica)"', html)
    assert sorted(roles) == ["primary"] * 3 + ["replica"] * 3
    keys = re.search(r"db0: ([\d,]+)", html)
    assert keys and int(keys.group(1).replace(",", "")) > 100  # the warmed catalogue

    groups = set(demo.pids.values())
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(60) == 0
    assert "Demo stopped: every process it started has exited." in demo.output()
    assert [name for name, pid in demo.pids.items() if alive(pid)] == []
    assert processes_in_groups(groups | {demo.process.pid}) == []
    assert not (demo.var / "redis_cluster_url").exists()
