"""Secrets shown once and stored only as hashes: owner API tokens and task tool keys.

A raw secret is `<kind>_<prefix>_<secret>`. The prefix is stored in clear (to find the row
and to show the owner which token is which); the whole string is stored as SHA-256. The
secret part carries 32 random bytes, so a fast hash is enough; the comparison is
constant-time.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_TOKEN_KIND = "mkt"  # noqa: S105  (a label, not a secret)
TOOL_KEY_KIND = "mtk"
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedSecret:
    raw: str
    prefix: str
    digest: str


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_secret(kind: str) -> IssuedSecret:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedSecret(raw=raw, prefix=prefix, digest=hash_secret(raw))


def split_prefix(raw: str, kind: str) -> str | None:
    """The lookup prefix of a raw secret of this kind, or None when it is not well formed."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    if len(raw) > 200:
        return None
    return parts[1]


def matches(raw: str, digest: str) -> bool:
    return hmac.compare_digest(hash_secret(raw), digest)
