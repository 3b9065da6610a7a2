"""Stored key names: URL tokens, readable text, and the site's namespace (S2)."""

from __future__ import annotations

import base64
import binascii
import re

from cache_admin import stored_keys
from cache_admin.conf import conf

# A Redis key may be up to 512 MB; a link to one carries at most this many bytes.
MAX_KEY_BYTES = 64 * 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class OutsideNamespace(ValueError):
    pass


def key_token(stored: bytes) -> str:
    if isinstance(stored, str):
        stored = stored.encode()
    return base64.urlsafe_b64encode(stored).rstrip(b"=").decode("ascii")


def key_from_token(token: str) -> bytes:
    if not isinstance(token, str) or not token:
        raise ValueError("The key link is empty; open the key from the key list again.")
    if len(token) > MAX_KEY_BYTES * 4 // 3 + 4:
        raise ValueError("The key link is too long to be a key of this site.")
    if not _TOKEN.fullmatch(token):
        raise ValueError("The key link is not valid (unexpected characters); open it again.")
    try:
        stored = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("The key link is not valid (bad length); open it again.") from None
    if key_token(stored) != token:  # one key, one link: no alternative spellings
        raise ValueError("The key link is not valid (not canonical); open it again.")
    return stored


def text(raw: bytes) -> str:
    """Readable text for key bytes: UTF-8, with any other byte shown as ``\\xNN``."""
    return raw.decode("utf-8", errors="backslashreplace")


def site_prefix_bytes() -> bytes:
    return stored_keys.site_prefix().encode()


def internal_prefix_bytes() -> bytes:
    return (stored_keys.site_prefix() + conf.NAMESPACE).encode()


def logical_text(stored: bytes) -> str:
    site = site_prefix_bytes()
    return text(stored[len(site) :] if stored.startswith(site) else stored)


def require_inside(stored: bytes) -> bytes:
    """The key as bytes when it belongs to this site's KEY_PREFIX, else OutsideNamespace."""
    if isinstance(stored, str):
        stored = stored.encode()
    if not isinstance(stored, bytes):
        raise ValueError("A key is given as bytes.")
    if len(stored) > MAX_KEY_BYTES:
        raise ValueError(f"Key names longer than {MAX_KEY_BYTES} bytes are not handled here.")
    site = site_prefix_bytes()
    if not stored.startswith(site):
        raise OutsideNamespace(
            f"{text(stored[:200])!r} is outside this site's cache namespace "
            f"({stored_keys.site_prefix()!r}); it is left alone."
        )
    return stored
