"""The training lifecycle and the machinery under it: settings read from the file, flags as
given, resuming (more epochs, nothing left, a run stopped while finishing), the reload check,
wandb's server, and the two scripts' shared machinery kept identical."""

import ast
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import pytest
import torch

import img_classifier as ic
import txt_classifier as tc
from conftest import ROOT, image_slice, run_script, text_slice

SCRIPTS = {"img_classifier.py": ic, "txt_classifier.py": tc}


# ----------------------------------------------------------------------------- the two copies of the machinery


def top_level_sources(path):
    """{name: source} of the functions and classes defined below the machinery line."""
    source = path.read_text(encoding="utf-8")
    line = source.splitlines().index("# " + "=" * 77 + " machinery") + 1
    lines = source.splitlines()
    return {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno]) for node in ast.parse(source).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.lineno > line}


# Machinery both scripts have that does a different job in each (their data, their checkpoints).
DIFFERENT_JOBS = {"check_settings", "load_checkpoint", "load_resume_point", "divergence_cause", "make_loaders"}


def test_machinery_both_scripts_share_is_the_same_code():
    """Standalone scripts, no drift: every function or class below the machinery line that both
    scripts define is identical, letter for letter, unless it does a different job in each."""
    image, text = (top_level_sources(ROOT / name) for name in SCRIPTS)
    shared = (image.keys() & text.keys()) - DIFFERENT_JOBS
    assert len(shared) >= 20, sorted(shared)  # the settings reader, TrainingState, wandb fallbacks, ...
    assert {"TrainingState", "parse_settings", "settings_block", "start_wandb", "StopRequests"} <= shared
    different = sorted(name for name in shared if image[name] != text[name])
    assert not different, f"changed in one script but not the other: {different}"


# ----------------------------------------------------------------------------- settings


def edited_script(script, folder, edit):
    """The script copied into `folder` with `edit` lines added to its settings block, imported
    under a name of its own (the module reads its settings block from its own file)."""
    lines = (ROOT / script).read_text(encoding="utf-8").splitlines()
    end = lines.index("# " + "-" * 77 + " end of settings")
    lines[end:end] = edit
    path = folder / script
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"edited_{path.stem}_{abs(hash(str(folder)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_new_setting_becomes_a_flag_and_a_config_entry_whatever_its_spacing(script, tmp_path, capsys):
    edited = edited_script(script, tmp_path, ["DROPOUT_RATE = 0.1 # a new setting", "USE_TRICK=True#  on or off"])
    cfg, command = edited.parse_settings(["--dropout_rate", "0.3", "--no-use_trick"])
    assert (cfg["dropout_rate"], cfg["use_trick"], command["explicit"]) == (0.3, False, {"dropout_rate", "use_trick"})
    assert edited.parse_settings([])[0]["dropout_rate"] == 0.1  # and a config entry when not given
    with pytest.raises(SystemExit):
        edited.parse_settings(["--help"])
    assert "--dropout_rate" in capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("line", ["dropout_rate = 0.1  # lower case", "DROPOUT = [0.1, 0.2]  # a list",
                                  'print("hello")  # not an assignment', "DROPOUT = RATE = 0.1  # two names"])
def test_a_line_in_the_settings_block_that_is_not_a_setting_is_named(script, line, tmp_path, capsys):
    edited = edited_script(script, tmp_path, [line])
    assert edited.main(["--help"]) == 2
    message = capsys.readouterr().err
    assert len(message.strip().splitlines()) == 1 and f"{script} line " in message
    assert repr(line) in message and "is not a setting" in message


@pytest.mark.parametrize("script", SCRIPTS)
def test_flags_count_as_given_even_at_their_default_value(script):
    cfg, command = SCRIPTS[script].parse_settings(["--n_epochs", str(SCRIPTS[script].N_EPOCHS), "--seed", "0"])
    assert command["explicit"] == {"n_epochs", "seed"}
    assert set(cfg) == {name.lower() for name, _ in SCRIPTS[script].settings_block()}


# ----------------------------------------------------------------------------- resuming


def stop_after(script, folder, args, line):
    """Start a run, send Ctrl-C once `line` is printed, and return once it has saved and stopped."""
    process = subprocess.Popen([sys.executable, str(ROOT / script), *map(str, args)], cwd=folder,
                               env={**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    for text in process.stdout:
        output.append(text)
        if line in text.replace("\r", "\n"):
            process.send_signal(signal.SIGINT)
            break
    output += process.stdout.readlines()
    process.wait(timeout=300)
    assert process.returncode == 130, "".join(output)[-3000:]


@pytest.mark.parametrize("script, data, args", [
    ("img_classifier.py", {"train": 16, "val": 4, "test": 4}, ["--img_size", 32, "--batch_size", 4, "--cache_dir", ""]),
    ("txt_classifier.py", {"train": 16, "val": 4, "test": 4}, ["--batch_size", 4, "--max_len", 64]),
])
def test_resume_with_the_default_epochs_and_with_nothing_left(script, data, args, tmp_path):
    """Started with --n_epochs 3 and stopped in epoch 2: --resume --n_epochs 5 (the image
    script's default) trains to 5; --resume --n_epochs 1 has nothing left and says so."""
    (image_slice if script == "img_classifier.py" else text_slice)(tmp_path, data)
    args = [*args, "--run_name", "r"]
    stop_after(script, tmp_path, [*args, "--n_epochs", 3], "epoch 1/3")
    nothing = run_script(script, *args, "--resume", "--n_epochs", 1, cwd=tmp_path, env={"WANDB_MODE": "disabled"})
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert "already finished epoch 1 of 3" in nothing.stderr and "nothing to train" in nothing.stderr
    if script == "txt_classifier.py":  # this run used Adam, the default: --optimizer sgd is a change
        refused = run_script(script, *args, "--resume", "--optimizer", "sgd", cwd=tmp_path,
                             env={"WANDB_MODE": "disabled"})
        assert refused.returncode == 2 and "OPTIMIZER ('adam' -> 'sgd')" in refused.stderr
    more = run_script(script, *args, "--resume", "--n_epochs", 5, cwd=tmp_path, env={"WANDB_MODE": "disabled"})
    assert more.returncode == 0, more.stderr[-2000:]
    assert json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())["epochs"] == 5
    assert "epoch 5/5" in more.stdout and not (tmp_path / "runs" / "r" / "resume.pth").exists()


def test_resume_refuses_a_change_to_a_default_value(tmp_path):
    """An Adam run resumed with --optimizer sgd (the default value) is refused, not carried on with Adam."""
    (tmp_path / "runs" / "r").mkdir(parents=True)
    cfg, _ = ic.parse_settings(["--run_name", "r", "--optimizer", "adam"])
    ic.atomic_save({"format": ic.RESUME_FORMAT, "settings": cfg, "progress": {"epoch": 1}},
                   tmp_path / "runs" / "r" / "resume.pth")
    refused = run_script("img_classifier.py", "--run_name", "r", "--resume", "--optimizer", "sgd", cwd=tmp_path)
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
    assert torch.load(tmp_path / "runs" / "crashed" / "resume.pth", weights_only=True)["progress"]["epoch"] == 2
    monkeypatch.setattr(tc, "finish", real_finish)
    capsys.readouterr()
    assert tc.main([*args, "--run_name", "crashed", "--resume"]) == 0
    assert "only evaluating and saving the results are left" in capsys.readouterr().out
    straight, resumed = (json.loads((tmp_path / "runs" / n / "summary.json").read_text()) for n in ("straight", "crashed"))
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "examples_seen", "epochs"):
        assert straight[key] == resumed[key], key
    assert not (tmp_path / "runs" / "crashed" / "resume.pth").exists()


def test_an_unused_grad_scaler_state_is_not_loaded(tmp_path):
    """A CPU or bf16 run saves an empty GradScaler state; resumed where fp16 needs a scaler,
    loading it would fail ("source state dict is empty"): it is skipped."""
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    with pytest.raises(RuntimeError):
        scaler.load_state_dict({})  # what would happen without the guard
    cfg = {"seed": 0, "out_dir": str(tmp_path), "run_name": "r", "n_epochs": 2}
    saved = ic.TrainingState(cfg, {"scaler": torch.amp.GradScaler("cpu", enabled=False)}, {}, {}, ic.StopRequests())
    saved.save()
    point = ic.read_resume_point(tmp_path / "r" / "resume.pth")
    assert point["scaler_state"] == {}
    ic.TrainingState(cfg, {"scaler": scaler}, {}, {}, ic.StopRequests(), point)  # no error


def test_a_reloaded_model_that_predicts_differently_is_a_warning(tmp_path, capsys):
    model = ic.MLP(img_size=8)
    ic.save_checkpoint(tmp_path / "model.pth", model, {"model": "mlp", "grayscale": False, "img_size": 8}, ["a", "b", "c"])
    images = torch.randn(20, 3, 8, 8)
    ic.check_reload(tmp_path / "model.pth", model, lambda m: m.eval()(images).argmax(1))
    assert "warning" not in capsys.readouterr().out
    with torch.no_grad():
        model.linear_relu_stack[-1].bias.copy_(torch.tensor([0.0, 0.0, 1e6]))  # now always "c"
    ic.check_reload(tmp_path / "model.pth", model, lambda m: m.eval()(images).argmax(1))
    assert "predicts some test examples differently" in capsys.readouterr().out


# ----------------------------------------------------------------------------- wandb


def test_the_wandb_server_is_the_one_wandb_itself_would_use(tmp_path):
    """A self-hosted server set with `wandb login --host` lives in wandb's settings file."""
    (tmp_path / "settings").write_text("[default]\nbase_url = https://wandb.example-corp.internal\n")
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import wandb, img_classifier as ic; print(ic.wandb_server(wandb))"
    env = {k: v for k, v in os.environ.items() if k != "WANDB_BASE_URL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "WANDB_CONFIG_DIR": str(tmp_path), "WANDB_SILENT": "true"})
    assert done.stdout.strip().splitlines()[-1] == "https://wandb.example-corp.internal", done.stderr[-2000:]


def test_requirements_admit_only_wandb_versions_with_the_api_the_scripts_use():
    """reinit="finish_previous" (both scripts) arrived in wandb 0.19.9; login(prompt=False) and
    wandb.setup().settings are older."""
    requirement = next(line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("wandb"))
    floor = tuple(int(part) for part in re.search(r">=([\d.]+)", requirement).group(1).split("."))
    assert floor >= (0, 19, 9)
    assert 'reinit="finish_previous"' in (ROOT / "txt_classifier.py").read_text()

