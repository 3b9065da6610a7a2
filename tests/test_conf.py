from __future__ import annotations

import threading
from dataclasses import MISSING, Field
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from cache_admin import conf as conf_module
from cache_admin.conf import CacheAdminSettings, conf, snapshot


def test_conf_is_typed_and_reads_the_current_snapshot() -> None:
    assert isinstance(conf, CacheAdminSettings)
    assert isinstance(snapshot(), CacheAdminSettings)
    assert conf.POLICY_POLL_INTERVAL == snapshot().POLICY_POLL_INTERVAL == 0.2


def test_the_snapshot_is_built_once_until_cache_admin_changes(settings: Any) -> None:
    first = snapshot()
    assert snapshot() is first
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 7}
    second = snapshot()
    assert second is not first
    assert second.SCAN_COUNT == conf.SCAN_COUNT == 7
    assert snapshot() is second


def test_override_settings_applies_and_is_undone() -> None:
    with override_settings(CACHE_ADMIN={"NAMESPACE": "elsewhere:"}):
        assert conf.NAMESPACE == "elsewhere:"
        assert conf.TYPES == {}
    assert conf.NAMESPACE == "cache_admin:"
    assert "product_detail" in conf.TYPES


def test_other_settings_leave_the_snapshot_alone(settings: Any) -> None:
    first = snapshot()
    settings.ALLOWED_HOSTS = ["example.com"]
    assert snapshot() is first


def test_a_snapshot_built_from_settings_read_before_a_change_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A background thread (the policy poller, the counters flusher) builds the snapshot
    # while a test overrides CACHE_ADMIN: its build read the old settings, so it must not
    # stay cached after the change.
    conf_module.reload()
    read_old = threading.Event()
    changed = threading.Event()
    build = conf_module._build

    def slow_build() -> CacheAdminSettings:
        built = build()
        if threading.current_thread().name == "builder":
            read_old.set()
            assert changed.wait(5)
        return built

    monkeypatch.setattr(conf_module, "_build", slow_build)
    seen: list[CacheAdminSettings] = []
    builder = threading.Thread(target=lambda: seen.append(snapshot()), name="builder")
    builder.start()
    assert read_old.wait(5)
    with override_settings(CACHE_ADMIN={"SCAN_COUNT": 11}):
        changed.set()
        builder.join(5)
        assert seen[0].SCAN_COUNT == 1000  # the builder answered from what it read
        assert conf.SCAN_COUNT == 11
    assert conf.SCAN_COUNT == 1000


def test_reload_picks_up_an_assignment_made_without_override_settings() -> None:
    from django.conf import settings

    with override_settings():
        settings.CACHE_ADMIN = {"SCAN_COUNT": 5}  # no setting_changed for this one
        assert conf.SCAN_COUNT == 1000
        conf_module.reload()
        assert conf.SCAN_COUNT == 5
    conf_module.reload()
    assert conf.SCAN_COUNT == 1000


def _default(setting: Field[Any]) -> object:
    return setting.default_factory() if setting.default is MISSING else setting.default


def test_every_setting_has_its_row_in_docs_settings() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in text.splitlines()
        if line.startswith("| `") and not line.startswith("| `cache_admin.")
    }
    assert list(rows) == [setting.name for setting in conf_module.DECLARED]
    for setting in conf_module.DECLARED:
        default, accepts, check, meaning = rows[setting.name]
        assert default == "`" + repr(_default(setting)).replace("'", '"') + "`", setting.name
        assert accepts == conf_module.rule(setting).wanted, setting.name
        assert check == conf_module.check_id(setting).removeprefix("cache_admin."), setting.name
        assert meaning, setting.name
