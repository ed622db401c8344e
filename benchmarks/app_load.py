"""Load on the Week 4 notes app: N concurrent chats through gradio_client, all on 127.0.0.1.

Starts the app in this process (local SmolLM2 backend by default, or a fake instant model with --fake to
measure the web/queue/retrieval layer alone), sends N chats at once, waits for all, and writes JSON with
answered/failed counts and latency percentiles. Bounded: N requests, one timeout, loopback only.

    python benchmarks/app_load.py --chats 20 --out runs/benchmarks/app_load.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from gradio_client import Client

    from lacibot_lib import app, chat, data, notes_bot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--fake", action="store_true", help="instant fake model instead of the local LLM")
    parser.add_argument("--out", default="runs/benchmarks/app_load.json")
    args = parser.parse_args()
    if args.fake:
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        backend = chat.Backend("local", "fake instant model", FakeListChatModel(responses=["An answer [1]."]))
    else:
        backend = chat.get_backend("local")
    demo = app.build_chat_app(notes_bot.build_notes_bot(backend), app.NOTES_TEXT)
    url = app.launch(demo, block=False)
    questions = [q["question"] for q in data.load_course_notes_qa()]

    def one_chat(i: int) -> dict:
        started = time.perf_counter()
        try:
            reply = Client(url, verbose=False).predict(questions[i % len(questions)], api_name="/respond")
            return {"ok": bool(reply), "seconds": time.perf_counter() - started}
        except Exception as err:  # a failed chat is a result to count, not a crash
            return {"ok": False, "seconds": time.perf_counter() - started, "error": err.__class__.__name__}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.chats) as pool:
        futures = [pool.submit(one_chat, i) for i in range(args.chats)]
        results = [f.result(timeout=args.timeout) for f in futures]
    wall = time.perf_counter() - started
    demo.close()
    seconds = sorted(r["seconds"] for r in results)
    summary = {"chats": args.chats, "answered": sum(r["ok"] for r in results),
               "failed": sum(not r["ok"] for r in results), "backend": backend.label, "wall_s": wall,
               "p50_s": statistics.median(seconds), "p95_s": seconds[max(0, int(0.95 * len(seconds)) - 1)],
               "max_s": seconds[-1], "errors": [r.get("error") for r in results if not r["ok"]]}
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
