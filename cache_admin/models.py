from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cache_admin import queued
from cache_admin.types import MAX_TTL, MIN_TTL, all_types, ttl_in_range

__all__ = ["AuditEntry", "TTLOverride", "WarmRun"]


def validate_cache_type(value: str) -> None:
    if value not in all_types():
        known = ", ".join(sorted(all_types())) or "none are configured"
        raise ValidationError(
            _("Unknown cache type %(value)s. Known types: %(known)s."),
            params={"value": value, "known": known},
            code="unknown_type",
        )


class TTLOverride(models.Model):
    """A TTL set by staff for one cache type; it wins over the type's default."""

    cache_type = models.CharField(
        _("cache type"), max_length=100, unique=True, validators=[validate_cache_type]
    )
    ttl = models.PositiveIntegerField(
        _("TTL (seconds)"),
        validators=[MinValueValidator(MIN_TTL), MaxValueValidator(MAX_TTL)],
        help_text=_("Whole seconds, from 1 to 30 days (2592000)."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("TTL override")
        verbose_name_plural = _("TTL overrides")
        ordering = ["cache_type"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ttl__gte=MIN_TTL, ttl__lte=MAX_TTL),
                name="cache_admin_ttloverride_ttl_range",
                violation_error_message=_("A TTL is from 1 second to 30 days (2592000)."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.cache_type}: {self.ttl}s"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The admin form validates; code that saves directly gets the same refusal, before
        # the database constraint (which not every database enforces).
        if not ttl_in_range(self.ttl):
            message = _("A TTL is from 1 second to 30 days (2592000), not %(ttl)r.")
            raise ValidationError(
                {"ttl": ValidationError(message, code="out_of_range", params={"ttl": self.ttl})}
            )
        super().save(*args, **kwargs)


class AuditEntry(models.Model):
    """One destructive or policy-changing action taken through the console or the toolkit.

    It also carries the console's permissions (Meta.permissions).
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=50, db_index=True)
    target = models.TextField(_("target"))
    keys_affected = models.BigIntegerField(_("keys affected"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("view_dashboard", _("Can view the cache dashboard")),
            ("browse_keys", _("Can browse cache keys and values")),
            ("delete_keys", _("Can delete cache keys and change their TTL")),
            ("invalidate_cache", _("Can invalidate cached models, lists and prefixes")),
            ("warm_cache", _("Can start cache warming jobs")),
            ("analyze_keyspace", _("Can start and cancel keyspace analyses")),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


class WarmRun(models.Model):
    """One run of a warmer, started from the console, the command, or Celery beat."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STATUS_CHOICES = [
        (QUEUED, _("queued")),
        (RUNNING, _("running")),
        (SUCCEEDED, _("succeeded")),
        (FAILED, _("failed")),
    ]

    warmer = models.CharField(_("warmer"), max_length=100, db_index=True)
    trigger = models.CharField(_("triggered by"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task_id = models.CharField(_("task id"), max_length=255, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=STATUS_CHOICES, default=QUEUED)
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Moves with every progress write: a running run whose heartbeat stops was lost with
    # its worker (killed outright, Celery records nothing then).
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    current = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    keys_written = models.PositiveIntegerField(_("keys written"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("warm run")
        verbose_name_plural = _("warm runs")
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.warmer} ({self.status})"

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class WarmRunTotal(models.Model):
    """What the warm runs pruned from history added up to, per warmer and outcome.

    ``WarmRun`` keeps the newest ``WARM_RUN_HISTORY`` finished runs of each warmer; older
    ones are folded in here first, so the metrics' counters never go down.
    """

    warmer = models.CharField(_("warmer"), max_length=100)
    status = models.CharField(_("status"), max_length=20, choices=WarmRun.STATUS_CHOICES)
    runs = models.PositiveBigIntegerField(_("runs"), default=0)
    # Runs that had both a start and an end: the duration summary's count.
    timed_runs = models.PositiveBigIntegerField(_("timed runs"), default=0)
    seconds = models.FloatField(_("seconds"), default=0.0)
    keys_written = models.PositiveBigIntegerField(_("keys written"), default=0)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("pruned warm runs")
        verbose_name_plural = _("pruned warm runs")
        constraints = [
            models.UniqueConstraint(fields=["warmer", "status"], name="cache_admin_warmtotal_once")
        ]

    def __str__(self) -> str:
        return f"{self.warmer} ({self.status}): {self.runs} runs"


class QueuedInvalidation(models.Model):
    """An invalidation queued while Redis was unreachable, kept until it is replayed.

    The outbox of the process that queued it holds the same entry in memory; this copy
    lets another process replay it when the first one exits before Redis is back.
    """

    KEY = queued.KEY
    PREFIX = queued.PREFIX
    KIND_CHOICES = [(KEY, _("stored key")), (PREFIX, _("logical prefix"))]

    alias = models.CharField(_("cache alias"), max_length=100, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=KIND_CHOICES)
    target = models.TextField(_("key or prefix"))
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True)

    class Meta:
        verbose_name = _("queued invalidation")
        verbose_name_plural = _("queued invalidations")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.alias}: {self.kind} {self.target}"


class KeyspaceReport(models.Model):
    """One keyspace analysis (``cache_admin.analysis``): its state while it runs, then its
    figures. The newest ``ANALYSIS_HISTORY`` are kept."""

    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    STATUS_CHOICES = [
        (RUNNING, _("running")),
        (DONE, _("done")),
        (CANCELLED, _("cancelled")),
        (FAILED, _("failed")),
    ]

    job_id = models.CharField(_("job id"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=STATUS_CHOICES, default=RUNNING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Keys in the database(s) (exact, or DBSIZE when sampled) and keys looked at.
    keys_total = models.BigIntegerField(_("keys"), null=True, blank=True)
    keys_sampled = models.BigIntegerField(_("keys sampled"), default=0)
    exact = models.BooleanField(_("whole keyspace walked"), default=False)
    memory = models.BigIntegerField(_("memory (bytes)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The options it ran with and its figures (cache_admin.analysis.report).
    options = models.JSONField(_("options"), default=dict, blank=True)
    data = models.JSONField(_("figures"), default=dict, blank=True)

    class Meta:
        verbose_name = _("keyspace analysis")
        verbose_name_plural = _("keyspace analyses")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"keyspace analysis {self.job_id[:8]} ({self.status})"
