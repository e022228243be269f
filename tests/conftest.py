"""Shared helpers: small slices of the sample data, and running a script the way a user does."""

import contextlib
import csv
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))


def read_csv_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv_rows(path, rows, fieldnames=None):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames or list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def ctrl_c_works():
    """Popen's preexec_fn for a run the test stops with Ctrl-C (SIGINT): a shell starts background
    jobs with SIGINT ignored, their children inherit that, and Python then never raises
    KeyboardInterrupt. A terminal's run has it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_script(script, *args, cwd, env=None, timeout=600, **kwargs):
    """Run one of the two scripts as a user would: a fresh process, offline wandb, no terminal."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=kwargs.pop("stdin", subprocess.DEVNULL),
        **kwargs,
    )


def run_in_process(script, *args, cwd, env=None, stdin=""):
    """What run_script gives, from the script's main() called in this process (wandb disabled
    unless `env` says otherwise): a new interpreter takes seconds to import torch."""
    module = importlib.import_module(script.removesuffix(".py"))
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        patch.dict(os.environ, {"WANDB_MODE": "disabled", **(env or {})}),
        patch.object(sys, "stdin", io.StringIO(stdin)),
    ):
        code = module.main([str(arg) for arg in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def image_slice(folder, per_split):
    """folder/data with the first rows of each image split and copies of their pictures."""
    data = Path(folder) / "data"
    for split, count in per_split.items():
        rows = read_csv_rows(DATA / f"img_{split}.csv")[:count]
        for row in rows:
            target = data / row["image"].removeprefix("./data/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(DATA / row["image"].removeprefix("./data/"), target)
        write_csv_rows(data / f"img_{split}.csv", rows)
    return data


def text_slice(folder, per_split):
    """folder/data with the first rows (whole real/fake pairs) of each text split."""
    data = Path(folder) / "data"
    data.mkdir(parents=True, exist_ok=True)
    for split, count in per_split.items():
        write_csv_rows(data / f"txt_{split}.csv", read_csv_rows(DATA / f"txt_{split}.csv")[:count])
    return data


@pytest.fixture(autouse=True)
def file_settings(monkeypatch):
    """Every test starts from the settings as the scripts' files write them (main() sets them as
    globals, and a test may have run it), and gets back what it found."""
    import img_classifier
    import txt_classifier

    for module in (img_classifier, txt_classifier):
        for name, value in module.DEFAULTS.items():
            monkeypatch.setattr(module, name, value)


def summary_of(folder, run_name):
    """The summary.json of the run `run_name` under folder/runs."""
    return json.loads((Path(folder) / "runs" / run_name / "summary.json").read_text())


@pytest.fixture(scope="session")
def small_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    image_slice(folder, {"train": 24, "val": 9, "test": 9})
    return folder


@pytest.fixture(scope="session")
def small_texts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    text_slice(folder, {"train": 60, "val": 20, "test": 20})
    return folder
