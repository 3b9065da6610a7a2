"""The audit log: who did what to the cache, and how many keys it touched."""

from __future__ import annotations

import logging
from typing import Any

from cache_admin.models import AuditEntry

logger = logging.getLogger("cache_admin.audit")

# Permission names as used with user.has_perm(); the codenames live on AuditEntry.Meta.
VIEW_DASHBOARD = "cache_admin.view_dashboard"
BROWSE_KEYS = "cache_admin.browse_keys"
DELETE_KEYS = "cache_admin.delete_keys"
INVALIDATE = "cache_admin.invalidate_cache"
WARM = "cache_admin.warm_cache"
CHANGE_TTL = "cache_admin.change_ttloverride"


def record(
    user: Any,
    action: str,
    target: str,
    keys_affected: int | None = None,
    **detail: Any,
) -> AuditEntry | None:
    """Write one audit entry; a failure to write is logged, never raised into the action."""
    who = user if getattr(user, "is_authenticated", False) else None
    try:
        return AuditEntry.objects.create(
            user=who,
            action=action,
            target=str(target)[:10000],
            keys_affected=keys_affected,
            detail=detail,
        )
    except Exception:
        logger.exception("audit entry not written: %s %s", action, target)
        return None
