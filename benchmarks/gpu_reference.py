"""Measure the Week 3 timing suite on this machine and write it as JSON (the GPU reference results).

Run it on a machine with a GPU, then commit the JSON under labs/reference/ — the Week 3 lab shows it, labelled
with the device name, torch version and date, next to the CPU numbers of whoever runs the lab:

    python benchmarks/gpu_reference.py --out labs/reference/gpu_reference.json

Nothing here is estimated: every number is a synchronised, warmed-up median of real runs on this machine.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lacibot_lib import data, timing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="labs/reference/gpu_reference.json")
    parser.add_argument("--model", default=None, help="alias, HF id or folder (default: packaged SmolLM2)")
    parser.add_argument("--sizes", default="256,512,1024,2048,4096,8192")
    parser.add_argument("--devices", default=None, help="comma list, default: every device present")
    args = parser.parse_args()
    rows = data.shortest_dialogues(data.load_dialogues()["train"], 4)
    report = timing.run_timing_suite(args.model, devices=args.devices.split(",") if args.devices else None,
                                     sizes=tuple(int(s) for s in args.sizes.split(",")), train_rows=rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}: devices {report['device_names']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
