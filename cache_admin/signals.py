"""Receivers that keep every process's TTL policy in step with the override table."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cache_admin import policy
from cache_admin.models import TTLOverride


@receiver(post_save, sender=TTLOverride, dispatch_uid="cache_admin_override_saved")
@receiver(post_delete, sender=TTLOverride, dispatch_uid="cache_admin_override_deleted")
def announce_override_change(sender: type[TTLOverride], **kwargs: Any) -> None:
    transaction.on_commit(policy.notify_changed, using=kwargs.get("using"))
