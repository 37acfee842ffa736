"""Who acts: a signed-in person, or a platform's system through its API key.

Every regulated change records its actor on the history row its save writes: ``Actor.stamp``
marks an instance before it is saved. One type for every app.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from clearance.models import ApiKey, User


@dataclass(frozen=True)
class Actor:
    """A signed-in person (``user``), a platform's system (``api_key``), or, with neither, the
    system itself (a worker, a sweeper)."""

    user: User | None = None
    api_key: ApiKey | None = None

    @classmethod
    def of(cls, user: Any, auth: Any = None) -> "Actor":
        if isinstance(auth, ApiKey):
            return cls(api_key=auth)
        return cls(user=user if isinstance(user, User) else None)

    def history(self) -> dict[str, Any]:
        return {"history_api_key": self.api_key}

    def stamp[M: Model](self, instance: M) -> M:
        """Mark the instance so the history row its next save writes names this actor."""
        instance._history_user = self.user  # type: ignore[attr-defined]
        instance._history_api_key = self.api_key  # type: ignore[attr-defined]
        return instance


def stamped[M: Model](instance: M, user: User | None) -> M:
    """``instance`` marked as changed by ``user`` (or by the system when None)."""
    return Actor(user=user).stamp(instance)


@receiver(pre_create_historical_record)
def _record_api_key(sender: Any, instance: Any, history_instance: Any, **kwargs: Any) -> None:
    if hasattr(history_instance, "history_api_key_id"):
        history_instance.history_api_key = getattr(instance, "_history_api_key", None)
