"""Load on the Week 4 notes app: N concurrent chats through gradio_client, all on 127.0.0.1.

Starts the app in its own process, connects N clients and sends their N chats at once (the course-notes questions
in file order), streaming each answer, and writes JSON with answered/failed counts, the time to the first streamed
text and to the full answer (p50/p95/max), how many batched ``generate`` calls served them, the machine and the date.

``--backend local`` (default) generates with the packaged model, whose concurrent requests are batched
(``lacibot_lib.batching``); ``extractive`` is the offline default app that quotes the notes; ``fake`` is an instant
fake model, to measure the web/queue/retrieval layer alone. Bounded: N requests, one timeout, loopback only.

    python benchmarks/app_load.py --chats 20 --out benchmarks/results/app_load_local.json
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def build_app(kind: str):
    """(demo, backend) for the notes app answered by ``kind``: local / extractive / fake."""
    from lacibot_lib import app, chat, notes_bot

    if kind == "fake":
        from langchain_core.language_models.fake_chat_models import FakeListChatModel

        backend = chat.Backend("local", "fake instant model", FakeListChatModel(responses=["An answer [1]."]))
    elif kind == "local":
        backend = chat.get_backend("local")
    else:
        backend = None
    return app.build_chat_app(notes_bot.build_notes_bot(backend), app.NOTES_TEXT), backend


def serve(kind: str, port: int) -> int:
    """The server side, in its own process (as in real use: the app and its users are different programs).
    Prints READY once warm; on a "STATS" line from stdin prints the batching counters as JSON and exits."""
    from gradio_client import Client

    from lacibot_lib import app

    demo, backend = build_app(kind)
    url = app.launch(demo, port=port, block=False)
    Client(url, verbose=False).predict("What does LoRA train?", api_name="/respond")  # warm-up: one-off costs
    generator = getattr(getattr(backend, "model", None), "generator", None)
    before = dict(generator.stats) if generator is not None else {}
    print("READY", url, flush=True)
    for line in sys.stdin:
        if line.strip() == "STATS":
            after = dict(generator.stats) if generator is not None else {}
            print(json.dumps({"generate_calls": after.get("generate_calls", 0) - before.get("generate_calls", 0),
                              "largest_batch": after.get("largest_batch")}), flush=True)
            break
    demo.close(verbose=False)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--backend", choices=["local", "extractive", "fake"], default="local")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--out", default="runs/benchmarks/app_load.json")
    args = parser.parse_args()
    if args.serve:
        return serve(args.backend, args.port)
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--backend", args.backend, "--port",
                               str(args.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("READY"):  # other output of the server process is skipped
            line = server.stdout.readline()
            if not line:
                raise SystemExit(f"the app did not start (server exit code {server.poll()})")
        url = line.split()[1]
        return measure(args, url, server)
    finally:
        if server.poll() is None:
            server.kill()


def measure(args, url: str, server) -> int:
    from gradio_client import Client

    from lacibot_lib import data, timing

    questions = [q["question"] for q in data.load_course_notes_qa()]
    # Every user has the page open already: connect all clients first, then send the 20 questions together.
    with ThreadPoolExecutor(max_workers=args.chats) as pool:
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(args.chats)))
    together = threading.Barrier(args.chats)

    def one_chat(i: int) -> dict:
        together.wait()
        started = time.perf_counter()
        first = None
        try:
            job = clients[i].submit(questions[i % len(questions)], api_name="/respond")
            # Look every 50 ms (iterating a Job busy-waits in 1 ms steps: 20 such threads take a core from the app).
            while not job.done():
                if first is None and any(job.outputs()):
                    first = time.perf_counter() - started
                time.sleep(0.05)
            reply = job.result()
            total = time.perf_counter() - started
            return {"ok": bool(reply) and "⚠️" not in reply, "seconds": total,
                    "first_s": first if first is not None else total}
        except Exception as err:  # a failed chat is a result to count, not a crash
            return {"ok": False, "seconds": time.perf_counter() - started, "first_s": None,
                    "error": err.__class__.__name__}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.chats) as pool:
        futures = [pool.submit(one_chat, i) for i in range(args.chats)]
        results = [f.result(timeout=args.timeout) for f in futures]
    wall = time.perf_counter() - started
    server.stdin.write("STATS\n")
    server.stdin.flush()
    batching = next(json.loads(line) for line in server.stdout if line.startswith("{"))
    seconds = [r["seconds"] for r in results]
    firsts = [r["first_s"] for r in results if r["first_s"] is not None]
    summary = {"chats": args.chats, "answered": sum(r["ok"] for r in results),
               "failed": sum(not r["ok"] for r in results), "backend": args.backend,
               "wall_s": wall,
               "p50_s": statistics.median(seconds), "p95_s": percentile(seconds, 0.95), "max_s": max(seconds),
               "first_token_p50_s": statistics.median(firsts) if firsts else None,
               "first_token_p95_s": percentile(firsts, 0.95) if firsts else None,
               "errors": [r.get("error") for r in results if not r["ok"]],
               "machine": timing.describe_machine(), "date": datetime.date.today().isoformat()}
    if args.backend == "local":
        summary.update(batching)
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
