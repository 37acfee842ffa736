from django.db import migrations


class Migration(migrations.Migration):
    """Readable system references (LV-2026-0000123) come from one sequence, so a batch of
    a thousand declarations takes its numbers in one query and numbers are never reused."""

    dependencies = [("declarations", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS declarations_system_reference_seq",
            "DROP SEQUENCE IF EXISTS declarations_system_reference_seq",
        )
    ]
