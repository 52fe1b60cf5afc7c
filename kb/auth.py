"""Who may change the corpus: salted password hashes and the write policy.

Reading is open (or behind an optional read password); every write (upload,
rebuild, removal) needs an administrator. The secrets are stored as scrypt
hashes, ``scrypt$N$r$p$salt$hash`` (salt and hash in URL-safe base64), made by
``python -m kb.auth``. With no administrator secret configured, writes are
allowed only to a server that listens on the loopback interface.

No front-end toolkit here: the app reads its secrets and server address and
asks :func:`write_access`; the CLI is not restricted (it runs with the user's
own file rights).

Public entry points: :func:`hash_password`, :func:`verify_password`,
:func:`write_access`, :func:`failure_delay`.
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import ipaddress
import os
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Mapping

from .errors import ConfigError

SCHEME = "scrypt"
N, R, P = 2 ** 14, 8, 1  # scrypt cost: about 16 MB of memory and 50 ms a check
SALT_BYTES, KEY_BYTES = 16, 32
MAX_DELAY = 30.0  # seconds, the longest pause after failed attempts
ADMIN_KEY, READ_KEY = "admin_password_hash", "read_password_hash"


@dataclass(frozen=True)
class PasswordHash:
    """A parsed ``scrypt$N$r$p$salt$hash`` string."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __str__(self) -> str:
        return "$".join((SCHEME, str(self.n), str(self.r), str(self.p), _b64(self.salt), _b64(self.key)))


class WriteAccess(Enum):
    """What the write controls of the app do."""

    OPEN = "open"  # no administrator secret, server on loopback: whoever reaches it is on this machine
    LOGIN = "login"  # an administrator secret is configured: writes after logging in
    CLOSED = "closed"  # no secret and the server is reachable from other machines: read-only


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * n * r * p + (1 << 20), dklen=size)


def hash_password(password: str, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """The stored form of ``password``: ``scrypt$N$r$p$salt$hash`` with a random salt."""
    if not password:
        raise ValueError("empty password")
    salt = salt or os.urandom(SALT_BYTES)
    return str(PasswordHash(n, r, p, salt, _derive(password, salt, n, r, p, KEY_BYTES)))


def parse_hash(stored: str) -> PasswordHash:
    """Parse a stored hash.

    Raises:
        ConfigError: not of the form ``scrypt$N$r$p$salt$hash``, or unusable parameters.
    """
    parts = stored.strip().split("$")
    try:
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
        if n < 2 or n & (n - 1) or not 0 < r <= 64 or not 0 < p <= 16 or len(salt) < 8 or len(key) < 16:
            raise ValueError
    except ValueError:
        raise ConfigError("password hash is not of the form scrypt$N$r$p$salt$hash "
                          "(make one with: python -m kb.auth)") from None
    return PasswordHash(n, r, p, salt, key)


def verify_password(password: str, stored: str | PasswordHash) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time.

    Raises:
        ConfigError: ``stored`` is malformed.
    """
    h = stored if isinstance(stored, PasswordHash) else parse_hash(stored)
    return hmac.compare_digest(_derive(password, h.salt, h.n, h.r, h.p, len(h.key)), h.key)


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only.

    Empty or None means every interface; host names other than ``localhost``
    are not trusted (they may resolve anywhere).
    """
    address = (address or "").strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def write_access(admin_hash: str | None, server_address: str | None) -> WriteAccess:
    """The write policy: a configured secret means login; none, open on loopback only."""
    if admin_hash:
        return WriteAccess.LOGIN
    return WriteAccess.OPEN if is_loopback(server_address) else WriteAccess.CLOSED


def configured_hash(section: Mapping[str, object], environ: Mapping[str, str], key: str) -> str | None:
    """A secret from the ``[kb]`` secrets section, else from ``KB_<KEY>`` in the environment."""
    value = str(section.get(key) or environ.get("KB_" + key.upper()) or "").strip()
    return value or None


def failure_delay(failures: int) -> float:
    """Seconds to wait before answering the ``failures``-th failed attempt: 1, 2, 4… up to 30."""
    return 0.0 if failures <= 0 else min(2.0 ** (failures - 1), MAX_DELAY)


def main(argv: list[str] | None = None) -> int:
    """``python -m kb.auth``: ask a password twice, print the lines to paste."""
    key = READ_KEY if (argv if argv is not None else sys.argv[1:]) == ["--read"] else ADMIN_KEY
    password = getpass.getpass("Mot de passe : ")
    if not password or len(password) < 8:
        print("Mot de passe trop court : 8 caractères au moins.", file=sys.stderr)
        return 1
    if getpass.getpass("Confirmez : ") != password:
        print("Les deux saisies diffèrent.", file=sys.stderr)
        return 1
    stored = hash_password(password)
    print("# Dans .streamlit/secrets.toml :")
    print(f'[kb]\n{key} = "{stored}"')
    print("# ou dans l'environnement du serveur :")
    print(f"export KB_{key.upper()}='{stored}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
