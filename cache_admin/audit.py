"""The audit log: who did what to the cache, and how many keys it touched."""

from __future__ import annotations

import logging
from typing import Any

from cache_admin.models import AuditEntry

# Re-exported: views check ``audit.WARM`` beside ``audit.record``; the names live in
# ``permissions``, which settings can import.
from cache_admin.permissions import ANALYZE as ANALYZE
from cache_admin.permissions import BROWSE_KEYS as BROWSE_KEYS
from cache_admin.permissions import CHANGE_TTL as CHANGE_TTL
from cache_admin.permissions import DELETE_KEYS as DELETE_KEYS
from cache_admin.permissions import INVALIDATE as INVALIDATE
from cache_admin.permissions import VIEW_DASHBOARD as VIEW_DASHBOARD
from cache_admin.permissions import WARM as WARM

logger = logging.getLogger("cache_admin.audit")


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
