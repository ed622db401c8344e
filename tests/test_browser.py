"""A real browser (Debian's chromium driven by Playwright) asks the notes app a question and sees a cited answer.

Skips with a reason where chromium is not installed (`.ci/run` installs it as root)."""
import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from lacibot_lib import app, notes_bot
from lacibot_lib.chat import Backend

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def ask_app_in_browser(demo, question: str, expect: str, screenshot: Path) -> str:
    """Launch ``demo`` on 127.0.0.1, ask ``question`` in chromium, wait for ``expect``; return the chat text."""
    url = app.launch(demo, block=False)
    try:
        return ask_in_browser(url, question, expect, screenshot)
    finally:
        demo.close()


def ask_in_browser(url: str, question: str, expect: str, screenshot: Path) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url, wait_until="domcontentloaded")
        box = page.locator("#question textarea")
        box.wait_for(timeout=30_000)
        box.fill(question)
        box.press("Enter")
        page.get_by_text(expect).first.wait_for(timeout=60_000)
        text = page.locator("#chat").inner_text()
        screenshot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return text


def test_notes_app_in_a_browser():
    backend = Backend("local", "fake model",
                      FakeListChatModel(responses=["ROUGE-L uses the longest common subsequence [1]."]))
    demo = app.build_chat_app(notes_bot.build_notes_bot(backend), app.NOTES_TEXT)
    text = ask_app_in_browser(demo, "How is ROUGE-L computed?", "longest common subsequence [1]",
                              ARTIFACTS / "notes_app.png")
    assert "longest common subsequence" in text and "course_notes.pdf, p." in text
    assert (ARTIFACTS / "notes_app.png").stat().st_size > 10_000


def test_laci_app_in_a_browser():
    from lacibot_lib import laci

    demo = app.build_chat_app(laci.build_laci_bot(), app.LACI_TEXT)
    text = ask_app_in_browser(demo, "Hány órás a BSc szakmai gyakorlat?", "Források:", ARTIFACTS / "laci_app.png")
    assert "320" in text and "gyik.csv, gyik-" in text
