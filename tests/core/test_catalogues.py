"""The Spanish and German catalogues are complete: every string the source marks is translated, nothing is
fuzzy, and each translation keeps its placeholders."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

LANGUAGES = [code for code, _ in settings.LANGUAGES if not code.startswith("en")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
MESSAGE_TAG = re.compile(r"#[a-z_]+(?:\.[a-z_]+)?")  # the tags of a message wording (notifications.tags)


def catalogue(root: Path, language: str):
    with open(root / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po, locale=language)


def ids(catalog) -> set[str]:
    return {message.id if isinstance(message.id, str) else message.id[0] for message in catalog if message.id}


def test_spanish_and_german_are_shipped():
    assert LANGUAGES == ["es", "de"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    catalog = catalogue(Path(settings.BASE_DIR), language)
    untranslated = [message.id for message in catalog if message.id and (
        not all(message.string) if isinstance(message.string, tuple) else not message.string)]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]

    assert (untranslated, fuzzy) == ([], [])
    assert len(catalog) > 80


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_keeps_its_placeholders_and_message_tags(language):
    for message in catalogue(Path(settings.BASE_DIR), language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = (set(PLACEHOLDER.findall(sources[-1])), set(MESSAGE_TAG.findall(sources[-1])))
        for string in strings:
            assert (set(PLACEHOLDER.findall(string)), set(MESSAGE_TAG.findall(string))) == wanted, (message.id, string)


def test_every_marked_string_of_the_source_is_in_the_catalogues(tmp_path):
    """Extract the strings from a copy of the source as `make messages` does (Django's makemessages), and
    find each one in the committed catalogues: a string marked and not yet translated fails here."""
    root = Path(settings.BASE_DIR)
    source = tmp_path / "source"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "tests", "docs", "static", "__pycache__", "*.mo", "node_modules"))
    shutil.rmtree(source / "locale")
    env = os.environ | {"DATABASE_URL": "postgres://unused/duly", "REDIS_URL": "redis://unused"}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "es", "--no-location"], cwd=source,
                   env=env, check=True, capture_output=True)
    in_source = ids(catalogue(source, "es"))

    assert len(in_source) > 80
    for language in LANGUAGES:
        assert sorted(in_source - ids(catalogue(root, language))) == [], language
