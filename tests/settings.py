"""Settings for the test suite: a real Redis started for the session (TEST_REDIS_URL to reuse one).

REDIS_URL is deliberately not used: the suite flushes its database between tests.
"""

from __future__ import annotations

import atexit
import os
import tempfile

from cache_admin.testing import RedisServer

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
if not TEST_REDIS_URL:
    _server = RedisServer().start()
    atexit.register(_server.stop)
    TEST_REDIS_URL = os.environ["TEST_REDIS_URL"] = _server.url

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_UNFOLD = os.environ.get("CACHE_ADMIN_TEST_UNFOLD") == "1"

INSTALLED_APPS = [
    *(["unfold"] if _UNFOLD else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "cache_admin",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_DB_FILE = os.path.join(tempfile.gettempdir(), f"cache-admin-tests-{os.getpid()}.sqlite3")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DB_FILE,
        # A file, so that a second process (a Celery worker, a policy subprocess) sees it.
        "TEST": {"NAME": os.environ.get("CACHE_ADMIN_TEST_DB", _DB_FILE + ".test")},
    }
}

_OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{TEST_REDIS_URL}/0",
        "KEY_PREFIX": "testsite",
        "TIMEOUT": 300,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", **_OPTIONS},
    },
    "builtin": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{TEST_REDIS_URL}/0",
        "KEY_PREFIX": "testbuiltin",
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    },
    # A neighbour site on the same Redis: destructive operations must never touch it (S2).
    "neighbour": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{TEST_REDIS_URL}/0",
        "KEY_PREFIX": "neighbour",
    },
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}


def cluster_caches(url: str, timeout: float = 1, prefix: str = "") -> dict[str, dict[str, object]]:
    """The aliases on the session's Redis Cluster (``TEST_REDIS_CLUSTER_URL``): the package's
    two cluster backends and django-valkey's. tests/conftest.py adds them when a test asks
    for the cluster (it is started then, not for every session); a subprocess started
    meanwhile finds the URL in its environment and has them from the start. (The outage
    tests make more, ``prefix``-named, on a cluster of their own.)"""
    valkey_url = url.replace("redis://", "valkey://", 1)
    sockets = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    return {
        f"{prefix}cluster": {
            "BACKEND": "cache_admin.backends.django_redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "testcluster",
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "cache_admin.backends.cluster.ClusterClient",
                "SOCKET_CONNECT_TIMEOUT": timeout,
                "SOCKET_TIMEOUT": timeout,
            },
        },
        f"{prefix}cluster_builtin": {
            "BACKEND": "cache_admin.backends.cluster.RedisClusterCache",
            "LOCATION": url,
            "KEY_PREFIX": "testclusterbuiltin",
            "TIMEOUT": 300,
            "OPTIONS": sockets,
        },
        f"{prefix}cluster_valkey": {
            "BACKEND": "django_valkey.cluster_cache.cache.ClusterValkeyCache",
            "LOCATION": valkey_url,
            "KEY_PREFIX": "testvalkey",
            "TIMEOUT": 300,
            # Its cluster client takes its socket options from here, not SOCKET_TIMEOUT.
            "OPTIONS": {"BASE_CLIENT_KWARGS": sockets},
        },
        # A neighbour site on the same cluster: destructive operations must never touch it.
        f"{prefix}cluster_neighbour": {
            "BACKEND": "cache_admin.backends.cluster.RedisClusterCache",
            "LOCATION": url,
            "KEY_PREFIX": "neighbour",
            "OPTIONS": sockets,
        },
    }


if os.environ.get("TEST_REDIS_CLUSTER_URL"):
    CACHES.update(cluster_caches(os.environ["TEST_REDIS_CLUSTER_URL"]))

CACHE_ADMIN = {
    "CACHE_ALIAS": "default",
    "POLICY_POLL_INTERVAL": 0.2,
    "POLICY_RELOAD_INTERVAL": 3600,
    "BREAKER_COOLDOWN": 1.0,
    # Tests that count commands must not see the background sampler; test_stats turns it on.
    "HISTORY_SAMPLING": False,
    "TYPES": {
        "product_list": {"label": "Product list", "prefix": "product:list:", "ttl": 300},
        "product_detail": {"label": "Product detail", "prefix": "product:", "ttl": 900},
        "category": {"label": "Category data", "prefix": "category:", "ttl": 3600},
        "user_session": {"label": "User session", "prefix": "session:", "ttl": 1800},
        "search_results": {"label": "Search results", "prefix": "search:", "ttl": 600},
        "recommendations": {"label": "AI recommendations", "prefix": "reco:", "ttl": 3600},
        "cart": {"label": "Cart data", "prefix": "cart:", "ttl": 1800},
    },
}

STATIC_URL = "/static/"
LOGIN_URL = "/admin/login/"
