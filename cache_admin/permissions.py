"""Permission names as used with ``user.has_perm()``; the codenames live on AuditEntry.Meta
and the model permissions are Django's. Plain strings, importable from settings."""

from __future__ import annotations

VIEW_DASHBOARD = "cache_admin.view_dashboard"
BROWSE_KEYS = "cache_admin.browse_keys"
DELETE_KEYS = "cache_admin.delete_keys"
INVALIDATE = "cache_admin.invalidate_cache"
WARM = "cache_admin.warm_cache"
ANALYZE = "cache_admin.analyze_keyspace"
CHANGE_TTL = "cache_admin.change_ttloverride"
VIEW_TTL = "cache_admin.view_ttloverride"
VIEW_AUDIT = "cache_admin.view_auditentry"
VIEW_WARM_RUNS = "cache_admin.view_warmrun"
