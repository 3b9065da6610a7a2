"""``request.user`` from the cache: the spec's Pattern 1 example, ``get_user_profile``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from cache_admin import cache_result
from shop import bypass


@cache_result(timeout=600, key_prefix="user_profile")
def get_user_profile(user_id: int) -> Any:
    return get_user_model().objects.select_related("profile").filter(pk=user_id).first()


class CachedUserBackend(ModelBackend):
    # Authentication itself (the password check) stays on the database.
    def get_user(self, user_id: Any) -> Any:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        lookup = get_user_profile.__wrapped__ if bypass.active() else get_user_profile
        user = lookup(pk)
        return user if user is not None and self.user_can_authenticate(user) else None
