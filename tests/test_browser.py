"""End to end in a real browser: `streamlit run app.py` on 127.0.0.1, driven by headless Chromium.

Uses Debian's Chromium (/usr/bin/chromium) through Playwright's Python package; no browser is
downloaded. The screenshot and the measured round trips are saved under test-artifacts/.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import DEMO_CORPUS

pytestmark = [pytest.mark.browser, pytest.mark.model]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_e5_index):
    port = free_port()
    env = {**os.environ, "KB_INDEX": str(demo_e5_index), "KB_CORPUS": str(DEMO_CORPUS)}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: see {ARTIFACTS / 'streamlit.log'}")
    else:
        proc.terminate()
        raise RuntimeError("streamlit did not answer within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def search(page, query: str) -> float:
    """Type a query, press Enter, wait until its first cited card is shown; return the round trip in ms."""
    box = page.get_by_label("Votre question ou vos mots-clés")
    box.fill(query)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "q => new URLSearchParams(location.search).get('q') === q "
        "&& document.querySelectorAll('mark').length > 0", arg=query, timeout=60_000)
    page.get_by_text("1. ", exact=False).first.wait_for(timeout=60_000)
    return (time.perf_counter() - started) * 1000


def test_search_shows_cited_passage_and_related_mandate(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.get_by_label("Votre question ou vos mots-clés").wait_for(timeout=60_000)
    first_ms = search(page, "gouvernance partagée")
    # a cited passage: card title with its page, the file, the highlighted terms
    assert page.locator("mark", has_text="gouvernance").count() > 0
    assert page.get_by_text("communagir-portfolio-municipal-2024.pdf · pertinence").count() > 0
    assert page.get_by_text("Portfolio — Accompagnements en lien avec le monde municipal").count() > 0
    assert page.get_by_text("p. 2", exact=False).count() > 0
    # a related mandate in the side panel
    assert page.get_by_text("Mandats liés").is_visible()
    assert page.get_by_text("Service de la culture de la Ville de Montréal", exact=False).count() > 0
    page.screenshot(path=str(ARTIFACTS / "search-page.png"))

    warm = [search(page, q) for q in ("participation citoyenne", "coconstruction", "politique culturelle municipale")]
    (ARTIFACTS / "round-trips.txt").write_text(
        f"first query {first_ms:.0f} ms; warm queries {', '.join(f'{ms:.0f}' for ms in warm)} ms\n")
    # the URL carries the search: a reload restores it
    page.reload()
    page.locator("mark").first.wait_for(timeout=60_000)
    assert page.get_by_label("Votre question ou vos mots-clés").input_value() == "politique culturelle municipale"
    page.close()


def test_mandates_page_in_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/mandats?q=accueil+et+int%C3%A9gration+des+personnes+immigrantes")
    page.get_by_text("Mandats les plus proches").wait_for(timeout=60_000)
    first = page.get_by_text("1. Préparation et animation d’un événement rassembleur", exact=False)
    first.wait_for(timeout=60_000)
    assert page.get_by_text("MRC de La Matanie · 2023-2024", exact=False).count() > 0
    page.close()
