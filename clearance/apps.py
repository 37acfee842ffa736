from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearanceConfig(AppConfig):
    name = "clearance"
    verbose_name = _("Clearance")

    def ready(self) -> None:
        # Imported here, once the models are loaded: the actor module connects the receiver
        # that names the API key on history rows.
        from clearance import actors  # noqa: F401
        from clearance.middleware import install_correlation_id_on_log_records

        install_correlation_id_on_log_records()
