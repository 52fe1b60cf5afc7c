"""kb.auth: salted scrypt hashes, constant-time checks, the write policy, the hash-making command."""
from __future__ import annotations

import hashlib

import pytest

from kb import auth
from kb.auth import (WriteAccess, configured_hash, failure_delay, hash_password, is_loopback, parse_hash,
                     verify_password, write_access)
from kb.errors import ConfigError


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password("correct horse battery")


def test_hash_is_salted_scrypt_and_verifies(stored):
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    h = parse_hash(stored)
    assert len(h.salt) == 16 and len(h.key) == 32 and str(h) == stored
    assert verify_password("correct horse battery", stored)
    again = hash_password("correct horse battery")
    assert again != stored and verify_password("correct horse battery", again)  # a new salt each time
    fixed = hash_password("x" * 8, salt=b"0123456789abcdef", n=2 ** 10)
    expected = hashlib.scrypt(b"x" * 8, salt=b"0123456789abcdef", n=2 ** 10, r=8, p=1, dklen=32)
    assert parse_hash(fixed).key == expected


@pytest.mark.parametrize("attempt", ["", "correct horse batter", "correct horse battery ", "Correct horse battery",
                                     "x" * 1000])
def test_wrong_password_is_refused(stored, attempt):
    assert not verify_password(attempt, stored)


def test_every_check_derives_and_compares_in_constant_time(stored, monkeypatch):
    """No early exit: right or wrong, any length, one scrypt and one hmac.compare_digest of equal lengths."""
    derived, compared = [], []
    real_scrypt, real_compare = hashlib.scrypt, auth.hmac.compare_digest

    def scrypt(*args, **kwargs):
        derived.append(kwargs["dklen"])
        return real_scrypt(*args, **kwargs)

    def compare(a, b):
        compared.append((len(a), len(b)))
        return real_compare(a, b)

    monkeypatch.setattr(auth.hashlib, "scrypt", scrypt)
    monkeypatch.setattr(auth.hmac, "compare_digest", compare)
    results = [verify_password(p, stored) for p in ("correct horse battery", "nope", "", "z" * 500)]
    assert results == [True, False, False, False]
    assert derived == [32] * 4 and compared == [(32, 32)] * 4


@pytest.mark.parametrize("bad", ["", "plain-password", "bcrypt$1$2$3$c2FsdHNhbHQ$a2V5", "scrypt$16384$8$1$salt",
                                 "scrypt$1000$8$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43,  # N not a power of 2
                                 "scrypt$16384$8$1$c2E$" + "A" * 43,  # salt too short
                                 "scrypt$x$8$1$MDEyMzQ1Njc4OWFiY2RlZg$" + "A" * 43])
def test_malformed_hash_is_a_configuration_error(bad):
    with pytest.raises(ConfigError, match="python -m kb.auth"):
        verify_password("anything", bad)


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("127.255.255.254", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("", False), (None, False), ("::", False), ("192.168.1.20", False), ("10.0.0.1", False),
    ("kb.example.org", False), ("localhost.example.org", False), ("128.0.0.1", False),
])
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize("secret, address, access", [
    (None, "127.0.0.1", WriteAccess.OPEN),
    (None, "::1", WriteAccess.OPEN),
    (None, "localhost", WriteAccess.OPEN),
    (None, "0.0.0.0", WriteAccess.CLOSED),
    (None, "", WriteAccess.CLOSED),
    (None, None, WriteAccess.CLOSED),
    (None, "192.168.1.20", WriteAccess.CLOSED),
    ("scrypt$…", "127.0.0.1", WriteAccess.LOGIN),
    ("scrypt$…", "0.0.0.0", WriteAccess.LOGIN),
    ("scrypt$…", None, WriteAccess.LOGIN),
])
def test_write_policy(secret, address, access):
    assert write_access(secret, address) is access


def test_secret_from_secrets_file_then_environment():
    assert configured_hash({"admin_password_hash": " s1 "}, {"KB_ADMIN_PASSWORD_HASH": "s2"}, auth.ADMIN_KEY) == "s1"
    assert configured_hash({}, {"KB_ADMIN_PASSWORD_HASH": "s2"}, auth.ADMIN_KEY) == "s2"
    assert configured_hash({"admin_password_hash": ""}, {"KB_ADMIN_PASSWORD_HASH": "  "}, auth.ADMIN_KEY) is None
    assert configured_hash({}, {"KB_READ_PASSWORD_HASH": "r"}, auth.READ_KEY) == "r"


def test_failure_delay_grows_and_is_bounded():
    delays = [failure_delay(n) for n in range(0, 9)]
    assert delays[:6] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert delays == sorted(delays) and max(delays) == auth.MAX_DELAY and failure_delay(100) == auth.MAX_DELAY


def test_command_prints_lines_to_paste(monkeypatch, capsys):
    answers = iter(["un long mot de passe", "un long mot de passe"])
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt="": next(answers))
    assert auth.main([]) == 0
    out = capsys.readouterr().out
    toml_line = next(line for line in out.splitlines() if line.startswith("admin_password_hash = "))
    env_line = next(line for line in out.splitlines() if line.startswith("export KB_ADMIN_PASSWORD_HASH="))
    stored = toml_line.split('"')[1]
    assert "[kb]" in out and env_line == f"export KB_ADMIN_PASSWORD_HASH='{stored}'"
    assert verify_password("un long mot de passe", stored)


@pytest.mark.parametrize("answers, message", [(["court", "court"], "trop court"),
                                              (["un long mot de passe", "un autre"], "diffèrent")])
def test_command_refuses_short_or_mismatched_passwords(monkeypatch, capsys, answers, message):
    it = iter(answers)
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt="": next(it))
    assert auth.main([]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and "scrypt$" not in captured.out


def test_command_for_the_read_password(monkeypatch, capsys):
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt="": "lecture-equipe")
    assert auth.main(["--read"]) == 0
    assert "read_password_hash = \"scrypt$" in capsys.readouterr().out
