"""Delete a selection of keys from the key browser: the selection is shown for
confirmation, then deleted (audited) and the browser shown again with the result (PRG).

Every key is named by its link token; a forged or damaged token, a key outside the site's
KEY_PREFIX or a selection over ``MAX_SELECTION`` keys is refused with a message, and then
nothing is deleted (S2).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cache_admin import audit
from cache_admin.console import back
from cache_admin.console.access import require
from cache_admin.console.render import page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.keyspace import delete_keys, key_from_token
from cache_admin.keyspace.actions import MAX_SELECTION
from cache_admin.keyspace.names import logical_text, require_inside

# Key names kept in the audit entry's detail; the count covers them all.
AUDITED_NAMES = 100


def _selection(tokens: list[str]) -> list[bytes]:
    """The stored keys the tokens name; ValueError when any one cannot be deleted here."""
    if not tokens:
        raise ValueError(_("No key was selected."))
    if len(tokens) > MAX_SELECTION:
        raise ValueError(
            _("%(n)s keys were selected; at most %(max)s are deleted at once.")
            % {"n": f"{len(tokens):,}", "max": f"{MAX_SELECTION:,}"}
        )
    with as_unavailable(passthrough=(ValueError,)):
        return list(dict.fromkeys(require_inside(key_from_token(t)) for t in tokens))


@require(audit.DELETE_KEYS, post_only=True)
def delete_selected_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    to = back.requested(request, site, reverse(f"{site.name}:cache_admin_keys"))
    try:
        stored = _selection(request.POST.getlist("key"))
    except (ValueError, Unavailable) as exc:
        messages.error(request, _("Nothing was deleted: %(error)s") % {"error": exc})
        return HttpResponseRedirect(to)
    shown = [logical_text(key) for key in stored]
    if request.POST.get("confirm") != "yes":
        context = {
            "keys": list(zip(request.POST.getlist("key"), shown, strict=False)),
            "back": to,
        }
        return page(
            request,
            site,
            "keys_delete.html",
            context,
            title=_("Delete the selected keys"),
            parent="cache_admin_keys",
        )
    try:
        with as_unavailable(passthrough=(ValueError,)):
            deleted = delete_keys(stored)
    except (ValueError, Unavailable) as exc:
        messages.error(request, _("Nothing was deleted: %(error)s") % {"error": exc})
        return HttpResponseRedirect(to)
    audit.record(
        request.user,
        "delete_keys",
        ", ".join(shown[:AUDITED_NAMES]),
        keys_affected=deleted,
        selected=len(stored),
        keys=shown[:AUDITED_NAMES],
    )
    gone = len(stored) - deleted
    text = ngettext("Deleted %(n)d key.", "Deleted %(n)d keys.", deleted) % {"n": deleted}
    if gone:
        text += " " + ngettext("%(n)d was already gone.", "%(n)d were already gone.", gone) % {
            "n": gone
        }
    messages.success(request, text)
    return HttpResponseRedirect(to)
