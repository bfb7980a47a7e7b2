"""Backups that restore: PostgreSQL's own ``pg_dump`` in its custom format, and ``pg_restore`` into a new,
empty database (``manage.py backup`` / ``manage.py restore``, ``make backup`` / ``make restore``).

A dump holds every table, function, trigger and row-level security policy of the database, and the
grants to ``duly_app``; it does not hold the role itself (roles belong to the server), which ``restore``
creates where it is missing, so that the copy enforces the tenants' policies as the original did.
Objects are restored as owned by whoever restores them (``--no-owner``). A restore never writes over a
database that holds tables. Point-in-time recovery for production (continuous WAL archiving) is set up on
the server, not here: docs/operations.md, "Backups".
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from core.rls import CREATE_APP_ROLE


class BackupError(Exception):
    pass


def tool(name: str, *, server_version: int) -> str:
    """A PostgreSQL client program able to read a server of ``server_version`` (libpq's number: 160002):
    of its major version or newer. The one on the ``PATH`` if it is, else the embedded server's (pgserver)."""
    candidates = [found] if (found := shutil.which(name)) else []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver
    except ImportError:
        pass
    else:
        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name))
    majors = {}
    for candidate in candidates:
        if Path(candidate).exists():
            output = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout  # noqa: S603
            majors[candidate] = int(re.search(r"(\d+)(?:\.\d+)*", output.split(")", 1)[-1]).group(1))
            if majors[candidate] >= server_version // 10000:
                return candidate
    found = ", ".join(f"{path} ({major})" for path, major in majors.items()) or "none"
    raise BackupError(f"No {name} of PostgreSQL {server_version // 10000} or newer is installed (found: {found}).")


def server_version(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.info.server_version


LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout")


def url_of(params: dict) -> str:
    """A libpq URL for Django's connection parameters (``connection.get_connection_params()``)."""
    user, password = quote(params.get("user") or "", safe=""), quote(params.get("password") or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    port = f":{params['port']}" if params.get("port") else ""
    query = "&".join(f"{name}={quote(str(params[name]), safe='')}" for name in LIBPQ_OPTIONS if params.get(name))
    url = f"postgresql://{auth}{quote(params.get('host') or '', safe='')}{port}/{quote(params['dbname'], safe='')}"
    return f"{url}?{query}" if query else url


def backup(*, database_url: str, path: Path) -> Path:
    """Dump the database at ``database_url`` to ``path`` (custom format, compressed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pg_dump = tool("pg_dump", server_version=server_version(database_url))
    _run([pg_dump, "--format=custom", "--no-owner", f"--file={path}", f"--dbname={database_url}"])
    return path


def database_url_for(database_url: str, name: str) -> str:
    """``database_url`` with its database replaced by ``name`` (same server, same user)."""
    return urlunsplit(urlsplit(database_url)._replace(path="/" + quote(name, safe="")))


def create_database(*, database_url: str, name: str) -> str:
    """Create the empty database ``name`` beside ``database_url``'s; returns its URL."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            raise BackupError(f"The database {name} exists already: restore into a new one.")
        connection.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return database_url_for(database_url, name)


def restore(*, path: Path, database_url: str) -> None:
    """Restore the dump at ``path`` into the empty database at ``database_url``."""
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    with psycopg.connect(database_url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchone()[0]
        if tables:
            raise BackupError(f"The database to restore into holds {tables} tables: restore into a new, empty one.")
        connection.execute(CREATE_APP_ROLE)
        version = connection.info.server_version
    pg_restore = tool("pg_restore", server_version=version)
    _run([pg_restore, "--exit-on-error", "--no-owner", f"--dbname={database_url}", str(path)])


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 (PostgreSQL's own programs)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")
