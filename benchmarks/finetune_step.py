"""Full fine-tuning vs LoRA on the same batch: seconds per step and peak memory, written as JSON.

Each method runs in its own child process so the peak resident memory of one does not hide the other's:

    python benchmarks/finetune_step.py --out runs/benchmarks/finetune_step.json

Expected on SmolLM2-135M on a CPU: LoRA trains ≤ 1 % of the parameters, and its step time and peak memory are
below full fine-tuning. The measured ratios are printed and stored.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(method: str, steps: int, batch_size: int, max_length: int) -> dict:
    from lacibot_lib import data, models, perf

    rows = data.shortest_dialogues(data.load_dialogues()["train"], batch_size)
    model, tokenizer = models.load_model(device="cpu")
    return perf.time_training_steps(model, tokenizer, rows, method, steps=steps, warmup=1,
                                        batch_size=batch_size, max_length=max_length)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/benchmarks/finetune_step.json")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--child", choices=["full", "lora"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.batch_size, args.max_length)))
        return 0
    results = {}
    for method in ("full", "lora"):
        done = subprocess.run([sys.executable, __file__, "--child", method, "--steps", str(args.steps),
                               "--batch-size", str(args.batch_size), "--max-length", str(args.max_length)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        results[method] = json.loads(done.stdout.strip().splitlines()[-1])
        row = results[method]
        print(f"{method}: {row['s_per_step']:.2f} s/step, peak +{row['peak_memory_mb']:.0f} MB, "
              f"trainable {row['trainable_pct']:.2f} %")
    results["ratios_lora_over_full"] = {
        "s_per_step": results["lora"]["s_per_step"] / results["full"]["s_per_step"],
        "peak_memory": results["lora"]["peak_memory_mb"] / results["full"]["peak_memory_mb"],
        "trainable": results["lora"]["trainable"] / results["full"]["trainable"]}
    print("LoRA / full:", {k: round(v, 3) for k, v in results["ratios_lora_over_full"].items()})
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
