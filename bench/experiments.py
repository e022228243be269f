"""Run the course's experiments on the sample data and print the numbers the README quotes.

    python bench/experiments.py                 # both scripts' course experiments
    python bench/experiments.py --only txt      # or img
    python bench/experiments.py --only img-seeds   # the CNN in fp32 / auto precision / with
                                                   # AUGMENT, 3 seeds each
    python bench/experiments.py --only img-precision   # one CNN epoch, MIXED_PRECISION auto
                                                       # against off, timed

Each experiment is the command shown in the README, run as a separate process in --workdir
(wandb disabled, so nothing is uploaded), timed end to end; the figures come from the run's
summary.json and printed lines. Results also go to WORKDIR/experiments.json.
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

ROOT = Path(__file__).resolve().parents[1]

IMAGE_EXPERIMENTS = [  # (run name, extra flags)
    ("neural-the-narwhal", []),
    ("grayscale", ["--grayscale"]),
    ("new-model", ["--model", "cnn"]),
    ("adam", ["--optimizer", "adam"]),
    ("adadelta", ["--optimizer", "adadelta", "--learning_rate", "1.0"]),
    ("adamw", ["--optimizer", "adamw"]),
]
# Compared over several seeds (--seeds): mixed precision's effect on accuracy, and AUGMENT's.
SEEDED_IMAGE_EXPERIMENTS = [
    ("cnn-fp32", ["--model", "cnn", "--mixed_precision", "off"]),
    ("cnn", ["--model", "cnn"]),
    ("cnn-augment", ["--model", "cnn", "--augment"]),
]
# One CNN epoch with MIXED_PRECISION "auto" (this CPU's choice) and with it off: the speed-up.
PRECISION_EXPERIMENTS = [
    ("cnn-1-epoch-auto", ["--model", "cnn", "--n_epochs", "1", "--log_images=False"]),
    (
        "cnn-1-epoch-off",
        ["--model", "cnn", "--n_epochs", "1", "--log_images=False", "--mixed_precision", "off"],
    ),
]
TEXT_EXPERIMENTS = [
    ("default", ["--repeats", "3"]),
    ("lstm", ["--model", "lstm", "--repeats", "3"]),
    ("bilstm", ["--model", "lstm", "--bidirectional", "--repeats", "3"]),
    ("linear", ["--model", "linear", "--repeats", "3"]),
    ("no-max-len", ["--batch_size", "1", "--max_len", "-1", "--length_histogram"]),
    ("batch-1", ["--batch_size", "1", "--max_len", "1024"]),
    ("batch-32", ["--batch_size", "32", "--max_len", "1024"]),
    ("unpadded-batches", ["--batch_size", "32", "--max_len", "-1"]),
    ("sgd", ["--optimizer", "sgd", "--lr", "5", "--repeats", "3"]),
    ("adam", ["--optimizer", "adam", "--lr", "0.001", "--repeats", "3"]),
]


def run(script, name, flags, workdir):
    command = [
        sys.executable,
        str(ROOT / script),
        *flags,
        "--run_name",
        name,
        "--data_dir",
        str(ROOT / "data"),
        "--out_dir",
        str(workdir / "runs"),
    ]
    started = time.time()
    done = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )
    seconds = time.time() - started
    summary_path = workdir / "runs" / name / "summary.json"
    result = {
        "command": f"python {script} {' '.join(flags)} --run_name {name}".replace("  ", " "),
        "exit_code": done.returncode,
        "wall_seconds": round(seconds, 1),
    }
    if done.returncode == 0 and summary_path.is_file():
        result["summary"] = json.loads(summary_path.read_text())
    else:
        result["message"] = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    output = done.stdout.replace("\r", "\n")
    result["epochs"] = [line for line in output.splitlines() if line.startswith("epoch ")]
    precision = [line.split()[2] for line in output.splitlines() if line.startswith("mixed prec")]
    result["precision"] = precision[0] if precision else "-"
    result["lines"] = [
        line
        for line in output.splitlines()
        if line.startswith(("Training article lengths", "Loaded")) or "seeds:" in line
    ]
    return result


def fraction(value):
    return f"{value:.1%}"


def print_image_table(results):
    print("\n| run | command | params | train acc | val acc | test acc | wall time (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        s = r["summary"]
        print(
            f"| {name} | `{r['command']}` | {s['num_parameters']:,} | "
            f"{fraction(s['train_accuracy'])} | {fraction(s['val_accuracy'])} | "
            f"{fraction(s['test_accuracy'])} | {r['wall_seconds']:.0f} |"
        )
    print("\nPer epoch, baseline (neural-the-narwhal):")
    for line in results["neural-the-narwhal"]["epochs"]:
        print(f"    {line}")


def print_text_table(results):
    print("\n| run | command | val acc | test acc | seconds per epoch | wall time (s) |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        if "summary" not in r:
            print(
                f"| {name} | `{r['command']}` | exit code {r['exit_code']}: {r['message']} | | | |"
            )
            continue
        s = r["summary"]
        if "val_accuracy_mean" in s:
            val = f"{fraction(s['val_accuracy_mean'])} ± {fraction(s['val_accuracy_std'])}"
            test = f"{fraction(s['test_accuracy_mean'])} ± {fraction(s['test_accuracy_std'])}"
        else:
            val, test = fraction(s["val_accuracy"]), fraction(s["test_accuracy"])
        per_epoch = [float(m) for line in r["epochs"] for m in re.findall(r"\(([\d.]+) s\)", line)]
        epoch = f"{sum(per_epoch) / len(per_epoch):.2f}" if per_epoch else "-"
        print(f"| {name} | `{r['command']}` | {val} | {test} | {epoch} | {r['wall_seconds']:.0f} |")
    for r in results.values():
        for line in r["lines"]:
            if not line.startswith("Loaded"):
                print(f"    {line}")


def mean_std(values):
    mean = sum(values) / len(values)
    std = (
        (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        if len(values) > 1
        else 0.0
    )
    return mean, std


def print_seeded_table(results):
    print("\n| run | command | seeds | train acc | val acc | test acc | wall time (s, mean) |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        cells = []
        for split in ("train", "val", "test"):
            mean, std = mean_std([r["summary"][f"{split}_accuracy"] for r in runs])
            cells.append(f"{mean:.1%} ± {std:.1%}")
        seeds = ", ".join(str(r["summary"]["settings"]["SEED"]) for r in runs)
        precision = runs[0]["precision"]
        command = runs[0]["command"].rsplit(" --seed", 1)[0]
        print(
            f"| {name} ({precision}) | `{command}` | {seeds} | {' | '.join(cells)} | "
            f"{mean_std([r['wall_seconds'] for r in runs])[0]:.0f} |"
        )
        print(
            "    per seed, test: "
            f"{', '.join(fraction(r['summary']['test_accuracy']) for r in runs)}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["img", "txt", "img-seeds", "img-precision"])
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds for --only img-seeds (default 3)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.mkdtemp(prefix="experiments-")),
        help="where the runs go: a new folder, since a run name already taken there gets a -2",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    everything = {}
    if args.only in (None, "img"):
        everything["img"] = {
            name: run("img_classifier.py", name, flags, args.workdir)
            for name, flags in IMAGE_EXPERIMENTS
        }
        print_image_table(everything["img"])
    if args.only == "img-seeds":
        everything["img-seeds"] = {
            name: [
                run(
                    "img_classifier.py",
                    f"{name}-seed{seed}",
                    [*flags, "--seed", str(seed)],
                    args.workdir,
                )
                for seed in range(args.seeds)
            ]
            for name, flags in SEEDED_IMAGE_EXPERIMENTS
        }
        print_seeded_table(everything["img-seeds"])
    if args.only == "img-precision":
        results = {
            name: run("img_classifier.py", name, flags, args.workdir)
            for name, flags in PRECISION_EXPERIMENTS
        }
        everything["img-precision"] = results
        print(
            "\n| run | command | precision | test acc | wall time (s) | "
            "training and evaluation (s) |"
        )
        print("|---|---|---|---|---|---|")
        for name, r in results.items():
            s = r["summary"]
            print(
                f"| {name} | `{r['command']}` | {r['precision']} | "
                f"{fraction(s['test_accuracy'])} | "
                f"{r['wall_seconds']:.0f} | {s['seconds']:.1f} |"
            )
        auto, off = (results[name]["summary"]["seconds"] for name in results)
        print(f"    auto is {off / auto:.2f}x as fast as off over the epoch")
    if args.only in (None, "txt"):
        everything["txt"] = {
            name: run("txt_classifier.py", name, flags, args.workdir)
            for name, flags in TEXT_EXPERIMENTS
        }
        print_text_table(everything["txt"])
    (args.workdir / "experiments.json").write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
