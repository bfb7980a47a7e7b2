"""Encryption of tenants' gateway secrets at rest (Fernet, from the ``cryptography`` library).

``DULY_SECRETS_KEYS`` lists keys newest first: the newest encrypts, all of them decrypt, so a key
is rotated by putting a new one in front, running ``rotate_secrets`` and then dropping the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _cipher() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in settings.DULY_SECRETS_KEYS])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "DULY_SECRETS_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from error


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """:raises InvalidToken: no configured key decrypts it."""
    return _cipher().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    return _cipher().rotate(token.encode()).decode()


__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]
