"""The run's life: settings edited in the file, a folder and a name of its own, stopping and
resuming (more epochs, nothing left, changed settings or data), what a stop says is on disk, and
--predict on the runs it finds."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys

import pytest
import torch
from conftest import (
    ROOT,
    ctrl_c_works,
    image_slice,
    read_csv_rows,
    run_in_process,
    summary_of,
    text_slice,
    write_csv_rows,
)

import img_classifier as ic
import txt_classifier as tc

SCRIPTS = {"img_classifier.py": ic, "txt_classifier.py": tc}
SMALL = {  # a quick run of each script on a slice of the sample data
    "img_classifier.py": (image_slice, ["--img_size", 32, "--batch_size", 4, "--log_images=0"]),
    "txt_classifier.py": (text_slice, ["--batch_size", 4, "--max_len", 64]),
}

# ----------------------------------------------------------------------------- settings


def edited_script(script, folder, edit, monkeypatch):
    """The script copied into `folder` with `edit` lines added to its settings block, imported
    under a name of its own (the module reads its settings block from its own file)."""
    lines = (ROOT / script).read_text(encoding="utf-8").splitlines()
    end = lines.index("# " + "-" * 77 + " end of settings")
    lines[end:end] = edit
    path = folder / script
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    name = f"edited_{path.stem}_{abs(hash(str(folder)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_new_setting_becomes_a_flag_of_its_type_whatever_its_spacing(
    script, tmp_path, capsys, monkeypatch
):
    edit = ["DROPOUT_RATE: float = 0  # a new setting, 10% of nothing", "USE_TRICK=True"]
    edited = edited_script(script, tmp_path, edit, monkeypatch)
    edited.parse_settings(["--dropout_rate", "0.3", "--use_trick=False"])
    assert (edited.DROPOUT_RATE, edited.USE_TRICK) == (0.3, False)
    edited.parse_settings([])
    assert edited.DROPOUT_RATE == 0.0 and type(edited.DROPOUT_RATE) is float
    assert edited.settings()["DROPOUT_RATE"] == 0.0  # and a config entry
    with pytest.raises(SystemExit):
        edited.parse_settings(["--help"])
    help = " ".join(capsys.readouterr().out.split())
    assert "--dropout_rate DROPOUT_RATE a new setting, 10% of nothing (default: 0)" in help
    assert "--use_trick [USE_TRICK]" in help


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_whole_number_edited_into_a_float_setting_takes_any_number(script, tmp_path, monkeypatch):
    """LEARNING_RATE = 1 (as the file's comment suggests for Adadelta): a sweep agent's
    --learning_rate=0.0031 is still a learning rate, and 1 is 1.0."""
    edited = edited_script(script, tmp_path, ["LEARNING_RATE = 1", "N_EPOCHS = 2"], monkeypatch)
    edited.parse_settings(["--learning_rate=0.0031"])
    assert edited.LEARNING_RATE == 0.0031
    edited.parse_settings([])
    assert edited.LEARNING_RATE == 1.0 and type(edited.LEARNING_RATE) is float


@pytest.mark.parametrize(
    "script, edit, says",
    [
        ("img_classifier.py", 'MODEL = "resnet"', "argument --model: invalid choice: 'resnet'"),
        (
            "img_classifier.py",
            "BATCH_SIZE = 8.5",
            "argument --batch_size: invalid int value: '8.5'",
        ),
        ("txt_classifier.py", "BIDIRECTIONAL = 2", "argument --bidirectional: invalid true_or"),
        ("txt_classifier.py", "N_EPOCHS = 0", "N_EPOCHS must be at least 1"),
    ],
)
def test_a_bad_value_edited_in_the_file_is_one_line_before_anything_runs(
    script, edit, says, tmp_path, capsys, monkeypatch
):
    """argparse checks what the command line gives; a value edited in the settings block is read
    as a flag too, so it stops in one line as well, with a flag given or not."""
    monkeypatch.chdir(tmp_path)  # were the check gone, the run would start here
    monkeypatch.setenv("WANDB_MODE", "disabled")
    edited = edited_script(script, tmp_path, [edit], monkeypatch)
    for flags in ([], ["--lr", "0.001"]):
        try:
            code = edited.main(flags)
        except SystemExit as exit:  # argparse's own errors
            code = exit.code
        assert code == 2
        message = capsys.readouterr().err
        assert len(message.strip().splitlines()) == 1 and says in message, message
    assert not (tmp_path / "runs").exists()


def test_a_number_edited_as_text_is_read_as_the_number(tmp_path, monkeypatch):
    edited = edited_script("img_classifier.py", tmp_path, ['LEARNING_RATE = "1e-3"'], monkeypatch)
    edited.parse_settings([])
    assert edited.LEARNING_RATE == 0.001


# ----------------------------------------------------------------------------- names and folders


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_run_gets_a_folder_and_wandb_name_of_its_own(script, tmp_path):
    """Two runs under one RUN_NAME: the second is RUN_NAME-2, and the first's model is kept."""
    make_data, args = SMALL[script]
    make_data(tmp_path, {"train": 8, "val": 4, "test": 4})
    for seed in (0, 1):
        done = run_in_process(script, *args, "--n_epochs", 1, "--seed", seed, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
    name = SCRIPTS[script].DEFAULTS["RUN_NAME"]
    assert summary_of(tmp_path, name)["settings"]["SEED"] == 0
    assert summary_of(tmp_path, f"{name}-2")["settings"]["RUN_NAME"] == f"{name}-2"
    assert summary_of(tmp_path, f"{name}-2")["settings"]["SEED"] == 1


def test_a_sweep_agents_runs_are_named_by_their_wandb_id(tmp_path):
    """Agents on several machines would all take RUN_NAME: under a sweep the run's wandb id (which
    the agent passes in WANDB_RUN_ID) makes the name unique everywhere."""
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    env = {"WANDB_SWEEP_ID": "sweep1", "WANDB_RUN_ID": "abc123"}
    done = run_in_process("txt_classifier.py", "--n_epochs", 1, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert summary_of(tmp_path, "txt-classifier-abc123")["settings"]["RUN_NAME"] == (
        "txt-classifier-abc123"
    )


def test_a_run_that_saved_nothing_leaves_no_folder(tmp_path):
    """A bad CSV stops the run before its first epoch: no empty folder takes the name."""
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    (tmp_path / "data" / "txt_val.csv").write_text("article,label\n")
    failed = run_in_process("txt_classifier.py", "--n_epochs", 1, cwd=tmp_path)
    assert failed.returncode == 2 and list((tmp_path / "runs").iterdir()) == []


# ----------------------------------------------------------------------------- resuming


def stop_after(script, folder, args, line):
    """Start a run, send SIGTERM (a cluster's stop) once `line` is printed, and return what it
    printed once it has stopped."""
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
            process.send_signal(signal.SIGTERM)
            break
    output += process.stdout.readlines()
    process.wait(timeout=300)
    assert process.returncode == 130, "".join(output)[-3000:]
    return "".join(output)


@pytest.mark.parametrize("script", SCRIPTS)
def test_resume_with_more_epochs_and_with_nothing_left(script, tmp_path):
    """Stopped in epoch 2 of 3: the stop says what is saved; --resume --n_epochs 1 has nothing left
    and says so; --resume --n_epochs 5 trains on to 5, and the seconds add up."""
    make_data, args = SMALL[script]
    make_data(tmp_path, {"train": 16, "val": 4, "test": 4})
    args = [*args, "--run_name", "r"]
    said = stop_after(script, tmp_path, [*args, "--n_epochs", 3], "epoch 1/3")
    assert (
        "Stopped. Saved: runs/r after epoch 1 of 3. Carry on with the same command plus "
        "--resume --run_name r\n" in said
    )
    # As if the epoch before the stop had taken 1000 s: the summary's seconds must count them.
    path = tmp_path / "runs" / "r" / "checkpoint.pth"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["summary"]["seconds"] = 1000.0
    torch.save(checkpoint, path)
    nothing = run_in_process(script, *args, "--resume", "--n_epochs", 1, cwd=tmp_path)
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert "r has trained 1 epoch(s), and N_EPOCHS is 1: pass --n_epochs 2 or more" in (
        nothing.stderr
    )
    more = run_in_process(script, *args, "--resume", "--n_epochs", 5, cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-2000:]
    summary = summary_of(tmp_path, "r")
    assert summary["epoch"] == 5 and "epoch 5/5" in more.stdout and "epoch 2/5" in more.stdout
    assert summary["seconds"] > 1000  # the whole run's time, not the resumed part's
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["r"]  # no r-2


@pytest.mark.parametrize("script", SCRIPTS)
def test_resume_and_predict_refuse_a_setting_the_run_was_not_trained_with(script, tmp_path):
    """An Adam run carried on with --optimizer sgd (the image script's default), or asked to
    predict with --model of the other kind, is refused in one line naming what differs."""
    make_data, args = SMALL[script]
    make_data(tmp_path, {"train": 8, "val": 4, "test": 4})
    args = [*args, "--run_name", "r", "--optimizer", "adam"]
    assert run_in_process(script, *args, "--n_epochs", 1, cwd=tmp_path).returncode == 0
    refused = run_in_process(script, *args, "--resume", "--optimizer", "sgd", cwd=tmp_path)
    assert refused.returncode == 2
    assert "OPTIMIZER: the run was trained with 'adam'" in refused.stderr
    other = "cnn" if script == "img_classifier.py" else "lstm"
    (tmp_path / "x").write_text("x")
    asked = run_in_process(
        script, "--run_name", "r", "--model", other, "--predict", "x", cwd=tmp_path
    )
    assert asked.returncode == 2 and "MODEL: the run was trained with" in asked.stderr
    assert len(asked.stderr.strip().splitlines()) == 1


def test_resume_with_a_changed_training_split_is_one_line(tmp_path):
    """The vocabulary comes from the training split; changed after the stop, its word ids would
    mean other words."""
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    args = ["--n_epochs", 1, "--run_name", "r"]
    assert run_in_process("txt_classifier.py", *args, cwd=tmp_path).returncode == 0
    path = tmp_path / "data" / "txt_train.csv"
    rows = read_csv_rows(path)
    rows[0]["article"] += " a zebra word never seen"
    write_csv_rows(path, rows)
    resumed = run_in_process("txt_classifier.py", *args, "--resume", "--n_epochs", 2, cwd=tmp_path)
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr
    assert "data/txt_train.csv has changed since r started" in resumed.stderr


def test_a_run_stopped_in_its_second_seed_says_the_first_is_kept(tmp_path):
    """--repeats 2, stopped while the second seed trains: the first seed's run is on disk, and the
    stop says so."""
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    args = ["--repeats", 2, "--n_epochs", 1, "--model", "lstm", "--batch_size", 1]
    said = stop_after("txt_classifier.py", tmp_path, [*args, "--run_name", "g"], "seed 1")
    assert "Stopped. Saved: runs/g/seed-0 after epoch 1 of 1." in said
    assert "--resume --run_name g" in said


def test_a_new_run_never_meets_an_old_runs_checkpoint(tmp_path):
    """A stopped run keeps its checkpoint; a new run under the same name gets a folder of its own,
    and stopped before its first epoch, says that nothing was saved (and leaves nothing)."""
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    args = ["--model", "lstm", "--batch_size", 1, "--run_name", "r"]
    stop_after("txt_classifier.py", tmp_path, [*args, "--n_epochs", 3], "epoch 1/3")
    said = stop_after("txt_classifier.py", tmp_path, args, "Using ")
    assert "Stopped before the first epoch finished; nothing was saved." in said
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["r"]


# ----------------------------------------------------------------------------- predict


def test_predict_finds_each_seeds_model_and_says_which_answers(tmp_path):
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    args = ["--n_epochs", 1, "--repeats", 2, "--run_name", "rep"]
    assert run_in_process("txt_classifier.py", *args, cwd=tmp_path).returncode == 0
    (tmp_path / "a.txt").write_text("The council met on Tuesday.", encoding="utf-8")
    group = run_in_process(
        "txt_classifier.py", "--run_name", "rep", "--predict", "a.txt", cwd=tmp_path
    )
    assert group.returncode == 2 and "(here: rep/seed-0, rep/seed-1)" in group.stderr
    seed = run_in_process(
        "txt_classifier.py", "--run_name", "rep/seed-1", "--predict", "a.txt", cwd=tmp_path
    )
    assert seed.returncode == 0, seed.stderr
    accuracy = summary_of(tmp_path, "rep/seed-1")["test_accuracy"]
    assert (
        seed.stdout.splitlines()[0] == f"rep/seed-1: bow, 1 epoch(s), test accuracy {accuracy:.1%}"
    )


def test_the_checkpoint_loads_without_this_script(tmp_path):
    """checkpoint.pth holds plain tensors, numbers and strings: torch.load(weights_only=True)."""
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    assert run_in_process("txt_classifier.py", "--n_epochs", 1, cwd=tmp_path).returncode == 0
    path = tmp_path / "runs" / "txt-classifier" / "checkpoint.pth"
    checkpoint = torch.load(path, weights_only=True)
    assert set(checkpoint) == {"summary", "vocab", "class_names", "model", "optimizer"}
    assert checkpoint["summary"] == json.loads(path.with_name("summary.json").read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_setting_has_its_comment_as_help(script, capsys):
    """The settings block's comments are --help: a line the formatter wrapped would lose one."""
    with pytest.raises(SystemExit):
        SCRIPTS[script].parse_settings(["--help"])
    entries = capsys.readouterr().out.split("\n  --")  # each option's entry starts a line
    for name, value in SCRIPTS[script].DEFAULTS.items():
        (entry,) = [e for e in entries if e.startswith(f"{name.lower()} ")]
        help = re.split(r"\s{2,}|\n", entry, maxsplit=1)[1]  # after "--name NAME, --alias NAME"
        described = "".join(help.split())  # less the spaces where argparse wraps
        default = f"(default:{value})"
        assert described.endswith(default) and len(described) > len(default) + 8, described


def test_a_seed_draws_its_own_numbers_whatever_its_size():
    assert (
        len({ic.seed_for(0, 2), ic.seed_for(1, 1), ic.seed_for(0, 1, 1), ic.seed_for(1, 0, 1)}) == 4
    )
    assert ic.seed_for(0, 1) == ic.seed_for(0, 1) == tc.seed_for(0, 1)  # the same every time
    assert 0 <= ic.seed_for(2**62, 10**6, 7) < 2**63


def test_a_very_large_seed_trains(tmp_path):
    text_slice(tmp_path, {"train": 8, "val": 4, "test": 4})
    done = run_in_process(
        "txt_classifier.py", "--n_epochs", 1, "--seed", 20000000000000000, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_weights_that_no_longer_fit_the_model_are_one_line(tmp_path, monkeypatch, capsys):
    """Homework: add a layer to the MLP, then --predict (or --resume) an earlier run."""
    image_slice(tmp_path, {"train": 4, "val": 2, "test": 2})
    args = ["--n_epochs", 1, "--img_size", 16, "--log_images=0", "--run_name", "before"]
    assert run_in_process("img_classifier.py", *args, cwd=tmp_path).returncode == 0
    source = (ROOT / "img_classifier.py").read_text(encoding="utf-8")
    wider = source.replace("hidden=512", "hidden=256")
    assert wider != source
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited" / "img_classifier.py").write_text(wider, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        "edited_model", tmp_path / "edited" / "img_classifier.py"
    )
    edited = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "edited_model", edited)
    spec.loader.exec_module(edited)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    picture = sorted((tmp_path / "data" / "parrot").glob("*.jpg"))[0]
    for flags in (["--predict", str(picture)], ["--resume", "--n_epochs", "2"]):
        capsys.readouterr()
        assert edited.main(["--run_name", "before", *flags]) == 2
        message = capsys.readouterr().err
        assert "before's weights do not fit the model this script builds now" in message
        assert "size mismatch for linear_relu_stack" in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("script", SCRIPTS)
def test_what_a_stop_says_is_what_is_on_disk(script, tmp_path, monkeypatch):
    module = SCRIPTS[script]
    monkeypatch.setattr(module, "N_EPOCHS", 3)
    assert module.stopped(None) == "Stopped."  # in --predict, or before the run had a folder
    assert module.stopped(tmp_path) == "Stopped before the first epoch finished; nothing was saved."
    (tmp_path / "summary.json").write_text(json.dumps({"epoch": 2}))
    assert module.stopped(tmp_path) == (
        f"Stopped. Saved: {tmp_path} after epoch 2 of 3. Carry on with the same command plus "
        f"--resume --run_name {module.RUN_NAME}"
    )
    (tmp_path / "summary.json").write_text(json.dumps({"epoch": 3}))  # every epoch is saved
    assert module.stopped(tmp_path).startswith("Stopped while finishing")
    assert "--resume" not in module.stopped(tmp_path)


def test_a_group_stopped_in_its_first_seeds_first_epoch_leaves_no_folder(tmp_path):
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    args = ["--repeats", 2, "--model", "lstm", "--batch_size", 1, "--run_name", "g"]
    said = stop_after("txt_classifier.py", tmp_path, args, "Using ")
    assert "Stopped before the first epoch finished; nothing was saved." in said
    assert list((tmp_path / "runs").iterdir()) == []
