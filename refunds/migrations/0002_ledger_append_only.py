"""The ledger is append-only in the database itself: UPDATE and DELETE raise an error.

(TRUNCATE, which tests use to empty tables, fires no row trigger.)
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION refunds_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER refunds_ledger_append_only
    BEFORE UPDATE OR DELETE ON refunds_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION refunds_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER refunds_ledger_append_only ON refunds_ledgerentry;
DROP FUNCTION refunds_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("refunds", "0001_ledger_payments_refunds")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
