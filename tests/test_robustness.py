"""Bad input, divergence, interruptions and wandb faults: a clear message, exit code, and
nothing already written lost."""

import csv
import io
import json
import os
import pickle
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
from conftest import (
    DATA,
    ROOT,
    ctrl_c_works,
    image_slice,
    read_csv_rows,
    run_in_process,
    run_script,
    text_slice,
    write_csv_rows,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import img_classifier as ic
import txt_classifier as tc


def fails_cleanly(result, code=2):
    """The run stopped with `code`, said why on stderr, and printed no traceback. Returns what it
    said, without what a progress bar left there."""
    assert result.returncode == code, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    return (
        "\n".join(
            line for line in result.stderr.splitlines() if line.strip() and "it/s]" not in line
        )
        + "\n"
    )


@pytest.fixture
def images(tmp_path):
    image_slice(tmp_path, {"train": 12, "val": 6, "test": 6})
    return tmp_path


@pytest.fixture
def texts(tmp_path):
    text_slice(tmp_path, {"train": 20, "val": 6, "test": 6})
    return tmp_path


def edit_csv(path, change):
    """Rewrite a CSV after change(rows) edits its list of row dicts."""
    rows = read_csv_rows(path)
    change(rows)
    write_csv_rows(
        path, rows, fieldnames=list(rows[0]) if rows else ["image", "prompt", "label", "label_idx"]
    )


def train_images(folder, *args):
    return run_in_process("img_classifier.py", "--n_epochs", 1, "--img_size", 32, *args, cwd=folder)


def train_texts(folder, *args):
    return run_in_process("txt_classifier.py", "--n_epochs", 1, *args, cwd=folder)


# ----------------------------------------------------------------------------- files and columns


def test_missing_data_folder(tmp_path):
    message = fails_cleanly(train_images(tmp_path, "--data_dir", "nowhere"))
    assert "nowhere/img_train.csv not found" in message and "DATA_DIR" in message
    assert len(message.strip().splitlines()) == 1


def test_missing_csv(images):
    (images / "data" / "img_val.csv").unlink()
    message = fails_cleanly(train_images(images))
    assert "data/img_val.csv not found" in message


def test_missing_column(images):
    path = images / "data" / "img_train.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("label_idx", "class_id", 1), encoding="utf-8"
    )
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv has the columns image, prompt, label, class_id" in message
    assert "must name image, label and label_idx" in message


def test_split_with_no_rows(images):
    edit_csv(images / "data" / "img_test.csv", lambda rows: rows.clear())
    message = fails_cleanly(train_images(images))
    assert "data/img_test.csv has no rows" in message


def test_csv_that_is_not_utf8_says_where(texts):
    path = texts / "data" / "txt_val.csv"
    raw = path.read_bytes()
    path.write_bytes(raw[:500] + "é".encode("latin-1") + raw[500:])
    message = fails_cleanly(train_texts(texts))
    assert "data/txt_val.csv is not UTF-8 text (byte 500 is 0xe9)" in message


def test_a_csv_with_an_extra_field_in_every_row_says_the_columns_are_wrong(images):
    """pandas would take the first column as the row index and shift the rest: every row would seem
    to have a bad label_idx."""
    path = images / "data" / "img_val.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = read_csv_rows(path)
    with open(
        path, "w", encoding="utf-8", newline=""
    ) as f:  # the header as it was; each row one field more
        f.write(lines[0] + "\n")
        csv.writer(f, lineterminator="\n").writerows([list(row.values()) + ["x"] for row in rows])
    message = fails_cleanly(train_images(images))
    assert len(message.strip().splitlines()) == 1
    assert "data/img_val.csv has rows with more fields than its header has columns" in message


def test_broken_csv_quoting(texts):
    path = texts / "data" / "txt_test.csv"
    path.write_bytes(path.read_bytes() + b'"an article that never ends,real,0\n')
    message = fails_cleanly(train_texts(texts))
    assert "data/txt_test.csv cannot be read as CSV" in message


# ----------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    "value, says",
    [
        ("", "with label_idx '': each row needs a class name and a class number"),
        ("two", "with label_idx 'two': each row needs"),
        ("-1", "with label_idx '-1': each row needs"),
        ("99999999999999999999", "with label_idx '99999999999999999999': each row needs"),
    ],
)
def test_bad_label_idx_names_file_row_and_column(images, value, says):
    edit_csv(images / "data" / "img_train.csv", lambda rows: rows[3].update(label_idx=value))
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv row 4: label " in message and says in message


def test_label_and_label_idx_that_disagree(images):
    def swap(rows):
        other = next(r for r in rows if r["label"] != rows[0]["label"])
        rows[5].update(label=rows[0]["label"], label_idx=other["label_idx"])

    edit_csv(images / "data" / "img_train.csv", swap)
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv row 6: label" in message and "disagrees with" in message


def test_class_that_training_never_shows(texts):
    edit_csv(
        texts / "data" / "txt_test.csv", lambda rows: rows[2].update(label="satire", label_idx="2")
    )
    message = fails_cleanly(train_texts(texts))
    assert (
        "data/txt_test.csv row 3: label 'satire' with label_idx 2 disagrees with the classes "
        "of the training split and earlier rows, {0: 'real', 1: 'fake'}" in message
    )


def test_class_numbers_that_skip_one(texts):
    for split in ("train", "val", "test"):
        edit_csv(
            texts / "data" / f"txt_{split}.csv",
            lambda rows: [r.update(label_idx="2") for r in rows if r["label"] == "fake"],
        )
    message = fails_cleanly(train_texts(texts))
    assert "the class numbers are [0, 2]; with 2 classes they must be 0 to 1" in message


def test_all_label_problems_are_listed_together(images):
    edit_csv(
        images / "data" / "img_train.csv",
        lambda rows: [rows[i].update(label_idx="x") for i in (1, 4, 7)],
    )
    message = fails_cleanly(train_images(images))
    assert "3 problem(s) with labels" in message
    assert all(f"img_train.csv row {row}: label " in message for row in (2, 5, 8))


# ---------------------------------------------------------------------------- pictures and articles


def test_every_missing_or_broken_picture_is_listed_before_training(images):
    rows = read_csv_rows(images / "data" / "img_train.csv")
    for row in (rows[1], rows[6]):
        (images / row["image"]).unlink()
    (images / rows[3]["image"]).write_text("this is not a picture")
    truncated = images / rows[4]["image"]
    truncated.write_bytes(truncated.read_bytes()[:600])
    message = fails_cleanly(train_images(images))
    assert "4 picture(s) in data/img_train.csv cannot be used" in message
    for row in (2, 7):  # named as in the CSV, then where it was looked for (in DATA_DIR)
        written = rows[row - 1]["image"]
        assert f"img_train.csv row {row}, column image: {written} cannot be read ([Errno 2] " in (
            message
        )
        assert f"{written.removeprefix('./')}')" in message
    for row in (4, 5):
        assert (
            f"img_train.csv row {row}, column image: {rows[row - 1]['image']} cannot be read"
            in (message)
        )
    assert "epoch" not in message


def odd_pictures(folder):
    """The same scene in the formats and modes people's files come in."""
    base = Image.open(DATA / "axolotl" / "axolotl-1.jpg").convert("RGB").resize((80, 60))
    rgba = base.convert("RGBA")
    rgba.putalpha(128)
    sixteen = Image.fromarray((np.asarray(base.convert("L"), dtype=np.uint16) * 257))
    pictures = {
        "rgba.png": rgba,
        "palette.png": base.convert("P"),
        "cmyk.jpg": base.convert("CMYK"),
        "gray.jpg": base.convert("L"),
        "sixteen.png": sixteen,
        "picture.webp": base,
        "palette_transparent.png": rgba.convert("P"),
    }
    for name, picture in pictures.items():
        picture.save(folder / name)
    return sorted(pictures)


def test_pictures_in_other_modes_and_formats_are_converted(tmp_path):
    names = odd_pictures(tmp_path)
    write_csv_rows(
        tmp_path / "img_train.csv",
        [
            {"image": str(tmp_path / n), "prompt": "p", "label": "axolotl", "label_idx": 0}
            for n in names
        ],
    )
    dataset = ic.CsvImageDataset(tmp_path / "img_train.csv", 32)
    assert dataset.images.shape == (len(names), 3, 32, 32)
    sixteen = dataset.images[names.index("sixteen.png")]
    assert 20 < sixteen.float().mean() < 235  # scaled from 16 bits, not clipped to white


def test_empty_articles_are_listed(texts):
    edit_csv(
        texts / "data" / "txt_train.csv",
        lambda rows: [rows[i].update(article=" \n ") for i in (0, 9)],
    )
    message = fails_cleanly(train_texts(texts))
    assert "2 problem(s) with rows" in message
    assert (
        "txt_train.csv row 1, column article: empty" in message
        and "txt_train.csv row 10" in message
    )


def test_predict_on_a_file_that_is_not_our_checkpoint(tmp_path):
    for script, junk in (("img_classifier.py", b"not a checkpoint"), ("txt_classifier.py", None)):
        folder = tmp_path / script
        (folder / "runs" / "mine").mkdir(parents=True)
        if junk:
            (folder / "runs" / "mine" / "model.pth").write_bytes(junk)
        else:
            torch.save({"format": "someone-else/1"}, folder / "runs" / "mine" / "model.pth")
        message = fails_cleanly(
            run_in_process(script, "--run_name", "mine", "--predict", "x", cwd=folder)
        )
        assert f"no model {script} can read at runs/mine/model.pth" in message


# ----------------------------------------------------------------------------- divergence


def test_divergence_names_the_cause_and_a_rate_that_works(tmp_path):
    """SGD at 0.05 on the summed loss: by the end of epoch 1 the training loss is astronomical,
    though still a number. The run stops there, keeps no checkpoint of it, and the learning rate
    it suggests trains."""
    image_slice(tmp_path, {"train": 48, "val": 9, "test": 9})
    args = ["--n_epochs", 2, "--img_size", 64, "--run_name", "too-fast", "--log_images=False"]
    done = run_in_process(
        "img_classifier.py", *args, "--lr", 0.05, cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    message = fails_cleanly(done)
    assert "the training loss became" in message and "sgd with learning rate 0.05" in message
    assert len(message.strip().splitlines()) == 1 and "checkpoint" not in message
    assert not (tmp_path / "runs" / "too-fast" / "resume.pth").exists()
    flag = message.split("Start again with a smaller one: ")[1].strip()
    assert flag == "--learning_rate 0.001"
    again = run_in_process(
        "img_classifier.py", *args, *flag.split(), cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    assert again.returncode == 0, again.stderr[-2000:]


def test_text_divergence_in_the_first_epoch(texts):
    message = fails_cleanly(
        train_texts(texts, "--optimizer", "sgd", "--lr", "1e30", "--run_name", "x")
    )
    assert "sgd with learning rate 1e+30" in message
    assert message.strip().endswith("Start again with a smaller one: --learning_rate 5")


# ----------------------------------------------------------------------------- interruptions


def stop_then_resume(script, folder, args, after_line, signum=signal.SIGTERM):
    """Run, send `signum` once `after_line` has been printed, then run the command it names to carry
    on."""
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
    for line in process.stdout:
        output.append(line)
        if after_line in line.replace("\r", "\n"):
            process.send_signal(signum)
            break
    output += process.stdout.readlines()
    process.wait(timeout=300)
    text = "".join(output)
    assert process.returncode == 130, text[-3000:]
    assert "Traceback" not in text
    assert "Carry on from the last finished epoch with: " in text, text[-3000:]
    command = text.split("Carry on from the last finished epoch with: ")[1].splitlines()[0]
    assert command == shlex.join(["python", script, *map(str, args), "--resume"])
    resumed = run_in_process(
        script, *shlex.split(command)[2:], cwd=folder, env={"WANDB_MODE": "disabled"}
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming after epoch " in resumed.stdout
    return text


def same_final_metrics(folder, first, second):
    a, b = (
        json.loads((folder / "runs" / name / "summary.json").read_text())
        for name in (first, second)
    )
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "examples_seen"):
        assert a[key] == b[key], key
    for key in ("train_loss", "val_loss", "test_loss"):  # MKL may round the last bits differently
        assert a[key] == pytest.approx(b[key], rel=1e-6), key


@pytest.mark.parametrize("kept", ["in memory", "decoded on every use"])
def test_sigterm_after_epoch_1_of_3_then_resume_ends_where_an_uninterrupted_run_does(
    tmp_path, kept
):
    """The CNN with AUGMENT: the shuffle, augmentation's random numbers and (on a CPU with native
    bf16) mixed precision all carry on exactly, with the pictures in memory or decoded by
    DataLoader workers (which draw their seeds from torch's generator)."""
    image_slice(tmp_path, {"train": 48, "val": 9, "test": 9})
    args = ["--n_epochs", 3, "--img_size", 64, "--model", "cnn", "--augment", "--log_images=False"]
    if kept == "decoded on every use":
        args += ["--memory_budget_gb", 0.00001]
    full = run_in_process(
        "img_classifier.py",
        *args,
        "--run_name",
        "straight",
        cwd=tmp_path,
        env={"WANDB_MODE": "disabled"},
    )
    assert full.returncode == 0, full.stderr[-2000:]
    stop_then_resume(
        "img_classifier.py", tmp_path, [*args, "--run_name", "interrupted"], "epoch 1/3"
    )
    same_final_metrics(tmp_path, "straight", "interrupted")
    assert not (tmp_path / "runs" / "interrupted" / "resume.pth").exists()  # nothing left to resume


def test_ctrl_c_in_epoch_2_then_resume_ends_where_an_uninterrupted_run_does(tmp_path):
    """The bidirectional LSTM with UNK_DROPOUT, stopped by Ctrl-C in the middle of an epoch."""
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    args = [
        "--n_epochs",
        6,
        "--max_len",
        256,
        "--model",
        "lstm",
        "--bidirectional",
        "--unk_dropout",
        0.05,
        "--batch_size",
        2,
        "--embed_dim",
        32,
        "--hidden_dim",
        32,
    ]
    full = run_in_process(
        "txt_classifier.py",
        *args,
        "--run_name",
        "straight",
        cwd=tmp_path,
        env={"WANDB_MODE": "disabled"},
    )
    assert full.returncode == 0, full.stderr[-2000:]
    stop_then_resume(
        "txt_classifier.py",
        tmp_path,
        [*args, "--run_name", "interrupted"],
        "epoch 1/6",
        signal.SIGINT,
    )
    same_final_metrics(tmp_path, "straight", "interrupted")


def test_stopped_before_an_epoch_ends_says_nothing_was_saved(tmp_path):
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "txt_classifier.py"), "--model", "lstm", "--batch_size", "1"],
        cwd=tmp_path,
        env={**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("Using "):  # any device
            process.send_signal(signal.SIGTERM)
            break
    text = process.stdout.read()
    assert process.wait(timeout=120) == 130 and "Traceback" not in text
    assert "Stopped before the first epoch finished; nothing was saved." in text


def test_resume_refuses_changed_settings(tmp_path):
    (tmp_path / "runs" / "r").mkdir(parents=True)
    cfg, _ = ic.parse_settings(["--run_name", "r"])
    ic.save_atomically(
        {"format": ic.RESUME_FORMAT, "settings": cfg, "epoch": 1},
        tmp_path / "runs" / "r" / "resume.pth",
    )
    message = fails_cleanly(
        run_in_process(
            "img_classifier.py", "--run_name", "r", "--resume", "--model", "cnn", cwd=tmp_path
        )
    )
    assert "MODEL ('mlp' -> 'cnn')" in message
    message = fails_cleanly(
        run_in_process("img_classifier.py", "--run_name", "nothing-here", "--resume", cwd=tmp_path)
    )
    assert "nothing to resume" in message


def test_checkpoints_are_written_atomically(tmp_path):
    """A save that fails half-way leaves the previous checkpoint whole and no partial file."""
    path = tmp_path / "model.pth"
    ic.save_atomically({"weights": torch.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # a lambda cannot be pickled
        ic.save_atomically({"weights": torch.zeros(1000), "unpicklable": lambda: None}, path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))


# ----------------------------------------------------------------------------- the output folder


@pytest.mark.parametrize(
    "script, out_dir", [("img_classifier.py", "afile/runs"), ("txt_classifier.py", "/proc/nope")]
)
def test_an_output_folder_that_cannot_be_written_stops_before_training(tmp_path, script, out_dir):
    (image_slice if script == "img_classifier.py" else text_slice)(
        tmp_path, {"train": 8, "val": 3, "test": 3}
    )
    (tmp_path / "afile").write_text("a plain file, where a folder should be")
    result = run_in_process(
        script, "--out_dir", out_dir, "--n_epochs", 1, cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    message = fails_cleanly(result)
    assert (
        len(message.strip().splitlines()) == 1
        and "cannot write to" in message
        and "--out_dir" in message
    )
    assert "epoch" not in result.stdout and "Loaded" not in result.stdout


def test_two_live_runs_cannot_share_a_run_folder_and_a_finished_one_is_overwritten(tmp_path):
    text_slice(tmp_path, {"train": 60, "val": 20, "test": 20})
    args = ["--run_name", "same", "--model", "lstm", "--n_epochs", 3]
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "txt_classifier.py"), *map(str, args)],
        cwd=tmp_path,
        env={**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in first.stdout:
        if line.startswith("Loaded"):
            break
    second = run_in_process(
        "txt_classifier.py", *args, "--seed", 1, cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    message = fails_cleanly(second)
    assert "another run is writing to runs/same right now" in message
    assert len(message.strip().splitlines()) == 1
    assert first.wait(timeout=300) == 0, first.stdout.read()[-2000:]
    assert (
        json.loads((tmp_path / "runs" / "same" / "summary.json").read_text())["settings"]["seed"]
        == 0
    )
    assert not (tmp_path / "runs" / "same" / "run.lock").exists()  # cleaned up on exit
    again = run_in_process(
        "txt_classifier.py",
        *args,
        "--seed",
        1,
        "--n_epochs",
        1,
        cwd=tmp_path,
        env={"WANDB_MODE": "disabled"},
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert (
        json.loads((tmp_path / "runs" / "same" / "summary.json").read_text())["settings"]["seed"]
        == 1
    )


# ----------------------------------------------------------------------------- wandb faults


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_wandb_server_does_not_stop_training(texts):
    started = time.time()
    result = run_script(
        "txt_classifier.py",
        "--n_epochs",
        1,
        "--run_name",
        "no-network",
        cwd=texts,
        timeout=120,
        env={
            "WANDB_MODE": "online",
            "WANDB_API_KEY": "x" * 40,
            "WANDB_BASE_URL": f"http://127.0.0.1:{closed_port()}",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("warning: wandb could not start online") == 1
    assert (texts / "runs" / "no-network" / "summary.json").is_file()
    assert time.time() - started < 60


def test_a_wandb_mode_wandb_does_not_know_stops_before_training(texts):
    """A WANDB_MODE wandb rejects would make every wandb.init fail: said at once, in one line."""
    message = fails_cleanly(
        run_in_process(
            "txt_classifier.py", "--n_epochs", 1, cwd=texts, env={"WANDB_MODE": "ofline"}
        )
    )
    assert (
        "WANDB_MODE=ofline is not a mode wandb knows" in message
        and len(message.strip().splitlines()) == 1
    )


# ----------------------------------------------------------------------------- random damage


def damage(data, operations):
    for kind, position, payload in operations:
        at = position % (len(data) + 1)
        if kind == "delete":
            data = data[:at] + data[at + len(payload) :]
        elif kind == "insert":
            data = data[:at] + payload + data[at:]
        else:
            data = data[:at]
    return data


corruptions = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "truncate"]),
        st.integers(0, 5000),
        st.sampled_from(
            [
                b'"',
                b",",
                b"\n",
                b"\xff\xfe",
                b"label_idx",
                b"-3",
                b"x,y,z\n",
                b"\r\n",
                b'"",,"',
                b"\x00",
                b"\xe2\x80",
                b"9999999999999999999",
            ]
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions, st.sampled_from(["train", "val", "test"]))
def test_random_damage_to_a_text_csv_never_gives_a_traceback(operations, split):
    with tempfile.TemporaryDirectory() as folder:
        data = text_slice(folder, {"train": 8, "val": 4, "test": 4})
        path = data / f"txt_{split}.csv"
        path.write_bytes(damage(path.read_bytes(), operations))
        out, err = io.StringIO(), io.StringIO()
        with (
            redirect_stdout(out),
            redirect_stderr(err),
            patch.dict(os.environ, {"WANDB_MODE": "disabled"}),
        ):
            code = tc.main(
                [
                    "--data_dir",
                    str(data),
                    "--out_dir",
                    str(Path(folder) / "runs"),
                    "--n_epochs",
                    "1",
                ]
            )
        assert code in (0, 2), err.getvalue()
        if code == 2:
            assert err.getvalue().startswith("error: ")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions)
def test_random_damage_to_an_image_csv_never_gives_a_traceback(operations):
    with tempfile.TemporaryDirectory() as folder:
        data = image_slice(folder, {"train": 6, "val": 3, "test": 3})
        path = data / "img_train.csv"
        path.write_bytes(damage(path.read_bytes(), operations))
        out, err = io.StringIO(), io.StringIO()
        with (
            redirect_stdout(out),
            redirect_stderr(err),
            patch.dict(os.environ, {"WANDB_MODE": "disabled"}),
        ):
            code = ic.main(
                [
                    "--data_dir",
                    str(data),
                    "--out_dir",
                    str(Path(folder) / "runs"),
                    "--n_epochs",
                    "1",
                    "--img_size",
                    "16",
                ]
            )
        assert code in (0, 2), err.getvalue()
