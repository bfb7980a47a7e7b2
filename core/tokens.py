"""Link tokens: a random token goes out in a link; only its SHA-256 is stored, so a database copy
holds no working link."""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> tuple[str, str]:
    """A fresh URL-safe token and its hash."""
    token = secrets.token_urlsafe(nbytes)
    return token, hash_token(token)
