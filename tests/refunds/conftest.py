import pytest


@pytest.fixture(autouse=True)
def payment_settings(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.REFUND_AUTO_APPROVE_LIMIT = 50000
    settings.REFUND_AUTO_APPROVE_REASONS = ["returned"]
    settings.REFUND_SUPERVISOR_THRESHOLD = 1000000
    settings.REFUND_RETURN_PERIOD_DAYS = 183
