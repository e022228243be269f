"""Beyond one process: torchrun (gloo on the CPU) trains one model over several processes, as one process trains
it with the same global batch, and stops and resumes; a wandb sweep agent's flags; the model as a wandb artifact."""

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


def parameters_after_one_epoch(folder, script, args, processes, wandb_mode="disabled"):
    """Each process's parameters after one epoch of `script`, run alone or by torchrun over `processes`, and what
    was printed."""
    command = TORCHRUN if processes == 2 else [sys.executable]
    done = subprocess.run(
        [*command, str(ROOT / "tests" / "record_parameters.py"), script, *map(str, args)],
        cwd=folder,
        env={
            **os.environ,
            "WANDB_MODE": wandb_mode,
            "WANDB_SILENT": "true",
            "OMP_NUM_THREADS": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return [
        torch.load(folder / f"parameters-{rank}.pt", weights_only=True) for rank in range(processes)
    ], done.stdout


@pytest.mark.parametrize(
    "script, make_data, args",
    [
        (
            "img_classifier.py",
            image_slice,
            ["--n_epochs", 1, "--img_size", 16, "--no-log_images"],
        ),  # MLP: summed loss
        (
            "txt_classifier.py",
            text_slice,
            ["--n_epochs", 1, "--unk_dropout", 0, "--max_len", 128],
        ),  # bag of words: mean
    ],
)
def test_two_processes_train_what_one_process_trains_with_their_global_batch(
    tmp_path, script, make_data, args
):
    make_data(tmp_path, {"train": 16, "val": 4, "test": 4})
    two, printed = parameters_after_one_epoch(
        tmp_path, script, [*args, "--batch_size", 4, "--run_name", "two"], 2, wandb_mode="offline"
    )
    assert (
        printed.count("epoch 1/1") == 1 and len(offline_runs(tmp_path)) == 1
    )  # the first process alone reports
    assert (tmp_path / "writes-0.txt").read_text().split() == [
        "save_resume_point",
        "finish",
    ]  # and writes the files
    assert not (tmp_path / "writes-1.txt").exists()
    one, _ = parameters_after_one_epoch(
        tmp_path, script, [*args, "--batch_size", 8, "--run_name", "one"], 1
    )
    assert two[0].keys() == one[0].keys()
    for name in one[0]:
        assert torch.equal(two[0][name], two[1][name]), name  # both processes hold the same model
        torch.testing.assert_close(two[0][name], one[0][name], atol=1e-5, rtol=0, msg=name)
    written = json.loads((tmp_path / "runs" / "two" / "summary.json").read_text())
    assert (
        written["examples_seen"] == 16
    )  # every training example once, counted over both processes


def test_sigterm_stops_every_process_and_resume_carries_on_under_torchrun(tmp_path):
    text_slice(tmp_path, {"train": 40, "val": 10, "test": 10})
    args = [
        "--model",
        "lstm",
        "--n_epochs",
        3,
        "--batch_size",
        1,
        "--max_len",
        256,
        "--run_name",
        "together",
    ]
    process = subprocess.Popen(
        [*TORCHRUN, str(ROOT / "txt_classifier.py"), *map(str, args)],
        cwd=tmp_path,
        env={
            **os.environ,
            "WANDB_MODE": "disabled",
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
        },
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
    assert text.count("Stopped. Carry on from the last finished epoch with: ") == 2, text[
        -3000:
    ]  # one line a process
    command = text.split("Stopped. Carry on from the last finished epoch with: ")[1].splitlines()[0]
    assert command == shlex.join(
        ["torchrun", "--nproc_per_node=2", "txt_classifier.py", *map(str, args), "--resume"]
    )
    resumed = subprocess.run(
        [*TORCHRUN, str(ROOT / "txt_classifier.py"), *shlex.split(command)[3:]],
        cwd=tmp_path,
        env={**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "Resuming after epoch" in resumed.stdout and "epoch 3/3" in resumed.stdout
    assert json.loads((tmp_path / "runs" / "together" / "summary.json").read_text())["epochs"] == 3


# ----------------------------------------------------------------------------- wandb sweeps and artifacts


@pytest.mark.parametrize("sweep, script", [("sweeps/img.yaml", ic), ("sweeps/txt.yaml", tc)])
def test_a_sweep_agents_command_line_sets_what_the_sweep_means(sweep, script):
    """The agent runs `python <program> ${args}`; wandb's own code turns each parameter into --name=value."""
    config = yaml.safe_load((ROOT / sweep).read_text())
    assert config["program"] == f"{script.__name__}.py" and config["command"][-2:] == [
        "${program}",
        "${args}",
    ]
    assert config["metric"] == {"name": "val_accuracy", "goal": "maximize"}
    chosen = {}
    for name, spec in config["parameters"].items():
        for value in spec.get("values", []) + [
            spec[key] for key in ("value", "min", "max") if key in spec
        ]:
            args = create_sweep_command_args({"args": {name: {"value": value}}})[
                "args"
            ]  # what ${args} becomes
            cfg, command = script.parse_settings(args)
            assert cfg[name] == value and command.given == {name}, args
            chosen[name] = value
    args = create_sweep_command_args(
        {"args": {name: {"value": value} for name, value in chosen.items()}}
    )["args"]
    assert {name: script.parse_settings(args)[0][name] for name in chosen} == chosen  # all at once


def test_the_model_is_logged_as_an_artifact_in_an_offline_run(tmp_path):
    image_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "img_classifier.py"),
            "--n_epochs",
            "1",
            "--img_size",
            "16",
            "--no-log_images",
            "--log_model",
            "--run_name",
            "kept",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (artifact,) = [
        logged for logged in run_named(tmp_path, "kept")["artifacts"] if logged.type == "model"
    ]
    assert artifact.name == "kept-model"
    assert json.loads(artifact.metadata)["run_name"] == "kept"  # the run's settings ride along
    (entry,) = artifact.manifest.contents
    assert (entry.path, entry.size) == (
        "model.pth",
        (tmp_path / "runs" / "kept" / "model.pth").stat().st_size,
    )
