"""What an invalidation did, in a form the console, the audit log and callers can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cache_admin import wording

if TYPE_CHECKING:
    from cache_admin.invalidation.outbox.deletion import Deletion


@dataclass(frozen=True)
class InvalidationResult:
    action: str  # model, lists, prefix, keys, fragment, page, replay
    target: str  # what was named: "product 12", "tests.product", "product:"
    deleted: int = 0
    keys: tuple[str, ...] = field(default=(), repr=False)  # logical keys that were named
    matched: int | None = None  # prefix and page scans: keys found
    queued: bool = False  # Redis was unreachable: queued for replay (R2)
    dry_run: bool = False
    generation: str | None = None  # lists: the new generation token
    scope: str = ""  # lists: the list scope invalidated ("category=3"); empty: every list

    @classmethod
    def from_deletion(cls, action: str, target: str, done: Deletion) -> InvalidationResult:
        """What deleting named keys did (``outbox.delete``): deleted, or queued (R2)."""
        return cls(action, target, deleted=done.deleted, keys=done.keys, queued=done.queued)

    @property
    def message(self) -> str:
        if self.action == "replay":
            waiting = self.matched or 0
            if self.queued and not self.deleted:
                return f"Redis is still unreachable: nothing replayed, {waiting} waiting"
            left = f", {waiting - self.deleted} still waiting" if self.queued else ""
            named = "queued invalidation" if self.deleted == 1 else "queued invalidations"
            return f"{self.deleted} {named} replayed{left}"
        if self.action == "lists":
            lists = f"{self.target} lists of {self.scope}" if self.scope else f"{self.target} lists"
            if self.queued:
                return f"{lists}: Redis unreachable, new generation queued"
            return f"{lists}: new generation"
        if self.queued:
            return f"{self.target}: Redis unreachable, invalidation queued for replay"
        if self.dry_run:
            found = self.matched or 0
            return f"{self.target}: {wording.keys(found)} would be deleted (dry run)"
        return f"{self.target}: {wording.keys(self.deleted)} deleted"

    def __str__(self) -> str:
        return self.message
