"""Choose txt_classifier.py's defaults on the sample's validation split: sweep the settings that
matter.

    python bench/sweep_txt.py                  # bag of words and LSTM, 3 seeds each (about 70
                                               # minutes, 2-core CPU)
    python bench/sweep_txt.py --model bow      # one model: bow, lstm or linear
    python bench/sweep_txt.py --seeds 5
    # around the defaults:
    python bench/sweep_txt.py --base learning_rate=0.01 embed_dim=128 min_freq=1 unk_dropout=0.1

Starting from a base configuration, it first sweeps optimiser and learning rate, takes the best
as the new base, then varies one setting at a time around it (epochs, embedding size, batch
size, and how <unk> gets trained: MIN_FREQ, UNK_DROPOUT, both), and last tries the best value of
each setting together ("combined"). Every configuration is trained
with seeds 0 .. SEEDS-1 through the script's own --repeats; the table shows validation accuracy
(mean ± standard deviation). Test accuracy is never read: defaults are chosen on validation.
With --base, the first stage is skipped: it measures the given settings and each neighbouring
value around them, learning rate included, to show whether chosen defaults are fragile.
Runs in this process with wandb disabled; results also go to WORKDIR/sweep.json.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import txt_classifier as tc  # noqa: E402

# Learning rates to try per optimiser; SGD's 5 is the course baseline.
LEARNING_RATES = {"adam": [0.001, 0.003, 0.01, 0.03], "adamw": [0.01], "sgd": [1.0, 5.0]}
# One setting at a time around the best optimiser and learning rate.
NEIGHBOURS = {
    "n_epochs": [10, 20, 30],
    "embed_dim": [32, 64, 128],
    "batch_size": [8, 16, 32, 64],
    "unk": [
        (1, 0.0),
        (2, 0.0),
        (3, 0.0),
        (1, 0.05),
        (1, 0.1),
        (2, 0.05),
    ],  # (MIN_FREQ, UNK_DROPOUT)
}
# The search starts from the script's earlier defaults, as the README's table shows it did.
BASE = {"n_epochs": 20, "embed_dim": 64, "batch_size": 32, "min_freq": 1, "unk_dropout": 0.0}


def validation_accuracy(settings, seeds, workdir):
    """Mean and standard deviation of validation accuracy over `seeds` runs of these settings."""
    name = "-".join(f"{k}{v}" for k, v in sorted(settings.items()))
    args = [arg for key, value in settings.items() for arg in (f"--{key}", str(value))]
    args += [
        "--repeats",
        str(seeds),
        "--seed",
        "0",
        "--run_name",
        name,
        "--out_dir",
        str(workdir),
        "--data_dir",
        str(ROOT / "data"),
    ]
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()) as errors,
    ):
        code = tc.main(args)
    if code != 0:
        raise RuntimeError(f"txt_classifier.py {' '.join(args)} failed: {errors.getvalue()[-500:]}")
    summary = json.loads((workdir / name / "summary.json").read_text())
    if seeds == 1:
        return summary["val_accuracy"], 0.0
    return summary["val_accuracy_mean"], summary["val_accuracy_std"]


def neighbourhood(model, seeds, workdir, rows, base):
    """The given settings, then each setting moved to its neighbouring values, one at a time."""
    base = dict(BASE, optimizer="adam", **base)
    lr = base["learning_rate"]
    around = dict(NEIGHBOURS, learning_rate=[lr / 3, lr * 3])
    settings = {"model": model, **base}
    for stage, changes in [("chosen", {})] + [
        (setting, changes)
        for setting, values in around.items()
        for changes in neighbours(setting, values, base)
    ]:
        started = time.time()
        mean, std = validation_accuracy({**settings, **changes}, seeds, workdir)
        rows.append(
            {
                "model": model,
                "stage": stage,
                "settings": {**settings, **changes},
                "val_mean": mean,
                "val_std": std,
                "seconds": round(time.time() - started, 1),
            }
        )
        shown = ", ".join(f"{k} {v}" for k, v in changes.items()) or ", ".join(
            f"{k} {v}" for k, v in settings.items() if k != "model"
        )
        print(f"| {model} | {stage} | {shown} | {mean:.1%} ± {std:.1%} |", flush=True)


def neighbours(setting, values, base):
    for value in values:
        changes = (
            dict(zip(("min_freq", "unk_dropout"), value, strict=True))
            if setting == "unk"
            else {setting: value}
        )
        if not all(base.get(k) == v for k, v in changes.items()):
            yield changes


def sweep(model, seeds, workdir, rows):
    def run(stage, changes, base):
        settings = {"model": model, **base, **changes}
        started = time.time()
        mean, std = validation_accuracy(settings, seeds, workdir)
        rows.append(
            {
                "model": model,
                "stage": stage,
                "settings": settings,
                "val_mean": mean,
                "val_std": std,
                "seconds": round(time.time() - started, 1),
            }
        )
        shown = ", ".join(f"{k} {v}" for k, v in settings.items() if k != "model")
        print(f"| {model} | {stage} | {shown} | {mean:.1%} ± {std:.1%} |", flush=True)
        return mean

    results = {}
    for optimizer, rates in LEARNING_RATES.items():
        for lr in rates:
            results[(optimizer, lr)] = run(
                "optimiser", {"optimizer": optimizer, "learning_rate": lr}, BASE
            )
    optimizer, lr = max(results, key=results.get)
    base = dict(BASE, optimizer=optimizer, learning_rate=lr)
    best = {}  # per setting: (accuracy, changes), the base's own value included
    for setting, values in NEIGHBOURS.items():
        best[setting] = (results[(optimizer, lr)], {})
        for value in values:
            changes = (
                dict(zip(("min_freq", "unk_dropout"), value, strict=True))
                if setting == "unk"
                else {setting: value}
            )
            if all(base.get(k) == v for k, v in changes.items()):
                continue  # the base itself was measured in the first stage
            best[setting] = max(
                best[setting], (run(setting, changes, base), changes), key=lambda pair: pair[0]
            )
    # Finally the best value of every setting together: one-at-a-time gains need not add up.
    combined = {k: v for _, changes in best.values() for k, v in changes.items()}
    if combined:
        run("combined", combined, base)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", choices=["bow", "lstm", "linear"], action="append", help="default: bow, lstm"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.mkdtemp(prefix="sweep-txt-")))
    parser.add_argument(
        "--base",
        nargs="+",
        metavar="NAME=VALUE",
        help="measure these settings and their neighbours instead of searching",
    )
    args = parser.parse_args()
    os.environ["WANDB_MODE"] = "disabled"
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    print(
        f"Validation accuracy, mean ± std over {args.seeds} seeds "
        "(sample data, validation split only)."
    )
    print("| model | varied | settings | val accuracy |\n|---|---|---|---|")
    base = {
        name: float(value) if "." in value else int(value) if value.isdigit() else value
        for name, value in (item.split("=", 1) for item in args.base or [])
    }
    for model in args.model or ["bow", "lstm"]:
        if args.base:
            neighbourhood(model, args.seeds, args.workdir, rows, base)
        else:
            sweep(model, args.seeds, args.workdir, rows)
    (args.workdir / "sweep.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
