"""The GPU check: both scripts' default runs and their CNN and LSTM runs on a CUDA GPU,
MIXED_PRECISION "auto".

    python bench/gpu.py              # on a machine with CUDA: about ten minutes on one GPU
    python bench/gpu.py --epochs 2   # quicker

For each run: the precision "auto" chose, seconds per epoch, peak GPU memory and test accuracy; on a
machine with two GPUs or more, the same again as one run over two GPUs under torchrun (NCCL). Each
run is a separate process with wandb disabled, on the sample data, writing to a temporary folder.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RUNS = [
    ("img_classifier.py", []),
    ("img_classifier.py", ["--model", "cnn"]),
    ("txt_classifier.py", []),
    ("txt_classifier.py", ["--model", "lstm"]),
]


def one(script, args):
    """Run inside the measured process (alone, or each process under torchrun): the script's main(),
    then its peak GPU memory, printed by the first process only."""
    sys.path.insert(0, str(ROOT))
    module = __import__(script.removesuffix(".py"))
    code = module.main(args)
    print(
        "peak "
        + json.dumps({"code": code, "gigabytes": torch.cuda.max_memory_allocated() / 2**30}),
        flush=True,
    )


def measure(script, args, epochs, folder, gpus):
    launcher = (
        [sys.executable]
        if gpus == 1
        else [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
        ]
    )
    name = f"{script[:3]}-{'-'.join(args[1:]) or 'default'}-{gpus}gpu"
    command = [
        *launcher,
        __file__,
        "--one",
        script,
        *args,
        "--n_epochs",
        str(epochs),
        "--run_name",
        name,
        "--data_dir",
        str(ROOT / "data"),
        "--out_dir",
        str(Path(folder) / "runs"),
    ]
    started = time.time()
    done = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )
    if done.returncode != 0:
        return (
            f"| {script} {' '.join(args)} | {gpus} | failed: "
            f"{(done.stderr.strip().splitlines() or ['?'])[-1]} |"
        )
    summary = json.loads((Path(folder) / "runs" / name / "summary.json").read_text())
    precision = re.search(r"mixed precision: (\S+)", done.stdout)
    peak = json.loads(done.stdout.split("peak ")[-1].splitlines()[0])
    return (
        f"| {script} {' '.join(args)} | {gpus} | "
        f"{precision.group(1) if precision else 'off (text)'} | "
        f"{summary['seconds'] / epochs:.2f} | {peak['gigabytes']:.2f} | "
        f"{summary['test_accuracy']:.1%} | "
        f"{time.time() - started:.0f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs for every run (default 5)")
    parser.add_argument(
        "--one", nargs=argparse.REMAINDER, help=argparse.SUPPRESS
    )  # inside a measured process
    args = parser.parse_args()
    if args.one:
        return one(args.one[0], args.one[1:])
    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py measures a CUDA GPU, and PyTorch finds none here.")
    print(
        f"GPU: {torch.cuda.get_device_name()} x {torch.cuda.device_count()}, compute capability "
        f"{'.'.join(map(str, torch.cuda.get_device_capability()))}, torch {torch.__version__}"
    )
    print(
        "| run | GPUs | precision | seconds per epoch | peak GPU memory (GB) | test accuracy | "
        "wall time (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for gpus in [1, 2] if torch.cuda.device_count() >= 2 else [1]:
            for script, extra in RUNS:
                print(measure(script, extra, args.epochs, folder, gpus), flush=True)


if __name__ == "__main__":
    main()
