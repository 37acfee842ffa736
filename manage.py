#!/usr/bin/env python
import os
import sys
from pathlib import Path


def demo_environment() -> None:
    """While ``make demo`` runs, it writes the settings of its servers (DEBUG, the embedded
    database and Redis, the mail catcher) to ``DATA_DIR/demo.env``: a command typed in another
    terminal then works on the same database. Variables already set win over the file."""
    data_dir = Path(os.environ.get("DATA_DIR") or Path(__file__).resolve().parent / ".data")
    path = data_dir / "demo.env"
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        name, separator, value = line.partition("=")
        if separator and not line.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip())


def main() -> None:
    demo_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")
    # Imported after the demo's variables are read: Django reads the environment on import.
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
