"""What saving the checkpoint after every epoch costs the 100-million-parameter MLP, against a
default run.

    python bench/resume_cost.py               # SGD and Adam; about eight minutes on a 2-core CPU
    python bench/resume_cost.py --no-runs     # only time the saves (seconds)

A checkpoint holds the weights and the optimiser's state (none for plain SGD, two tensors per
weight for Adam): 0.4 and 1.2 GB for the MLP. The script times img_classifier.save
itself, on the MLP after one optimiser step, then (unless --no-runs) the course's default run,
`python img_classifier.py` (5 epochs, one save after each), and the same with --optimizer adam, each
in its own process with wandb disabled, and prints the five saves as a share of each run's time.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import img_classifier as ic  # noqa: E402


def save_seconds(optimizer_name, folder, repeats=3):
    """Median seconds of one save of the MLP's checkpoint with that optimiser (after one step), as
    img_classifier.py saves it after every epoch, and the checkpoint's size."""
    model = ic.MLP()
    optimizer = ic.OPTIMIZERS[optimizer_name](model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    torch.nn.functional.cross_entropy(
        model(torch.randn(2, 3, 256, 256)), torch.tensor([0, 1])
    ).backward()
    optimizer.step()  # so Adam has its state
    ic.wandb.run = SimpleNamespace(id="bench")
    run_folder = Path(folder) / optimizer_name
    run_folder.mkdir(parents=True, exist_ok=True)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        ic.save(run_folder, {"epoch": 1}, model, optimizer, scaler, ["a", "b", "c"])
        times.append(time.perf_counter() - started)
    size = (run_folder / "checkpoint.pth").stat().st_size
    return sorted(times)[len(times) // 2], size


def default_run_seconds(optimizer_name, folder):
    """Wall seconds of the course's default run (MLP, 5 epochs) with this optimiser."""
    started = time.time()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "img_classifier.py"),
            "--optimizer",
            optimizer_name,
            "--log_images=False",
            "--data_dir",
            str(ROOT / "data"),
            "--out_dir",
            folder,
            "--run_name",
            f"run-{optimizer_name}",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "WANDB_MODE": "disabled"},
        cwd=folder,
    )
    return time.time() - started, json.loads(
        (Path(folder) / f"run-{optimizer_name}" / "summary.json").read_text()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-runs", action="store_true", help="only time the saves")
    args = parser.parse_args()
    print(
        f"CPU: {getattr(torch.cpu, 'get_capabilities', dict)().get('cpu_name', 'unknown')}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}"
    )
    print(
        "| optimiser | checkpoint | one save (s) | default run, 5 epochs (s) | "
        "five saves, share of the run |"
    )
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("sgd", "adam"):
            seconds, size = save_seconds(name, folder)
            run, summary = default_run_seconds(name, folder) if not args.no_runs else (None, None)
            share = f"{5 * seconds / run:.1%}" if run else "-"
            print(
                f"| {name} | {size / 1e9:.2f} GB | {seconds:.2f} | "
                f"{f'{run:.0f}' if run else '-'} | {share} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
