from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearanceConfig(AppConfig):
    name = "clearance"
    verbose_name = _("Clearance")

    def ready(self) -> None:
        from clearance.middleware import install_correlation_id_on_log_records

        install_correlation_id_on_log_records()
