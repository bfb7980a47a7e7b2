"""Migrations that don't stop the till: every migration written since the linter ran in ``make test``
passes django-migration-linter, which refuses what locks a busy table or breaks the version still running
(docs/operations.md, "Deploying without downtime")."""

from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "config" / "migrations_before_the_linter.txt"


def every_migration() -> set[str]:
    return {str(path.relative_to(ROOT)) for path in ROOT.glob("*/migrations/[0-9]*.py")}


def baseline() -> set[str]:
    return {line for line in BASELINE.read_text().splitlines() if line and not line.startswith("#")}


def lint(files, tmp_path, capsys) -> tuple[int, str]:
    """The linter's exit code and what it prints (it prints, rather than writing to the command's output)."""
    listed = tmp_path / "migrations.txt"
    listed.write_text("\n".join(sorted(files)) + "\n")
    capsys.readouterr()
    try:
        call_command("lintmigrations", include_migrations_from=str(listed), no_cache=True)
    except SystemExit as exit:
        return exit.code, capsys.readouterr().out
    return 0, capsys.readouterr().out


# Outside a test's transaction: an index built concurrently cannot be written inside one, even as SQL to show.
@pytest.mark.django_db(transaction=True)
def test_every_migration_since_the_linter_passes_it(tmp_path, capsys):
    newer = every_migration() - baseline()

    code, output = lint(newer, tmp_path, capsys)

    assert baseline() <= every_migration()  # the list names migrations that exist
    assert "notifications/migrations/0002_unsent_index.py" in newer
    assert code == 0, output
    assert f"*** Summary ***\nValid migrations: {len(newer)}/{len(newer)}" in output


@pytest.mark.django_db(transaction=True)
def test_the_linter_refuses_a_column_dropped_under_the_running_version(tmp_path, capsys):
    code, output = lint({"billing/migrations/0004_run_sent_at_dropped.py"}, tmp_path, capsys)

    assert code == 1
    assert "DROPPING columns (table: billing_schedulerun, column: sent_at)" in output
