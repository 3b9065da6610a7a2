"""Invalidation of Django's own cache entries: ``{% cache %}`` fragments and ``cache_page`` views.

Fragment keys are ``template.cache.<name>.<md5 of vary_on>`` (``make_template_fragment_key``).
A cached page is two entries keyed by the md5 of the absolute URL the request was built
with (``views.decorators.cache.cache_header.<key_prefix>.<url md5>`` and
``views.decorators.cache.cache_page.<key_prefix>.<method>.<url md5>.<headers md5>``,
each with ``.<language>`` and ``.<time zone>`` when USE_I18N / USE_TZ). A path has no
host, so the URL is built for each configured host and scheme, exactly as Django builds
it, and one SCAN of the page entries in the site's namespace deletes every variant
(method, key prefix, Vary headers, language, time zone) of those URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from hashlib import md5
from typing import Any

from django.conf import settings
from django.core.cache.utils import make_template_fragment_key
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.guard import CacheUnavailable
from cache_admin.invalidation import outbox
from cache_admin.invalidation.prefix import PrefixProgress, delete_prefix, iter_delete_prefix
from cache_admin.invalidation.results import InvalidationResult

FRAGMENT_PREFIX = "template.cache."
PAGE_PREFIX = "views.decorators.cache.cache_"
_MD5 = re.compile(rb"[0-9a-f]{32}")


def fragment_alias() -> str:
    # The {% cache %} tag uses a "template_fragments" cache when one is configured.
    return "template_fragments" if "template_fragments" in settings.CACHES else backend.alias()


def invalidate_fragment(
    fragment_name: str,
    vary_on: Iterable[Any] = (),
    *,
    all_variants: bool = False,
    alias: str | None = None,
) -> InvalidationResult:
    """Delete one ``{% cache %}`` fragment, or with ``all_variants`` every vary-on value of it."""
    if not isinstance(fragment_name, str) or not fragment_name.strip():
        raise ValueError("Give the fragment name used in {% cache <timeout> <name> ... %}.")
    alias = alias or fragment_alias()
    if not all_variants:
        key = make_template_fragment_key(fragment_name, list(vary_on))
        return InvalidationResult.from_deletion(
            "fragment", fragment_name, outbox.delete([key], alias=alias)
        )
    prefix = f"{FRAGMENT_PREFIX}{fragment_name}."
    return _scan("fragment", fragment_name, prefix, _MD5.fullmatch, alias)


def page_hosts() -> list[str]:
    """Hosts a path is tried with: ``PAGE_HOSTS``, else the concrete ALLOWED_HOSTS."""
    configured = conf.PAGE_HOSTS
    if configured:
        return list(configured)
    hosts = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    if not hosts and settings.DEBUG:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


class _Request(HttpRequest):
    def __init__(self, scheme: str) -> None:
        super().__init__()
        self._scheme = scheme

    def _get_scheme(self) -> str:
        return self._scheme


def page_urls(
    path_or_url: str, hosts: Iterable[str] | None = None, schemes: Iterable[str] = ("http", "https")
) -> list[str]:
    """The absolute URLs Django would have keyed a cached page of this path or URL with."""
    if not isinstance(path_or_url, str) or not path_or_url.strip():
        raise ValueError("Give a path such as /products/ or an absolute URL.")
    text = path_or_url.strip().partition("#")[0]  # a fragment never reaches the server
    match = re.match(r"^(https?)://([^/?#]+)(.*)$", text, re.IGNORECASE)
    if match:
        schemes, hosts, text = [match.group(1).lower()], [match.group(2)], match.group(3) or "/"
    elif not text.startswith("/"):
        raise ValueError("A path starts with '/', a URL with http:// or https://.")
    if isinstance(hosts, str):  # one host, not its characters
        hosts = [hosts]
    if isinstance(schemes, str):
        schemes = [schemes]
    hosts = [h.strip() for h in (page_hosts() if hosts is None else hosts) if h and h.strip()]
    if not hosts:
        raise ValueError(
            "No host to build the page's URL with: give an absolute URL, pass hosts=, or set "
            "CACHE_ADMIN['PAGE_HOSTS'] (for example ['www.example.com', '127.0.0.1:8000'])."
        )
    path, _, query = text.partition("?")
    urls = []
    for scheme in schemes:
        for host in hosts:
            request = _Request(scheme)
            request.path = path
            request.META = {"HTTP_HOST": host, "QUERY_STRING": query}
            try:
                urls.append(request.build_absolute_uri())
            except (DisallowedHost, UnicodeError, ValueError):
                continue  # Django would have refused such a request: nothing was cached
    return list(dict.fromkeys(urls))


def page_matcher(
    path_or_url: str,
    *,
    hosts: Iterable[str] | None = None,
    schemes: Iterable[str] = ("http", "https"),
    key_prefix: str | None = None,
) -> tuple[list[str], Callable[[bytes], Any]]:
    """The URLs of a path's cached pages, and a test of what follows PAGE_PREFIX in a key.

    ``key_prefix`` narrows to one ``cache_page(key_prefix=...)``; None matches any.
    """
    urls = page_urls(path_or_url, hosts, schemes)
    digests = [
        md5(url.encode("ascii", "replace"), usedforsecurity=False).hexdigest() for url in urls
    ]
    if not digests:
        raise ValueError(f"No usable URL for {path_or_url!r} with the hosts given.")
    either = b"|".join(d.encode() for d in digests)
    kp = rb".*" if key_prefix is None else re.escape(key_prefix.encode())
    pattern = re.compile(
        rb"(?:page\." + kp + rb"\.[A-Z]+\.(?:" + either + rb")\.[0-9a-f]{32}"
        rb"|header\." + kp + rb"\.(?:" + either + rb"))(?:\..*)?",
        re.DOTALL,
    )
    return urls, pattern.fullmatch


def iter_invalidate_cache_page(
    path_or_url: str,
    *,
    hosts: Iterable[str] | None = None,
    schemes: Iterable[str] = ("http", "https"),
    key_prefix: str | None = None,
    alias: str | None = None,
) -> Iterator[PrefixProgress]:
    """Progress of deleting a path's cached pages, step by step (a background job's work:
    finding them walks the cache_page entries of the whole keyspace)."""
    _, keep = page_matcher(path_or_url, hosts=hosts, schemes=schemes, key_prefix=key_prefix)
    return iter_delete_prefix(PAGE_PREFIX, alias=alias, keep=lambda rest: keep(rest) is not None)


def invalidate_cache_page(
    path_or_url: str,
    *,
    hosts: Iterable[str] | None = None,
    schemes: Iterable[str] = ("http", "https"),
    key_prefix: str | None = None,
    alias: str | None = None,
) -> InvalidationResult:
    """Delete the ``cache_page`` entries of a path (each host and scheme) or of one URL."""
    urls, keep = page_matcher(path_or_url, hosts=hosts, schemes=schemes, key_prefix=key_prefix)
    result = _scan("page", path_or_url, PAGE_PREFIX, keep, alias or backend.alias())
    return InvalidationResult(
        "page",
        path_or_url,
        deleted=result.deleted,
        matched=result.matched,
        keys=tuple(urls),
        queued=result.queued,
    )


def _scan(
    action: str, target: str, prefix: str, keep: Callable[[bytes], Any], alias: str
) -> InvalidationResult:
    try:
        done = delete_prefix(prefix, alias=alias, keep=lambda rest: keep(rest) is not None)
    except CacheUnavailable as exc:
        # The exact variants cannot be found now: the whole group goes on recovery, which
        # deletes more than needed but never leaves a stale page (R2).
        outbox.queue_prefix(prefix, alias=alias, reason=str(exc))
        return InvalidationResult(action, target, queued=True)
    outbox.replay_if_pending(alias)
    return InvalidationResult(action, target, deleted=done.deleted, matched=done.matched)
