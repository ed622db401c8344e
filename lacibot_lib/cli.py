"""The ``lacibot`` command: ``setup``, ``labs`` … (``python -m lacibot_lib.cli --help``)."""
from __future__ import annotations

import argparse
import sys


def cmd_setup(args) -> int:
    from .models import PACKAGED_MODELS, prepare_packaged_model
    from .settings import get_settings

    settings = get_settings()
    for alias in PACKAGED_MODELS:
        path = prepare_packaged_model(alias, settings)
        print(f"model {alias}: ready at {path}")
    return 0


def cmd_labs(args) -> int:
    from .runner import run_labs

    from .runner import labs_dir, publish_notebook

    report, runs = run_labs(args.only or None, args.out, smoke=args.smoke)
    print(f"Report: {report}")
    if args.publish:
        for run in runs:
            if run.error is None and not args.smoke:
                print(f"published {publish_notebook(run.output, labs_dir() / run.output.name).name}")
    return 1 if any(run.error for run in runs) else 0


def cmd_finetune(args) -> int:
    import json

    from .data import load_dialogues
    from .finetune import FinetuneConfig, finetune
    from .models import load_model
    from .settings import get_settings

    settings = get_settings(model=args.model)
    dataset = load_dialogues(args.data, seed=settings.seed)
    if args.train_size:
        dataset["train"] = dataset["train"].select(range(min(args.train_size, len(dataset["train"]))))
    model, tokenizer = load_model(settings.model, settings=settings)
    cfg = FinetuneConfig(method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                         max_length=args.max_length, learning_rate=args.lr, patience=args.patience,
                         lora_r=args.lora_r, lora_alpha=args.lora_alpha, rouge_samples=args.rouge_samples,
                         seed=settings.seed, output_dir=args.output)
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


def cmd_chat(args) -> int:
    from . import app
    from .chat import backend_or_local

    if args.host not in {"127.0.0.1", "localhost", "::1"} and not args.allow_remote:
        raise ValueError(f"Refusing to listen on {args.host!r} without --allow-remote (the app has no login).")
    backend, problem = backend_or_local(args.backend)
    if problem:
        print(f"note: {problem}", file=sys.stderr)
    if args.app == "notes":
        from .notes_bot import build_notes_bot

        demo = app.build_chat_app(build_notes_bot(backend, search=args.search, progress=True), app.NOTES_TEXT, problem)
    else:
        from .laci import build_laci_bot

        demo = app.build_chat_app(build_laci_bot(backend), app.LACI_TEXT, problem)
    print(f"Serving {args.app} on http://{args.host}:{args.port} (Ctrl+C stops it)")
    app.launch(demo, host=args.host, port=args.port, block=True)
    return 0


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
    p = sub.add_parser("doctor", help="check torch, CUDA build vs driver, GPU, bf16; explain mismatches")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("chat", help="launch a Gradio chatbot: --app notes (Week 4) or --app laci (Week 6)")
    p.add_argument("--app", choices=["notes", "laci"], default="notes")
    p.add_argument("--backend", choices=["local", "openai"], default=None, help="default: LACIBOT_BACKEND or local")
    p.add_argument("--search", choices=["similarity", "mmr"], default="similarity", help="notes app retrieval")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--allow-remote", action="store_true", help="needed to listen on a non-loopback address")
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("finetune", help="full or LoRA fine-tuning on dialogues (works under `accelerate launch`)")
    p.add_argument("--method", choices=["full", "lora"], default="lora")
    p.add_argument("--model", default=None, help="alias, HF id or folder (default: LACIBOT_MODEL or packaged)")
    p.add_argument("--data", default=None, help="JSONL/CSV file or folder, or knkarthick/dialogsum (online)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training dialogues")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--lr", type=float, default=None, help="default: 5e-5 full, 1e-3 LoRA")
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=int, default=16)
    p.add_argument("--rouge-samples", type=int, default=6, help="validation dialogues scored each epoch")
    p.add_argument("--output", default="runs/finetune", help="checkpoints, final model/adapter, result.json")
    p.set_defaults(func=cmd_finetune)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        # Expected problems (bad model name, malformed data …) get one clear line, not a traceback.
        print(f"lacibot {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
