"""Beyond one process: torchrun (gloo, on the CPU) trains one model over several processes as one
process trains it with the same global batch, noise included; tiny and odd splits; stopping,
resuming, repeats, predictions and a run folder that cannot be claimed; a wandb sweep agent's
flags; the model as a wandb artifact. Every torchrun here runs on the CPU, on any machine."""

import json
import os
import shlex
import signal
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import ROOT, image_slice, text_slice
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args
from wandb_records import offline_runs, run_named

import img_classifier as ic
import txt_classifier as tc

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
ENV = {**os.environ, "WANDB_MODE": "disabled", "WANDB_SILENT": "true", "OMP_NUM_THREADS": "1"}


def torchrun(folder, script, *args, input=""):
    """`script` run by torchrun over two CPU processes, as a user starts it."""
    command = [*TORCHRUN, str(ROOT / script), "--device", "cpu", *map(str, args)]
    return subprocess.run(
        command, cwd=folder, env=ENV, capture_output=True, text=True, timeout=300, input=input
    )


def parameters_after_one_epoch(folder, script, args, processes, wandb_mode="disabled"):
    """Each process's parameters after one epoch of `script`, run alone or by torchrun over
    `processes`, and what was printed."""
    command = TORCHRUN if processes == 2 else [sys.executable]
    done = subprocess.run(
        [*command, str(ROOT / "tests" / "record_parameters.py"), script, *map(str, args)],
        cwd=folder,
        env={**ENV, "WANDB_MODE": wandb_mode},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    parameters = [
        torch.load(folder / f"parameters-{rank}.pt", weights_only=True) for rank in range(processes)
    ]
    return parameters, done.stdout


@pytest.mark.parametrize(
    "script, make_data, args",
    [
        # The MLP with AUGMENT's random crops, and fp16 with its loss scaling on the CPU.
        (
            "img_classifier.py",
            image_slice,
            ["--img_size", 16, "--log_images=False", "--augment", "--mixed_precision", "fp16"],
        ),
        # The bag of words with the default UNK_DROPOUT.
        ("txt_classifier.py", text_slice, ["--max_len", 128]),
    ],
)
def test_two_processes_train_one_model_and_the_first_alone_reports_and_writes(
    tmp_path, script, make_data, args
):
    """Each process trains on its own share of every epoch (its own crops, its own <unk>s); the
    gradients are averaged, so both hold the same model after every step. The first process
    alone prints, logs one wandb run and writes the run's files."""
    make_data(tmp_path, {"train": 32, "val": 4, "test": 4})
    args = [*args, "--n_epochs", 1, "--device", "cpu", "--batch_size", 2, "--run_name", "two"]
    two, printed = parameters_after_one_epoch(tmp_path, script, args, 2, "offline")
    assert printed.count("epoch 1/1") == 1 and len(offline_runs(tmp_path)) == 1
    assert (tmp_path / "writes-0.txt").read_text().split() == ["save"]
    assert not (tmp_path / "writes-1.txt").exists()
    for name in two[0]:
        assert torch.equal(two[0][name], two[1][name]), name
    summary = json.loads((tmp_path / "runs" / "two" / "summary.json").read_text())
    assert summary["examples_seen"] == 16  # the first process's share of 32


@pytest.mark.parametrize("train_size", [1, 5])
def test_a_split_that_does_not_divide_among_the_processes_trains(tmp_path, train_size):
    """One article for two processes, or five: a few are drawn twice, so that both processes
    take the same steps (no empty batch, no wait for a process that has none)."""
    text_slice(tmp_path, {"train": train_size, "val": 1, "test": 1})
    done = torchrun(tmp_path, "txt_classifier.py", "--n_epochs", 2, "--batch_size", 2)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "runs" / "txt-classifier" / "summary.json").read_text())
    assert summary["epoch"] == 2


def test_sigterm_stops_every_process_and_resumed_it_ends_where_an_uninterrupted_run_does(
    tmp_path,
):
    text_slice(tmp_path, {"train": 40, "val": 10, "test": 10})
    args = ["--model", "lstm", "--n_epochs", 3, "--batch_size", 1, "--max_len", 256]
    args = [*map(str, args), "--device", "cpu"]
    straight = torchrun(tmp_path, "txt_classifier.py", *args, "--run_name", "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    args += ["--run_name", "together"]
    process = subprocess.Popen(
        [*TORCHRUN, str(ROOT / "txt_classifier.py"), *args],
        cwd=tmp_path,
        env={**ENV, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    for line in process.stdout:
        output.append(line)
        if "epoch 1/3" in line:
            process.send_signal(signal.SIGTERM)
            break
    output += process.stdout.readlines()
    process.wait(timeout=120)
    text = "".join(output)
    said = "Stopped. Saved: runs/together after epoch 1 of 3. Carry on with the same command plus "
    assert text.count(said) == 2, text[-3000:]  # one line a process
    more = shlex.split(text.split(said)[1].splitlines()[0])
    assert more == ["--resume", "--run_name", "together"]
    resumed = torchrun(tmp_path, "txt_classifier.py", *args, *more)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "Resuming together" in resumed.stdout and "epoch 3/3" in resumed.stdout
    first, second = (
        json.loads((tmp_path / "runs" / name / "summary.json").read_text())
        for name in ("straight", "together")
    )
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "examples_seen", "epoch"):
        assert first[key] == second[key], key
    assert first["train_loss"] == pytest.approx(second["train_loss"], rel=1e-5)


def test_repeats_predictions_and_a_folder_that_cannot_be_claimed_under_torchrun(tmp_path):
    text_slice(tmp_path, {"train": 16, "val": 4, "test": 4})
    repeats = torchrun(tmp_path, "txt_classifier.py", "--n_epochs", 1, "--repeats", 2)
    assert repeats.returncode == 0, repeats.stdout[-2000:] + repeats.stderr[-3000:]
    summary = json.loads((tmp_path / "runs" / "txt-classifier" / "summary.json").read_text())
    assert [run["seed"] for run in summary["repeats"]] == [0, 1]
    assert repeats.stdout.count("2 seeds, mean ± standard deviation") == 1
    (tmp_path / "article.txt").write_text("The council met on Tuesday.", encoding="utf-8")
    seed_0 = ["--run_name", "txt-classifier/seed-0", "--predict"]
    predicted = torchrun(tmp_path, "txt_classifier.py", *seed_0, "article.txt")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert predicted.stdout.count("article.txt: ") == 1  # once, not once a process
    # Standard input is read once, by the process that answers.
    piped = torchrun(tmp_path, "txt_classifier.py", *seed_0, "-", input="The council met.")
    assert piped.returncode == 0, piped.stderr[-3000:]
    assert piped.stdout.count("standard input: ") == 1
    (tmp_path / "afile").write_text("a plain file, where a folder should be")
    blocked = torchrun(tmp_path, "txt_classifier.py", "--out_dir", "afile/runs")
    assert blocked.returncode != 0
    assert blocked.stderr.count("error: cannot write to afile/runs/txt-classifier") == 2  # both
    assert "Stopped" not in blocked.stdout + blocked.stderr and "Loaded" not in blocked.stdout


@pytest.mark.skipif(torch.cuda.device_count() != 1, reason="needs a machine with exactly one GPU")
def test_more_processes_than_gpus_is_one_line(tmp_path):
    text_slice(tmp_path, {"train": 4, "val": 2, "test": 2})
    done = subprocess.run(
        [*TORCHRUN, str(ROOT / "txt_classifier.py"), "--n_epochs", "1"],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert done.stderr.count("has 1 GPU(s): pass torchrun --nproc_per_node=1") == 2


# ----------------------------------------------------------------------- wandb sweeps and artifacts


@pytest.mark.parametrize("sweep, script", [("sweeps/img.yaml", ic), ("sweeps/txt.yaml", tc)])
def test_a_sweep_agents_command_line_sets_what_the_sweep_means(sweep, script):
    """The agent runs `python <program> ${args}`; wandb's own code turns each parameter into
    --name=value."""
    config = yaml.safe_load((ROOT / sweep).read_text())
    assert config["program"] == f"{script.__name__}.py"
    assert config["command"][-2:] == ["${program}", "${args}"]
    assert config["metric"] == {"name": "val_accuracy", "goal": "maximize"}
    chosen = {}
    for name, spec in config["parameters"].items():
        values = spec.get("values", []) + [spec[k] for k in ("value", "min", "max") if k in spec]
        for value in values:
            # what ${args} becomes
            args = create_sweep_command_args({"args": {name: {"value": value}}})["args"]
            script.parse_settings(args)
            assert script.settings()[name.upper()] == value, args
            chosen[name] = value
    every = {name: {"value": value} for name, value in chosen.items()}
    script.parse_settings(create_sweep_command_args({"args": every})["args"])
    assert {name: script.settings()[name.upper()] for name in chosen} == chosen  # all at once


def test_the_model_is_logged_as_an_artifact_whatever_the_run_is_named(tmp_path):
    """wandb allows letters, digits, - _ and . in an artifact's name: a run named as people name
    runs ("lr=0.01 cnn+adam") logs its model under a name wandb takes, and finishes."""
    image_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    done = subprocess.run(
        [sys.executable, str(ROOT / "img_classifier.py"), "--n_epochs", "1", "--img_size", "16"]
        + ["--log_images=False", "--log_model", "--run_name", "lr=0.01 cnn+adam"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (artifact,) = [
        a for a in run_named(tmp_path, "lr=0.01 cnn+adam")["artifacts"] if a.type == "model"
    ]
    assert artifact.name == "lr-0.01-cnn-adam-model"
    (entry,) = artifact.manifest.contents
    size = (tmp_path / "runs" / "lr=0.01 cnn+adam" / "checkpoint.pth").stat().st_size
    assert (entry.path, entry.size) == ("checkpoint.pth", size)
