"""The declared public API: docs/api.md, each public module's ``__all__``, and the demo,
which uses the package exactly as a project would (public names only)."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = ROOT / "docs" / "api.md"
DEMO = ROOT / "demo"

# The public names as released. A name leaves this list only after its deprecation
# (docs/api.md, "Stability"): deleting a line here is a break of the public API.
RELEASED = {
    "cache_admin": (
        "CacheInvalidator CachePattern CacheType CachedAttribute InvalidationResult action_key "
        "attribute_key cache_queryset cache_result cached_attribute delete_keys detail_key "
        "list_key register register_type registered_models slug_key ttl_for user_key"
    ),
    "cache_admin.caching": (
        "CachePattern CachedAttribute CachedFunction cache_queryset cache_result "
        "cached_attribute known_attributes"
    ),
    "cache_admin.invalidation": (
        "CacheInvalidator CacheUnavailable InvalidationResult PrefixCount PrefixProgress "
        "Registration delete_keys model_keys register registered_models unregister"
    ),
    "cache_admin.types": (
        "CacheType InvalidType all_types get_type iter_types register_type type_for_key "
        "unregister_type"
    ),
    "cache_admin.policy": "EffectiveTTL effective_ttls notify_changed overrides reload ttl_for",
    "cache_admin.conf": "conf",
    "cache_admin.generations": "bump token",
    "cache_admin.counters": "Counts EVENTS flush record totals type_stats",
    "cache_admin.breaker": "Breaker CLOSED HALF_OPEN OPEN breaker_for",
    "cache_admin.warming": (
        "CeleryUnavailable Progress RedisUnavailable UnknownWarmer Warmer all_warmers enqueue "
        "get_warmer register_warmer run_inline unregister_warmer warm_schedule"
    ),
    "cache_admin.stats": (
        "HistoryPoint KeyCounts ServerStatus TypeRow history hit_rate_level key_counts sample "
        "server_status type_rows"
    ),
    "cache_admin.metrics": "CacheAdminCollector metrics_registry metrics_view",
    "cache_admin.console": "install require",
    "cache_admin.models": "AuditEntry TTLOverride WarmRun",
    "cache_admin.testing": (
        "ClusterNodeServer RedisClusterServer RedisServer ServerNotFound find_server_binary "
        "free_port populate"
    ),
}


def documented() -> dict[str, list[str]]:
    """{module: [names]} from docs/api.md's ``## `module` `` sections and their tables."""
    modules: dict[str, list[str]] = {}
    current: str | None = None
    for line in API_PAGE.read_text().splitlines():
        if line.startswith("## "):
            heading = re.fullmatch(r"## `(cache_admin(?:\.\w+)*)`", line)
            current = heading[1] if heading else None
            if current is not None:
                modules[current] = []
        elif current is not None and line.startswith("| `"):
            row = re.fullmatch(r"\| `(\w+)` \| .+ \| (stable|provisional) \|", line)
            assert row, f"docs/api.md: a row without a name or a stability: {line}"
            modules[current].append(row[1])
    return modules


PUBLIC = documented()


def test_the_page_lists_every_released_name() -> None:
    for module, names in RELEASED.items():
        missing = set(names.split()) - set(PUBLIC.get(module, ()))
        assert not missing, f"{module}: {sorted(missing)} left docs/api.md"


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in PUBLIC.items() for n in names])
def test_every_documented_name_can_be_imported(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_each_public_module_declares_exactly_its_documented_names(module: str) -> None:
    names = PUBLIC[module]
    assert len(names) == len(set(names)), f"{module}: a name is listed twice in docs/api.md"
    assert sorted(importlib.import_module(module).__all__) == sorted(names)


def violations(source: str, where: str = "<demo>") -> Iterator[str]:
    """Every use of a ``cache_admin`` name in ``source`` that docs/api.md does not declare:
    imports, and attributes of the names those imports bind (``counters.record``)."""
    tree = ast.parse(source, where)
    bound: dict[str, str] = {}  # a local name -> the public module it stands for

    def check(module: str, name: str | None, line: int) -> Iterator[str]:
        dotted = module if name is None else f"{module}.{name}"
        if dotted in PUBLIC or (module in PUBLIC and name in PUBLIC[module]):
            return
        yield f"{where}:{line}: {dotted}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.partition(".")[0] == "cache_admin":
                    yield from check(alias.name, None, node.lineno)
                    local = alias.asname or "cache_admin"
                    bound[local] = alias.name if alias.asname else "cache_admin"
        elif (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").partition(".")[0] == "cache_admin"
        ):
            module = str(node.module)
            for alias in node.names:
                yield from check(module, alias.name, node.lineno)
                if f"{module}.{alias.name}" in PUBLIC:
                    bound[alias.asname or alias.name] = f"{module}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            yield from check(bound[node.value.id], node.attr, node.lineno)


def test_the_check_sees_private_uses() -> None:
    private = """
import cache_admin
import cache_admin.backend
from cache_admin.warming.beat import warm_schedule
from cache_admin.keyspace import scan_page
from cache_admin import counters, keys
cache_admin.backend.client()
counters.pending()
"""
    found = sorted(v.split(": ", 1)[1] for v in violations(private))
    assert found == [
        "cache_admin.backend",
        "cache_admin.backend",
        "cache_admin.counters.pending",
        "cache_admin.keys",
        "cache_admin.keyspace.scan_page",
        "cache_admin.warming.beat.warm_schedule",
    ]
    public = "import cache_admin\nfrom cache_admin import counters\ncache_admin.register\n"
    assert list(violations(public + "counters.record\n")) == []


def test_the_demo_uses_public_names_only() -> None:
    files = sorted(DEMO.rglob("*.py"))
    uses = 0
    found: list[str] = []
    for path in files:
        source = path.read_text()
        uses += source.count("cache_admin")
        found += violations(source, str(path.relative_to(ROOT)))
    assert uses > 20  # the demo does use the package: the check has something to see
    assert found == []
