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
from types import SimpleNamespace
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
    summary_of,
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


def test_a_csv_separated_by_semicolons_says_so(images):
    """As Excel saves a CSV where the comma is the decimal point."""
    path = images / "data" / "img_train.csv"
    rows = read_csv_rows(path)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(
            [list(rows[0]), *(list(row.values()) for row in rows)]
        )
    message = fails_cleanly(train_images(images))
    assert message == (
        "error: data/img_train.csv is separated by semicolons: save it with commas (in Excel, as "
        "CSV UTF-8).\n"
    )


def test_split_with_no_rows(images):
    edit_csv(images / "data" / "img_test.csv", lambda rows: rows.clear())
    message = fails_cleanly(train_images(images))
    assert "data/img_test.csv has no rows" in message


def test_csv_that_is_not_utf8_says_where(texts):
    path = texts / "data" / "txt_val.csv"
    raw = path.read_bytes()
    path.write_bytes(raw[:500] + "é".encode("latin-1") + raw[500:])
    message = fails_cleanly(train_texts(texts))
    assert "data/txt_val.csv cannot be read ('utf-8' codec can't decode byte 0xe9 in position" in (
        message
    )
    assert "save it as UTF-8 CSV" in message


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
    assert "data/img_val.csv cannot be read (Length of header or names does not match" in message
    assert "each field with a comma, quote or line break in double quotes" in message


def test_broken_csv_quoting(texts):
    path = texts / "data" / "txt_test.csv"
    path.write_bytes(path.read_bytes() + b'"an article that never ends,real,0\n')
    message = fails_cleanly(train_texts(texts))
    assert "data/txt_test.csv cannot be read (" in message


# ----------------------------------------------------------------------------- labels


CLASSES = "{0: 'parrot', 1: 'narwhal', 2: 'axolotl'}"


@pytest.mark.parametrize("value", ["", "two", "-1", "1.5", "99999999999999999999"])
def test_a_bad_label_idx_names_file_and_row(images, value):
    edit_csv(images / "data" / "img_train.csv", lambda rows: rows[3].update(label_idx=value))
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv: 1 row(s) (first: 4) need a label and label_idx of one class: " in (
        message
    )
    assert len(message.splitlines()) == 1


def test_label_and_label_idx_that_disagree(images):
    def swap(rows):
        other = next(r for r in rows if r["label"] != rows[0]["label"])
        rows[5].update(label=rows[0]["label"], label_idx=other["label_idx"])

    edit_csv(images / "data" / "img_train.csv", swap)
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv: 1 row(s) (first: 6) need a label and label_idx of one class" in (
        message
    )


def test_class_that_training_never_shows(texts):
    edit_csv(
        texts / "data" / "txt_test.csv", lambda rows: rows[2].update(label="satire", label_idx="2")
    )
    message = fails_cleanly(train_texts(texts))
    assert (
        "data/txt_test.csv: 1 row(s) (first: 3) need a label and label_idx of one class: "
        "{0: 'real', 1: 'fake'}" in message
    )


def test_class_numbers_that_skip_one(texts):
    for split in ("train", "val", "test"):
        edit_csv(
            texts / "data" / f"txt_{split}.csv",
            lambda rows: [r.update(label_idx="2") for r in rows if r["label"] == "fake"],
        )
    message = fails_cleanly(train_texts(texts))
    assert "the classes (label_idx: label) are {0: 'real', 2: 'fake'}" in message
    assert "each needs a name of its own and a number, from 0 to 1" in message


def test_one_problem_on_many_rows_is_one_line_with_the_count_and_the_first_rows(images):
    edit_csv(
        images / "data" / "img_train.csv",
        lambda rows: [rows[i].update(label_idx="x") for i in (1, 4, 7, 8, 9, 10, 11)],
    )
    message = fails_cleanly(train_images(images))
    assert message == (
        "error: data/img_train.csv: 7 row(s) (first: 2, 5, 8, 9, 10) need a label and label_idx "
        f"of one class: {CLASSES}.\n"
    )


# ---------------------------------------------------------------------------- pictures and articles


def test_missing_and_broken_pictures_are_one_line_before_training(images):
    rows = read_csv_rows(images / "data" / "img_train.csv")
    for row in (rows[1], rows[6]):
        (images / row["image"]).unlink()
    (images / rows[3]["image"]).write_text("this is not a picture")
    truncated = images / rows[4]["image"]
    truncated.write_bytes(truncated.read_bytes()[:600])
    message = fails_cleanly(train_images(images))
    assert len(message.splitlines()) == 1 and "epoch" not in message
    assert "data/img_train.csv: 4 row(s) (first: 2, 4, 5, 7) name pictures that cannot be used" in (
        message
    )
    # The first, named as in the CSV, then where it was looked for (in DATA_DIR).
    written = rows[1]["image"]
    assert f"First: {written} cannot be read ([Errno 2] " in message
    assert f"{written.removeprefix('./')}')" in message


def test_a_folder_of_missing_pictures_is_one_line(images):
    for picture in (images / "data").glob("*/*.jpg"):
        picture.unlink()
    message = fails_cleanly(train_images(images))
    assert "data/img_train.csv: 12 row(s) (first: 1, 2, 3, 4, 5) name pictures" in message
    assert len(message.splitlines()) == 1


def odd_pictures(folder):
    """The same scene in the formats and modes people's files come in, and its 8-bit RGB."""
    base = Image.open(DATA / "axolotl" / "axolotl-1.jpg").convert("RGB").resize((80, 60))
    gray = np.asarray(base.convert("L"), dtype=np.float64)
    rgba = base.convert("RGBA")
    rgba.putalpha(128)
    pictures = {
        "rgba.png": rgba,
        "palette.png": base.convert("P"),
        "cmyk.jpg": base.convert("CMYK"),
        "gray.jpg": base.convert("L"),
        "sixteen.png": Image.fromarray((gray * 257).astype(np.uint16)),
        "thirty_two.tif": Image.fromarray((gray * 2**23).astype(np.int32), "I"),
        "float.tif": Image.fromarray((gray / 255).astype(np.float32), "F"),
        "picture.webp": base,
        "palette_transparent.png": rgba.convert("P"),
    }
    for name, picture in pictures.items():
        picture.save(folder / name)
    return sorted(pictures), base


def test_pictures_in_other_modes_and_formats_are_converted(tmp_path, monkeypatch):
    names, base = odd_pictures(tmp_path)
    rows = [
        {"image": str(tmp_path / n), "prompt": "p", "label": "axolotl", "label_idx": 0}
        for n in names
    ]
    write_csv_rows(tmp_path / "img_train.csv", rows)
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    dataset = ic.CsvImageDataset(tmp_path / "img_train.csv")
    assert dataset.images.shape == (len(names), 3, 32, 32)
    gray = torch.tensor(np.asarray(base.convert("L"))).float()
    for name in ("sixteen.png", "float.tif"):  # white: 65535, and 1.0
        picture = dataset.images[names.index(name)].float()
        assert (picture - gray.mean()).abs().mean() < 60, name  # not black, not white
        assert (picture - dataset.images[names.index("sixteen.png")]).abs().max() <= 1, name
    # 32-bit integers far above 16-bit white: the brightest value is white.
    thirty_two = dataset.images[names.index("thirty_two.tif")].float()
    stretched = dataset.images[names.index("sixteen.png")].float() * 255 / gray.max()
    assert (thirty_two - stretched).abs().max() < 2


def test_transparent_pictures_are_shown_over_white(tmp_path, monkeypatch):
    """A transparent picture is composed over white, as a browser shows it (not over black)."""
    rgba = Image.new("RGBA", (40, 40), (200, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 40, 20))  # the top half: fully transparent black
    rgba.save(tmp_path / "half.png")
    write_csv_rows(
        tmp_path / "img_train.csv",
        [{"image": str(tmp_path / "half.png"), "prompt": "p", "label": "a", "label_idx": 0}],
    )
    monkeypatch.setattr(ic, "IMG_SIZE", 8)
    picture = ic.CsvImageDataset(tmp_path / "img_train.csv").images[0]
    assert (picture[:, :3] >= 250).all()  # white
    assert picture[0, 5:].float().mean() > 150 and picture[1:, 5:].float().mean() < 30  # red


def test_empty_articles_are_listed(texts):
    edit_csv(
        texts / "data" / "txt_train.csv",
        lambda rows: [rows[i].update(article=" \n ") for i in (0, 9)],
    )
    message = fails_cleanly(train_texts(texts))
    assert "data/txt_train.csv: 2 row(s) (first: 1, 10) have an empty article." in message


def test_predict_on_a_file_that_is_not_our_checkpoint(tmp_path):
    for script, junk in (("img_classifier.py", b"not a checkpoint"), ("txt_classifier.py", None)):
        folder = tmp_path / script
        (folder / "runs" / "mine").mkdir(parents=True)
        (folder / "runs" / "mine" / "summary.json").write_text(json.dumps({"settings": {}}))
        if junk:
            (folder / "runs" / "mine" / "checkpoint.pth").write_bytes(junk)
        else:
            torch.save({"format": "someone-else/1"}, folder / "runs" / "mine" / "checkpoint.pth")
        message = fails_cleanly(
            run_in_process(script, "--run_name", "mine", "--predict", "x", cwd=folder)
        )
        assert f"no model {script} can read in runs/mine" in message


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
    assert not (tmp_path / "runs" / "too-fast").exists()  # it saved nothing
    flag = message.split("Start again with a smaller one: ")[1].strip()
    assert flag == "--learning_rate 0.001"
    again = run_in_process(
        "img_classifier.py", *args, *flag.split(), cwd=tmp_path, env={"WANDB_MODE": "disabled"}
    )
    assert again.returncode == 0, again.stderr[-2000:]


def test_text_divergence_in_the_first_epoch(texts):
    message = fails_cleanly(
        train_texts(texts, "--optimizer", "sgd", "--lr", "1e18", "--run_name", "x")
    )
    assert "sgd with learning rate 1e+18" in message
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
    said = "Carry on with the same command plus "
    assert said in text, text[-3000:]
    more = shlex.split(text.split(said)[1].splitlines()[0])
    resumed = run_in_process(script, *args, *more, cwd=folder, env={"WANDB_MODE": "disabled"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming {args[args.index('--run_name') + 1]}" in resumed.stdout
    return text


def same_final_metrics(folder, first, second):
    a, b = summary_of(folder, first), summary_of(folder, second)
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


def test_a_failed_save_keeps_the_checkpoint_before(tmp_path, monkeypatch):
    """A save that fails half-way (a full disk, a stop) leaves the previous checkpoint whole."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    wandb_run = SimpleNamespace(id="x")
    monkeypatch.setattr(ic.wandb, "run", wandb_run)
    ic.save(tmp_path, {"epoch": 1}, model, optimizer, scaler, ["a", "b"])
    before = (tmp_path / "checkpoint.pth").read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # a lambda cannot be pickled
        ic.save(tmp_path, {"epoch": 2}, model, optimizer, scaler, [lambda: None])
    assert (tmp_path / "checkpoint.pth").read_bytes() == before
    assert torch.load(tmp_path / "checkpoint.pth", weights_only=True)["summary"]["epoch"] == 1
    # The summary is written after the checkpoint: it never tells of an epoch that is not saved.
    assert json.loads((tmp_path / "summary.json").read_text())["epoch"] == 1


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


def test_two_live_runs_under_one_name_each_get_a_folder_but_one_run_is_resumed_once(tmp_path):
    """Sweep agents side by side: both run, in folders of their own. Carrying on a run that is
    still being written (twice the same --resume) is refused in one line."""
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
        if line.startswith("epoch 1/3"):
            break
    second = run_in_process("txt_classifier.py", *args, "--n_epochs", 1, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    again = run_in_process(
        "txt_classifier.py", *args, "--resume", "--run_name", "same", cwd=tmp_path
    )
    message = fails_cleanly(again)
    assert message == "error: another run is writing to runs/same right now: wait for it.\n"
    assert first.wait(timeout=300) == 0, first.stdout.read()[-2000:]
    assert (
        summary_of(tmp_path, "same")["epoch"] == 3 and summary_of(tmp_path, "same-2")["epoch"] == 1
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
    assert summary_of(texts, "no-network")["epoch"] == 1
    assert time.time() - started < 60


def test_a_wandb_mode_wandb_does_not_know_stops_before_training(texts):
    """A WANDB_MODE wandb rejects would make every wandb.init fail: said at once, in one line."""
    message = fails_cleanly(
        run_in_process(
            "txt_classifier.py", "--n_epochs", 1, cwd=texts, env={"WANDB_MODE": "ofline"}
        )
    )
    assert "WANDB_MODE=ofline is not a mode wandb knows" in message
    assert len(message.strip().splitlines()) == 1


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
