"""End to end in a real browser: `streamlit run app.py`, driven by headless Chromium.

Uses Debian's Chromium (/usr/bin/chromium) through Playwright's Python package; no browser is
downloaded. Two servers: one on 127.0.0.1 with an administrator secret (a French session from the
first search to an upload), one bound to 0.0.0.0 without a secret (read-only), both reached on
127.0.0.1. Every request the browser makes is recorded: none may leave the app's own server.
Screenshots and round trips go to test-artifacts/ (and to docs/ with KB_UPDATE_SCREENSHOTS=1).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import DEMO_CORPUS
from kb.auth import hash_password
from kb.store import EMBEDDINGS
from pdfs import Heading, make_pdf, prose

pytestmark = [pytest.mark.browser, pytest.mark.model]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ADMIN_PASSWORD = "admin-du-navigateur"
HOSTILE = "![x](http://127.0.0.1:9/x.png) <script>alert(1)</script>"
QUERY_BOX = "Votre question ou vos mots-clés"

# Interface strings that must never show (text, aria-label, title, placeholder, alt), as whole words.
ENGLISH = ["Press Enter", "Press Ctrl", "submit form", "to apply", "Choose options", "Choose an option",
           "Select all", "Drag and drop", "Browse files", "Upload", "per file", "Running", "Skip to main content",
           "No results", "Add files", "Remove", "file upload", "Show password", "Hide password", "Download as CSV",
           "Show/hide columns", "Fullscreen", "Search", "Clear all", "Clear value", "Deploy", "Rerun", "Stop",
           "Close", "Open", "Expand sidebar", "Collapse sidebar", "Sidebar", "App pages", "Main menu",
           "Copy to clipboard", "Connecting", "Please wait", "Error", "Traceback", "Loading", "relevance",
           "duplicate of", "truncated PDF", "not a PDF", "encrypted", "empty file", "corrupt", "added", "skipped",
           "Index written", "Made with Streamlit", "Selected values", "not responding", "still running",
           "yourscript", "options available", "option available"]
ENGLISH_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b"
                        r"|\b\d+(\.\d+)?\s?(B|KB|MB|GB)\b|pertinence \d+\.\d|— (start|end)\b")

READABLE_JS = """() => {
  const skip = '[aria-hidden="true"], script, style, noscript, [data-kb-document]';
  const out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const p = n.parentElement, t = n.nodeValue.trim();
    if (t && p && !p.closest(skip)) out.push(t);
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    if (el.closest('[data-kb-document]')) continue;
    for (const a of ['aria-label', 'title', 'placeholder', 'alt']) { const v = el.getAttribute(a); if (v) out.push(v); }
  }
  return out;
}"""


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str | None], address: str, log_name: str) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` bound to ``address``; the process and its 127.0.0.1 URL once healthy.

    ``env`` is added to this process's environment; a None value removes the variable.
    """
    port = free_port()
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.address", address, "--server.port", str(port)],
                            cwd=ROOT, env=merged, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: see {ARTIFACTS / log_name}")
    stop(proc)
    raise RuntimeError("streamlit did not answer within 90 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def team_server(demo_e5_index, tmp_path_factory):
    """Loopback, administrator secret in the environment, a copy of the demo corpus and index."""
    work = tmp_path_factory.mktemp("team")
    shutil.copytree(DEMO_CORPUS, work / "corpus")
    shutil.copytree(demo_e5_index, work / "index")
    env = {"KB_INDEX": str(work / "index"), "KB_CORPUS": str(work / "corpus"), "KB_EMBEDDER": None,
           "KB_ADMIN_PASSWORD_HASH": hash_password(ADMIN_PASSWORD), "KB_READ_PASSWORD_HASH": None}
    proc, url = start_server(env, "127.0.0.1", "streamlit.log")
    yield url, work
    stop(proc)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """Bound to every interface (0.0.0.0), no secret, no index yet: nobody may write."""
    work = tmp_path_factory.mktemp("shared")
    (work / "corpus").mkdir()
    make_pdf(work / "corpus" / "note.pdf", [[Heading("Note"), prose("gouvernance", 6)]], title="Note")
    env = {"KB_INDEX": str(work / "index"), "KB_CORPUS": str(work / "corpus"), "KB_EMBEDDER": "hash",
           "KB_ADMIN_PASSWORD_HASH": None, "KB_READ_PASSWORD_HASH": None}
    proc, url = start_server(env, "0.0.0.0", "streamlit-shared.log")
    yield url, work
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Session:
    """A browser page with every request, dialog and English string it met recorded."""

    def __init__(self, browser, url: str) -> None:
        self.url, self.requests, self.dialogs, self.english = url, [], [], set()
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-CA")
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def check_french(self, where: str) -> None:
        for text in self.page.evaluate(READABLE_JS):
            if ENGLISH_RE.search(text):
                self.english.add(f"{where}: {text!r}")

    def text(self) -> str:
        return self.page.evaluate("document.body.innerText")

    def foreign_requests(self) -> list[str]:
        """Requests to anything but this app's own server (inline data: and blob: URLs are local)."""
        own = urlsplit(self.url).netloc
        return [u for u in self.requests
                if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own]

    def close(self) -> None:
        self.context.close()


def wait_idle(s: Session) -> None:
    """Wait until the script run is over: no running indicator, no stale (greyed) element."""
    s.page.wait_for_function("!document.querySelector('[data-testid=stStatusWidgetRunningIcon]') "
                             "&& !document.querySelector('[data-stale=\"true\"]')", timeout=60_000)


def wait_text(s: Session, text: str, timeout: float = 60_000) -> None:
    s.page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def search(s: Session, query: str) -> float:
    """Type a query, press Enter, wait until its results (or its notices) are shown; the round trip in ms."""
    box = s.page.get_by_label(QUERY_BOX)
    box.fill(query)
    s.check_french(f"typing « {query} »")  # the input hint shows while typing
    started = time.perf_counter()
    box.press("Enter")
    s.page.wait_for_function("q => new URLSearchParams(location.search).get('q') === q "
                             "&& document.querySelectorAll('mark').length > 0", arg=query, timeout=60_000)
    elapsed = (time.perf_counter() - started) * 1000
    wait_idle(s)
    return elapsed


def screenshot(s: Session, name: str) -> None:
    path = ARTIFACTS / name
    s.page.screenshot(path=str(path), full_page=False)
    if os.environ.get("KB_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / name)


def search_steps(s: Session) -> list[float]:
    """The empty page, an example clicked, three more queries; the round trips in ms, the first one first."""
    page = s.page
    page.goto(s.url)
    page.get_by_label(QUERY_BOX).wait_for(timeout=60_000)
    s.check_french("empty search page")
    started = time.perf_counter()
    page.get_by_role("button", name="gouvernance partagée").click()  # an example runs its query
    page.wait_for_function("new URLSearchParams(location.search).get('q') === 'gouvernance partagée' "
                           "&& document.querySelectorAll('mark').length > 0", timeout=60_000)
    first = (time.perf_counter() - started) * 1000
    wait_idle(s)
    assert page.locator("mark", has_text="gouvernance").count() > 0
    assert page.get_by_text("communagir-portfolio-municipal-2024.pdf · pertinence").count() > 0
    assert re.search(r"pertinence \d+,\d\d", s.text())
    assert page.get_by_text("Service de la culture de la Ville de Montréal", exact=False).count() > 0
    s.check_french("results")
    screenshot(s, "search.png")
    warm = [search(s, q) for q in ("participation citoyenne", "coconstruction", "politique culturelle municipale")]
    return [first, *warm]


def typo_and_english_steps(s: Session) -> None:
    page = s.page
    search(s, "gouvernanse")
    wait_text(s, "Résultats pour « gouvernance » (aucun résultat pour « gouvernanse »)")
    search(s, "gouvernanse partagée")
    page.get_by_role("button", name="Vouliez-vous dire : gouvernance partagée ?").click()
    page.wait_for_function("new URLSearchParams(location.search).get('q') === 'gouvernance partagée'",
                           timeout=60_000)
    wait_idle(s)
    expect(page.get_by_label(QUERY_BOX)).to_have_value("gouvernance partagée", timeout=10_000)
    search(s, "how can partners share decisions about their community")
    wait_text(s, "Requête reconnue comme anglaise")
    assert "introuvable" not in s.text().lower()
    s.check_french("english query")


def tab_until(page, focused: str, presses: int, failure: str) -> None:
    """Press Tab until the JavaScript condition ``focused`` holds, at most ``presses`` times."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(focused):
            return
    raise AssertionError(failure)


def keyboard_and_reset_steps(s: Session) -> None:
    """Open the first passage and its page with the keyboard; a new query starts with everything closed."""
    page = s.page
    search(s, "politique culturelle municipale")
    page.get_by_label(QUERY_BOX).focus()
    tab_until(page, "document.activeElement.tagName === 'SUMMARY' "
              "&& document.activeElement.innerText.includes('Passage complet')", 60,
              "the first result's passage cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.locator("details[open]").first.wait_for(timeout=10_000)
    tab_until(page, "document.activeElement.getAttribute('role') === 'switch' "
              "|| document.activeElement.type === 'checkbox'", 10,
              "the page preview toggle cannot be reached with Tab")
    page.keyboard.press("Space")
    image = page.locator("[data-testid=stImage] img, [data-testid=stImageContainer] img").first
    image.wait_for(timeout=60_000)
    assert image.get_attribute("alt").startswith("Page ")
    assert page.evaluate("""() => { const m = document.querySelector('mark'); const c = getComputedStyle(m);
        const lum = s => { const [r, g, b] = s.match(/\\d+/g).slice(0, 3).map(v => { v /= 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126*r + 0.7152*g + 0.0722*b; };
        const [a, b] = [lum(c.color), lum(c.backgroundColor)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05); }""") >= 4.5
    s.check_french("page preview")
    search(s, "participation citoyenne")
    page.wait_for_timeout(300)
    assert page.locator("details[open]").count() == 0 and page.locator("[data-testid=stImage] img").count() == 0


def mandates_steps(s: Session) -> None:
    page = s.page
    page.get_by_role("link", name="Mandats").click()
    page.get_by_text("Tous les mandats").wait_for(timeout=60_000)
    page.get_by_label("Décrivez la situation").fill("accueil et intégration des personnes immigrantes")
    s.check_french("mandates, typing")
    page.get_by_role("button", name="Trouver des mandats semblables").click()
    first = page.get_by_text("1. Préparation et animation d’un événement rassembleur", exact=False)
    first.wait_for(timeout=60_000)
    assert "(en cours) · en cours" not in s.text()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(s, "mandats.png")
    page.locator("[data-testid=stDataFrame]").first.scroll_into_view_if_needed()
    page.locator("[data-testid=stDataFrame] canvas").first.wait_for(timeout=30_000)
    page.locator("[data-testid=stMultiSelect]").first.click()  # the themes drop-down, opened
    page.wait_for_timeout(500)
    s.check_french("themes drop-down")
    page.keyboard.press("Escape")


def login_steps(s: Session) -> None:
    page = s.page
    page.get_by_role("link", name="Index").click()
    page.get_by_role("button", name="Se connecter").wait_for(timeout=60_000)
    expect(page.get_by_role("button", name="Reconstruire")).to_have_count(0, timeout=30_000)
    page.get_by_label("Mot de passe administrateur").fill("mauvais mot de passe")
    s.check_french("login form")
    page.get_by_role("button", name="Se connecter").click()
    wait_text(s, "Mot de passe incorrect")
    expect(page.get_by_role("button", name="Reconstruire")).to_have_count(0, timeout=30_000)
    page.get_by_label("Mot de passe administrateur").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Reconstruire").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Se déconnecter").count() == 1


def feedback_steps(s: Session) -> None:
    """« Utile » on three queries' first passages, then the refit on the Index page (as administrator).

    The marked passages are today's first ones, so today's weights cannot be beaten on them: the page
    must show both figures and offer nothing to apply (applying is walked in tests/test_app.py).
    """
    page = s.page
    page.get_by_role("link", name="Recherche").click()
    page.get_by_label(QUERY_BOX).wait_for(timeout=60_000)
    for query in ("participation citoyenne", "coconstruction", "politique culturelle municipale"):
        search(s, query)
        page.get_by_role("button", name="Utile", exact=True).first.click()
        wait_text(s, "Merci : votre avis est enregistré.")
        wait_idle(s)
    page.get_by_role("link", name="Index").click()
    wait_text(s, "3 requête(s) ont un passage jugé utile")
    page.get_by_role("button", name="Calculer de nouveaux poids").click()
    wait_text(s, "(plis jamais vus)")
    wait_text(s, "rien à appliquer")
    wait_idle(s)
    assert page.get_by_role("button", name="Appliquer ces poids").count() == 0
    s.check_french("refit on the marks")


def upload_steps(s: Session, tmp: Path) -> None:
    """A good PDF and a truncated one: one added, one refused in French; the page then agrees with itself."""
    page = s.page
    hostile = make_pdf(tmp / "piege.pdf", [[Heading(f"Gouvernance {HOSTILE}"), prose("zorglub", 4),
                                            prose(f"zorglub {HOSTILE}", 4)]], title=f"Titre {HOSTILE}")
    data = hostile.read_bytes()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files([
        {"name": "piege.pdf", "mimeType": "application/pdf", "buffer": data},
        {"name": "coupe.pdf", "mimeType": "application/pdf", "buffer": data[: len(data) // 2]}])
    page.get_by_text("coupe.pdf").first.wait_for(timeout=30_000)
    s.check_french("files chosen")
    page.get_by_role("button", name="Ajouter et mettre à jour l’index").click()
    deadline, missing, running = time.time() + 90, 0, 0
    while time.time() < deadline and page.get_by_text("Index mis à jour").count() == 0:
        s.check_french("upload and rebuild running")
        # The build's progress is drawn in the upload section: the next section keeps its heading.
        running += page.locator("[data-testid=stProgress]").count() > 0
        missing += page.get_by_role("heading", name="Retirer un document").count() == 0
        page.wait_for_timeout(100)
    assert running, "the build was never seen running: the layout was not checked"
    assert not missing, f"the next section's heading was gone {missing} times while the build ran"
    wait_text(s, "Index mis à jour", timeout=5_000)
    wait_idle(s)
    body = s.text()
    assert "« piege.pdf » : ajouté au corpus." in body
    assert "« coupe.pdf » refusé : PDF incomplet" in body and "« coupe.pdf » : ajouté" not in body
    assert ("Aucun fichier ignoré" in body) != ("Fichiers ignorés" in body)  # one or the other, never both
    assert page.locator("[data-testid=stMetricValue]").first.inner_text() == "6"
    s.check_french("after upload")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(s, "index.png")


def rebuild_while_clicking_steps(s: Session, work: Path) -> None:
    """A full rebuild, and a click elsewhere on the page while it runs (a new run of the page):
    one progress bar, every heading in place, the report at the end."""
    page = s.page
    # Without its cache of vectors, the rebuild embeds every passage again: long enough to click during it.
    shutil.rmtree(work / "index" / EMBEDDINGS, ignore_errors=True)
    full = page.get_by_text("Tout reconstruire (relire et revectoriser tous les fichiers)")
    full.click()
    wait_idle(s)
    page.get_by_role("button", name="Reconstruire").click()
    page.locator("[data-testid=stProgress]").first.wait_for(timeout=30_000)
    full.click()  # unticked while the build runs: the page runs again and follows the same build
    deadline, bars, missing = time.time() + 120, [], 0
    while time.time() < deadline and page.get_by_text("Index mis à jour").count() == 0:
        s.check_french("full rebuild, page run again")
        bars.append(page.locator("[data-testid=stProgress]").count())
        missing += sum(page.get_by_role("heading", name=h).count() == 0
                       for h in ("Reconstruire", "Ajouter des PDF", "Retirer un document"))
        page.wait_for_timeout(100)
    wait_text(s, "Index mis à jour", timeout=5_000)
    assert any(bars), "the build was never seen running"
    assert max(bars) == 1, f"progress bars seen at once: {max(bars)} (a frozen one from the earlier run)"
    assert not missing, f"a section's heading was gone {missing} times while the build ran"
    wait_idle(s)
    assert page.locator("[data-testid=stMetricValue]").first.inner_text() == "6"


def inert_document_steps(s: Session) -> None:
    page = s.page
    page.get_by_role("link", name="Recherche").click()
    search(s, "zorglub")
    body = s.text()
    assert "Titre ![x](http://127.0.0.1:9/x.png) <script>alert(1)</script>" in body
    assert page.locator("img[src*=':9/']").count() == 0 and not s.dialogs
    assert not any(":9/" in u for u in s.requests)


def test_a_french_session_end_to_end(team_server, browser):
    url, work = team_server
    s = Session(browser, url)
    try:
        first, *warm = search_steps(s)
        (ARTIFACTS / "round-trips.txt").write_text(
            f"first query {first:.0f} ms; warm queries {', '.join(f'{ms:.0f}' for ms in warm)} ms\n")
        typo_and_english_steps(s)
        keyboard_and_reset_steps(s)
        mandates_steps(s)
        login_steps(s)
        feedback_steps(s)
        upload_steps(s, work)
        rebuild_while_clicking_steps(s, work)
        inert_document_steps(s)
        s.page.get_by_role("link", name="Index").click()
        s.page.get_by_role("button", name="Se déconnecter").click()
        s.page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
        wait_idle(s)  # the login form is drawn first; the previous run's buttons stay (greyed) until the run ends
        assert s.page.get_by_role("button", name="Reconstruire").count() == 0
        s.page.get_by_role("link", name="Guide").click()
        wait_text(s, "Guide d’utilisation")
        s.check_french("guide")
    except Exception:
        s.page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        raise
    finally:
        s.close()
    assert not s.english, "English in the interface:\n" + "\n".join(sorted(s.english))
    assert s.requests and not s.foreign_requests(), s.foreign_requests()


def test_a_server_open_to_the_network_without_a_secret_is_read_only(shared_server, browser):
    url, work = shared_server
    s = Session(browser, url)
    try:
        s.page.goto(url)
        wait_text(s, "un administrateur doit le construire")
        s.page.get_by_role("link", name="Index").click()
        wait_text(s, "Consultation seulement")
        wait_idle(s)
        body = s.text()
        assert "python -m kb.auth" in body and "KB_ADMIN_PASSWORD_HASH" in body
        for label in ("Reconstruire", "Ajouter et mettre à jour l’index", "Retirer ce document", "Se connecter"):
            assert s.page.get_by_role("button", name=label).count() == 0
        assert s.page.locator("[data-testid=stFileUploader]").count() == 0
        s.check_french("read-only index page")
    finally:
        s.close()
    assert not (work / "index").exists()
    assert not s.english and not s.foreign_requests(), (s.english, s.foreign_requests())


def test_a_server_that_stopped_is_said_so_in_french(browser, tmp_path):
    """The dialog a tab shows when its server is gone says what to do, in French."""
    (tmp_path / "corpus").mkdir()
    make_pdf(tmp_path / "corpus" / "note.pdf", [[Heading("Note"), prose("gouvernance", 6)]], title="Note")
    env = {"KB_INDEX": str(tmp_path / "index"), "KB_CORPUS": str(tmp_path / "corpus"), "KB_EMBEDDER": "hash",
           "KB_ADMIN_PASSWORD_HASH": None, "KB_READ_PASSWORD_HASH": None}
    proc, url = start_server(env, "127.0.0.1", "streamlit-stopped.log")
    s = Session(browser, url)
    try:
        s.page.goto(url)
        s.page.get_by_role("link", name="Guide").click()
        wait_text(s, "Guide d’utilisation")
        stop(proc)
        wait_text(s, "Le serveur de la base ne répond pas", timeout=90_000)
        s.check_french("server stopped")
        s.page.screenshot(path=str(ARTIFACTS / "connexion-perdue.png"))
    finally:
        stop(proc)
        s.close()
    assert not s.english, "English in the interface:\n" + "\n".join(sorted(s.english))
