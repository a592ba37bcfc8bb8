"""Secrets at rest: Fernet (cryptography) with a key derived from SECRET_KEY by HKDF.

Webhook signing secrets and notification targets are stored only in this encrypted form;
rotating SECRET_KEY makes the stored ones unreadable (re-create or rotate them).
"""

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"makima-notify", info=b"secrets at rest"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()


def new_webhook_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key a `whsec_…` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))
