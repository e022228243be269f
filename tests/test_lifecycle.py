"""The training lifecycle and the machinery under it: settings read from the file, flags as
given, resuming (more epochs, nothing left, a run stopped while finishing)."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, ctrl_c_works, image_slice, run_in_process, text_slice

import img_classifier as ic
import txt_classifier as tc

SCRIPTS = {"img_classifier.py": ic, "txt_classifier.py": tc}


# ----------------------------------------------------------------------------- settings


def edited_script(script, folder, edit):
    """The script copied into `folder` with `edit` lines added to its settings block, imported
    under a name of its own (the module reads its settings block from its own file)."""
    lines = (ROOT / script).read_text(encoding="utf-8").splitlines()
    end = lines.index("# " + "-" * 77 + " end of settings")
    lines[end:end] = edit
    path = folder / script
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        f"edited_{path.stem}_{abs(hash(str(folder)))}", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_new_setting_becomes_a_flag_and_a_config_entry_whatever_its_spacing(
    script, tmp_path, capsys
):
    edited = edited_script(
        script, tmp_path, ["DROPOUT_RATE = 0.1  # a new setting", "USE_TRICK=True"]
    )
    cfg, _ = edited.parse_settings(["--dropout_rate", "0.3", "--use_trick=False"])
    assert (cfg["dropout_rate"], cfg["use_trick"]) == (0.3, False)
    assert edited.parse_settings([])[0]["dropout_rate"] == 0.1  # and a config entry when not given
    with pytest.raises(SystemExit):
        edited.parse_settings(["--help"])
    help = " ".join(capsys.readouterr().out.split())
    assert "--dropout_rate DROPOUT_RATE a new setting (default: 0.1)" in help
    assert "--use_trick [USE_TRICK]" in help


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_setting_edited_in_the_file_is_checked_as_its_flag_is(
    script, tmp_path, capsys, monkeypatch
):
    """argparse checks the choices of what the command line gives, never a default: a value
    edited in the settings block must stop in one line too, not in a traceback after loading."""
    monkeypatch.chdir(tmp_path)  # were the check gone, the run would start here
    monkeypatch.setenv("WANDB_MODE", "disabled")
    edited = edited_script(script, tmp_path, ['MODEL = "resnet"', "NOTE = 1  # 10% of nothing"])
    assert edited.main(["--n_epochs", "1"]) == 2
    message = capsys.readouterr().err
    assert len(message.strip().splitlines()) == 1 and "MODEL must be one of" in message
    assert "got 'resnet'" in message
    with pytest.raises(SystemExit):
        edited.parse_settings(["--help"])  # a comment with a % in it is help text like any other
    assert "10% of nothing" in capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_setting_is_a_flag_and_a_config_entry(script):
    cfg, _ = SCRIPTS[script].parse_settings([])
    assert set(cfg) == {name.lower() for name in SCRIPTS[script].SETTINGS}
    assert cfg == {name.lower(): value for name, value in SCRIPTS[script].SETTINGS.items()}


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_carry_on_command_keeps_every_flag_as_given(script):
    """`--resume --n_epochs 60 --run_name x`: every flag and value, --resume once, at the end."""
    argv = ["--resume", "--n_epochs", "60", "--run_name", "x y", "--lr=0.1"]
    expected = f"python {script} --n_epochs 60 --run_name 'x y' --lr=0.1 --resume"
    assert SCRIPTS[script].command_line(argv) == expected


# ----------------------------------------------------------------------------- resuming


def stop_after(script, folder, args, line):
    """Start a run, send Ctrl-C once `line` is printed, and return once it has saved and stopped."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / script), *map(str, args)],
        cwd=folder,
        env={**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ctrl_c_works,
    )
    output = []
    for text in process.stdout:
        output.append(text)
        if line in text.replace("\r", "\n"):
            process.send_signal(signal.SIGINT)
            break
    output += process.stdout.readlines()
    process.wait(timeout=300)
    assert process.returncode == 130, "".join(output)[-3000:]


@pytest.mark.parametrize(
    "script, data, args",
    [
        (
            "img_classifier.py",
            {"train": 16, "val": 4, "test": 4},
            ["--img_size", 32, "--batch_size", 4],
        ),
        (
            "txt_classifier.py",
            {"train": 16, "val": 4, "test": 4},
            ["--batch_size", 4, "--max_len", 64],
        ),
    ],
)
def test_resume_with_the_default_epochs_and_with_nothing_left(script, data, args, tmp_path):
    """Started with --n_epochs 3 and stopped in epoch 2: --resume --n_epochs 5 (the image
    script's default) trains to 5; --resume --n_epochs 1 has nothing left and says so."""
    (image_slice if script == "img_classifier.py" else text_slice)(tmp_path, data)
    args = [*args, "--run_name", "r"]
    stop_after(script, tmp_path, [*args, "--n_epochs", 3], "epoch 1/3")
    nothing = run_in_process(
        script, *args, "--resume", "--n_epochs", 1, cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert (
        "already finished epoch 1 of 3" in nothing.stderr and "nothing to train" in nothing.stderr
    )
    if (
        script == "txt_classifier.py"
    ):  # this run used Adam, the default: --optimizer sgd is a change
        refused = run_in_process(
            script,
            *args,
            "--resume",
            "--optimizer",
            "sgd",
            cwd=tmp_path,
            env={"WANDB_MODE": "disabled"},
        )
        assert refused.returncode == 2 and "OPTIMIZER ('adam' -> 'sgd')" in refused.stderr
    more = run_in_process(
        script, *args, "--resume", "--n_epochs", 5, cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    assert more.returncode == 0, more.stderr[-2000:]
    assert json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())["epochs"] == 5
    assert "epoch 5/5" in more.stdout and not (tmp_path / "runs" / "r" / "resume.pth").exists()


def test_resume_refuses_a_change_to_a_default_value(tmp_path):
    """An Adam run resumed with --optimizer sgd (the default value) is refused, not carried on with
    Adam."""
    (tmp_path / "runs" / "r").mkdir(parents=True)
    cfg, _ = ic.parse_settings(["--run_name", "r", "--optimizer", "adam"])
    ic.save_atomically(
        {"format": ic.RESUME_FORMAT, "settings": cfg | {"processes": 1}, "epoch": 1},
        tmp_path / "runs" / "r" / "resume.pth",
    )
    refused = run_in_process(
        "img_classifier.py", "--run_name", "r", "--resume", "--optimizer", "sgd", cwd=tmp_path
    )
    assert refused.returncode == 2 and "OPTIMIZER ('adam' -> 'sgd')" in refused.stderr


def test_a_run_stopped_while_finishing_resumes_into_a_finished_run(tmp_path, monkeypatch, capsys):
    """Every epoch trained, then a crash (or a second Ctrl-C) before the results were written:
    --resume trains nothing more and writes what an uninterrupted run writes."""
    text_slice(tmp_path, {"train": 16, "val": 4, "test": 4})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    args = ["--n_epochs", "2", "--batch_size", "4", "--max_len", "64"]
    assert tc.main([*args, "--run_name", "straight"]) == 0
    real_finish = tc.finish

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tc, "finish", crash)
    assert tc.main([*args, "--run_name", "crashed"]) == 130
    assert torch.load(tmp_path / "runs" / "crashed" / "resume.pth", weights_only=True)["epoch"] == 2
    monkeypatch.setattr(tc, "finish", real_finish)
    capsys.readouterr()
    assert tc.main([*args, "--run_name", "crashed", "--resume"]) == 0
    assert "Resuming after epoch 2" in capsys.readouterr().out
    straight, resumed = (
        json.loads((tmp_path / "runs" / n / "summary.json").read_text())
        for n in ("straight", "crashed")
    )
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "examples_seen", "epochs"):
        assert straight[key] == resumed[key], key
    assert not (tmp_path / "runs" / "crashed" / "resume.pth").exists()


def test_an_unused_grad_scaler_state_is_not_loaded(tmp_path, monkeypatch):
    """A CPU or bf16 run saves an empty GradScaler state; resumed where fp16 needs a scaler, loading
    it would fail ("source state dict is empty"): it is skipped."""
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    with pytest.raises(RuntimeError):
        scaler.load_state_dict({})  # what would happen without the guard
    model = torch.nn.Linear(2, 2)
    point = {
        "model": model.state_dict(),
        "optimizer": torch.optim.SGD(model.parameters()).state_dict(),
        "scaler": torch.amp.GradScaler("cpu", enabled=False).state_dict(),
        "epoch": 1,
        "examples_seen": 8,
        "wandb_id": None,
    }
    assert point["scaler"] == {}
    monkeypatch.setenv("WANDB_MODE", "disabled")
    cfg = {"out_dir": str(tmp_path), "run_name": "r", "wandb_project": "p", "model": "mlp"}
    precision = SimpleNamespace(scaler=scaler)
    run, done, seen = ic.start_or_resume(
        cfg, point, model, torch.optim.SGD(model.parameters()), precision
    )
    assert (done, seen) == (1, 8)
    run.finish()
