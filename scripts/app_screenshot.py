"""Take the Week 4 lab's screenshot of the notes app (``lacibot chat --app notes``) answering a question.

Starts the app on 127.0.0.1 (offline default: answers quoted from the notes), opens it in chromium through
Playwright, asks one question, waits for the cited answer and saves a PNG:

    python scripts/app_screenshot.py --out labs/figures/week4_app.png

Needs Debian's chromium (``apt-get install chromium``); Playwright's own browser download is not needed.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTION = "Why must GPU code be synchronised before timing it?"


def main() -> int:
    from playwright.sync_api import sync_playwright

    from lacibot_lib import app, notes_bot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="labs/figures/week4_app.png")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    backend, note = notes_bot.choose_backend(None)
    demo = app.build_chat_app(notes_bot.build_notes_bot(backend), app.NOTES_TEXT, note)
    url = app.launch(demo, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(url, wait_until="domcontentloaded")
            box = page.locator("#question textarea")
            box.wait_for(timeout=30_000)
            box.fill(args.question)
            box.press("Enter")
            page.get_by_text("Sources:").first.wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            out = ROOT / args.out
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    finally:
        demo.close(verbose=False)
    print(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
