"""Who may read and who may write, in the app (the rules are in kb/auth.py).

Secrets come from ``.streamlit/secrets.toml`` (``[kb] admin_password_hash``,
``read_password_hash``) or the environment (``KB_ADMIN_PASSWORD_HASH``,
``KB_READ_PASSWORD_HASH``). A session that logged in keeps the hash it matched:
changing the secret logs everybody out.
"""
from __future__ import annotations

import os
import time
from typing import Any, Mapping

import streamlit as st

from kb.auth import ADMIN_KEY, READ_KEY, WriteAccess, configured_hash, failure_delay, parse_hash, \
    verify_password, write_access
from kb.errors import ConfigError

ADMIN, READER, FAILURES = "kb_admin", "kb_reader", "kb_login_failures"


def _secrets() -> Mapping[str, Any]:
    try:
        section = st.secrets.get("kb", {})
    except FileNotFoundError:  # no secrets.toml anywhere
        return {}
    return section if isinstance(section, Mapping) else {}


def secret(key: str) -> str | None:
    """The configured hash for ``key`` (``admin_password_hash`` or ``read_password_hash``), if any."""
    return configured_hash(_secrets(), os.environ, key)


def server_address() -> str | None:
    return st.get_option("server.address")


def policy() -> WriteAccess:
    return write_access(secret(ADMIN_KEY), server_address())


def can_write() -> bool:
    """Whether this session may upload, rebuild or remove documents."""
    rule = policy()
    return rule is WriteAccess.OPEN or (rule is WriteAccess.LOGIN and st.session_state.get(ADMIN) == secret(ADMIN_KEY))


def logout() -> None:
    st.session_state.pop(ADMIN, None)


def _check(password: str, stored: str) -> bool:
    """Verify, pausing longer after each failure of this session; say why in French."""
    try:
        ok = bool(password) and verify_password(password, parse_hash(stored))
    except ConfigError:
        st.error("Le mot de passe configuré est mal formé : refaites-le avec `python -m kb.auth`.")
        return False
    if ok:
        st.session_state[FAILURES] = 0
        return True
    failures = st.session_state.get(FAILURES, 0) + 1
    st.session_state[FAILURES] = failures
    time.sleep(failure_delay(failures))
    st.error(f"Mot de passe incorrect (tentative {failures}). Chaque nouvel essai attend plus longtemps.")
    return False


def _password_form(key: str, label: str, button: str) -> str | None:
    """A password form; the password typed when submitted, else None."""
    with st.form(key, clear_on_submit=True):
        password = st.text_input(label, type="password", key=f"{key}_password", autocomplete="current-password")
        submitted = st.form_submit_button(button, type="primary")
    return password if submitted else None


def require_reader() -> None:
    """Ask the read password before any page, when one is configured."""
    stored = secret(READ_KEY)
    if not stored or st.session_state.get(READER) == stored:
        return
    st.title("Base de connaissances")
    st.write("Cette base est réservée à l’équipe : entrez le mot de passe de lecture.")
    password = _password_form("kb_read_login", "Mot de passe de lecture", "Entrer")
    if password is not None and _check(password, stored):
        st.session_state[READER] = stored
        st.rerun()
    st.stop()


def admin_panel() -> bool:
    """The Index page's access block: login, logout or why it is read-only. True when writes are allowed."""
    rule, address = policy(), server_address() or "toutes les interfaces"
    if rule is WriteAccess.OPEN:
        st.caption(f"Modifications permises sans mot de passe : le serveur n’écoute que sur cette machine "
                   f"({address}) et aucun mot de passe administrateur n’est configuré.")
        return True
    if rule is WriteAccess.CLOSED:
        st.info(CLOSED_HELP.format(address=address))
        return False
    if can_write():
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.success("Vous êtes connecté comme administrateur pour cette session.")
        c2.button("Se déconnecter", on_click=logout, key="kb_logout")
        return True
    st.write("Ajouter, retirer des documents et reconstruire l’index est réservé aux administrateurs.")
    stored = secret(ADMIN_KEY) or ""
    password = _password_form("kb_admin_login", "Mot de passe administrateur", "Se connecter")
    if password is not None and _check(password, stored):
        st.session_state[ADMIN] = stored
        st.rerun()
    return False


CLOSED_HELP = (
    "**Consultation seulement.** Ce serveur est joignable depuis d’autres machines ({address}) et aucun mot de "
    "passe administrateur n’est configuré : l’ajout et le retrait de documents et la reconstruction de l’index "
    "sont désactivés.\n\n"
    "Pour les activer, créez le mot de passe avec `python -m kb.auth`, puis collez la ligne affichée dans "
    "`.streamlit/secrets.toml` sous `[kb]` (`admin_password_hash = \"scrypt$…\"`) ou dans la variable "
    "d’environnement `KB_ADMIN_PASSWORD_HASH`, et redémarrez l’application."
)
