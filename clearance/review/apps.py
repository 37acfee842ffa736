from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "clearance.review"
    label = "review"
    verbose_name = _("Officer review")

    def ready(self) -> None:
        # Scoring hands its outcome on with a signal, so that it needs no import of this room.
        # Imported in ready(): these modules import models, which must be loaded first.
        from clearance.review import handoff
        from clearance.risk.signals import declarations_scored

        declarations_scored.connect(handoff.take_over, dispatch_uid="review.take_over")
