"""Admin classes: TTL overrides (every type listed, with or without one), the audit log and
warm runs (read-only). With django-unfold installed they use unfold's ModelAdmin.

They are registered on the site the console is installed on (``console.install``), not on
``admin.site`` at import: a project whose ``CACHE_ADMIN["ADMIN_SITE"]`` names its own site
finds them there.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.render import flavour_templates, unfold_active
from cache_admin.console.ttl import LONG_TTL, TTLOverrideForm, try_apply
from cache_admin.models import AuditEntry, TTLOverride, WarmRun
from cache_admin.types import all_types, ttl_in_range

if apps.is_installed("unfold"):
    from unfold.admin import ModelAdmin as BaseAdmin
else:
    BaseAdmin = admin.ModelAdmin


class ReadOnlyAdmin(BaseAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class TTLOverrideAdmin(BaseAdmin):
    form = TTLOverrideForm
    list_display = ["cache_type", "ttl", "in_force", "note", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "created_at", "updated_at"]
    change_list_template = "cache_admin/ttloverride/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # The table reads the database (the source of truth), not this process's snapshot.
        saved = {o.cache_type: o for o in TTLOverride.objects.all()}
        rows = []
        for cache_type in sorted(all_types().values(), key=lambda t: t.label.lower()):
            override = saved.get(cache_type.name)
            # A row outside 1 s - 30 days is ignored where the policy reads it: say so.
            applied = override.ttl if override and ttl_in_range(override.ttl) else None
            rows.append(
                {
                    "name": cache_type.name,
                    "label": cache_type.label,
                    "prefix": cache_type.prefix,
                    "default": cache_type.ttl,
                    "override": applied,
                    "ignored": override.ttl if override and applied is None else None,
                    "effective": cache_type.ttl if applied is None else applied,
                    "override_id": override.pk if override else None,
                }
            )
        context = {
            **(extra_context or {}),
            "cache_admin_type_rows": rows,
            "cache_admin_types_template": flavour_templates("ttloverride/types.html"),
            "cache_admin_unfold": unfold_active(),
        }
        return super().changelist_view(request, context)  # type: ignore[no-any-return]

    @admin.display(description=_("In force"))
    def in_force(self, obj: TTLOverride) -> str:
        return _("yes") if ttl_in_range(obj.ttl) else _("ignored: out of range")

    def save_model(
        self, request: HttpRequest, obj: TTLOverride, form: TTLOverrideForm, change: bool
    ) -> None:
        obj.updated_by = request.user if request.user.is_authenticated else None
        super().save_model(request, obj, form, change)
        audit.record(
            request.user, "change_ttl" if change else "add_ttl", obj.cache_type, ttl=obj.ttl
        )
        if obj.ttl > LONG_TTL:
            messages.warning(
                request,
                _(
                    "%(type)s now keeps entries for more than 24 hours: long TTLs risk stale "
                    "data and waste memory."
                )
                % {"type": obj.cache_type},
            )
        if form.cleaned_data.get("apply_to_existing"):
            changed, finished, error = try_apply(obj.cache_type, obj.ttl)
            audit.record(request.user, "apply_ttl", obj.cache_type, changed, ttl=obj.ttl)
            if error:
                messages.error(request, _("Existing keys were not changed: %s") % error)
            elif finished:
                messages.info(request, _("%d existing keys now expire sooner.") % changed)
            else:
                messages.warning(
                    request,
                    _("%d existing keys shortened; the scan stopped early, save again to go on.")
                    % changed,
                )

    def delete_model(self, request: HttpRequest, obj: TTLOverride) -> None:
        audit.record(request.user, "delete_ttl", obj.cache_type, ttl=obj.ttl)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TTLOverride]) -> None:
        for obj in queryset:
            audit.record(request.user, "delete_ttl", obj.cache_type, ttl=obj.ttl)
        super().delete_queryset(request, queryset)


class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "action", "target", "keys_affected"]
    list_filter = ["action"]
    search_fields = ["target", "action"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "user", "action", "target", "keys_affected", "detail"]


class WarmRunAdmin(ReadOnlyAdmin):
    list_display = [
        "warmer",
        "status",
        "trigger",
        "user",
        "queued_at",
        "finished_at",
        "keys_written",
    ]
    list_filter = ["status", "warmer"]
    search_fields = ["warmer", "task_id", "error"]
    readonly_fields = [
        "warmer",
        "trigger",
        "user",
        "task_id",
        "status",
        "queued_at",
        "started_at",
        "finished_at",
        "current",
        "total",
        "keys_written",
        "error",
    ]


MODEL_ADMINS = (
    (TTLOverride, TTLOverrideAdmin),
    (AuditEntry, AuditEntryAdmin),
    (WarmRun, WarmRunAdmin),
)


def register_model_admins(site: admin.AdminSite) -> None:
    for model, model_admin in MODEL_ADMINS:
        # A project that registered its own admin for one of them keeps it.
        if not site.is_registered(model):
            site.register(model, model_admin)
