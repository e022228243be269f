"""img_classifier.py: models, data, precision, settings, and whole runs as a user starts them."""

import contextlib
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import wandb
from conftest import ROOT, run_in_process, run_script, write_csv_rows
from PIL import Image
from wandb_records import offline_runs, run_named

import img_classifier as ic

# ----------------------------------------------------------------------------- models


def test_mlp_has_the_course_parameter_count():
    assert ic.count_parameters(ic.MLP()) == 100_928_003


def test_cnn_follows_the_course_graph_stage_by_stage():
    model = ic.CNN()
    shapes = {}
    for name, module in model.named_children():
        module.register_forward_hook(
            lambda m, i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
    model(torch.zeros(2, 3, 256, 256))
    assert shapes == {
        "patchify": (2, 128, 64, 64),
        "norm1": (2, 128, 64, 64),
        "conv": (2, 128, 64, 64),
        "norm2": (2, 128, 64, 64),
        "expand": (2, 256, 64, 64),
        "act": (2, 256, 64, 64),
        "project": (2, 128, 64, 64),
        "pool": (2, 128, 32, 32),
        "flatten": (2, 128 * 32 * 32),
        "linear": (2, 3),
    }
    assert isinstance(model.norm1, torch.nn.LayerNorm) and isinstance(model.act, torch.nn.GELU)
    assert ic.count_parameters(model) == 3_365_507


def test_grayscale_is_the_luma_of_the_picture_and_the_models_adapt():
    images = torch.tensor(
        [[[[255]], [[0]], [[0]]], [[[0]], [[255]], [[0]]], [[[255]], [[255]], [[255]]]],
        dtype=torch.uint8,
    )  # a red, a green and a white pixel
    x = ic.normalize(images, grayscale=True)
    assert x.shape == (3, 1, 1, 1)
    # Luma 0.2989 R + 0.587 G + 0.114 B (torchvision's; white is 0.9999), normalised by the luma of
    # ImageNet's mean and spread, with ITU-R 601's weights (0.299, 0.587, 0.114).
    mean = 0.299 * 0.485 + 0.587 * 0.456 + 0.114 * 0.406
    std = 0.299 * 0.229 + 0.587 * 0.224 + 0.114 * 0.225
    assert (ic.GRAY_MEAN, ic.GRAY_STD) == pytest.approx((mean, std), abs=1e-6)
    expected = torch.tensor([(0.2989 - mean) / std, (0.587 - mean) / std, (0.9999 - mean) / std])
    torch.testing.assert_close(x.flatten(), expected, atol=1e-5, rtol=0)
    cfg = {"model": "mlp", "grayscale": True, "img_size": 32}
    assert (
        ic.count_parameters(ic.build_model(cfg, num_classes=3))
        == 32 * 32 * 512 + 512 + 512 * 512 + 512 + 512 * 3 + 3
    )
    cnn = ic.build_model(dict(cfg, model="cnn"), num_classes=3)
    assert cnn.patchify.in_channels == 1 and cnn(torch.zeros(2, 1, 32, 32)).shape == (2, 3)


def test_the_cnn_head_runs_in_fp32_under_cpu_bf16():
    """oneDNN's bf16 matrix multiply dies with SIGFPE on CPUs with AMX at the CNN head's shape
    (batch 12 x 131,072 inputs), so the head must never run in bf16. Checked on a small input,
    whatever this CPU has: the head's input and output stay fp32 under bf16 autocast."""
    model = ic.CNN(img_size=32)
    seen = {}
    model.linear.register_forward_hook(
        lambda m, inputs, out: seen.update(input=inputs[0].dtype, output=out.dtype)
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.zeros(2, 3, 32, 32))
    assert seen == {"input": torch.float32, "output": torch.float32}


# ----------------------------------------------------------------------------- precision

AMX = {"native_bf16": True, "amx": True, "fast_bf16": True}
INTEL_AVX512_BF16 = {"native_bf16": True, "amx": False, "fast_bf16": False}
AMD_AVX512_BF16 = {"native_bf16": True, "amx": False, "fast_bf16": True}
NO_BF16 = {"native_bf16": False, "amx": False, "fast_bf16": False}


@pytest.mark.parametrize(
    "setting, model, cpu, expected",
    [
        ("auto", "cnn", AMX, "bf16"),  # measured 3-4x faster
        ("auto", "cnn", AMD_AVX512_BF16, "bf16"),  # measured about 2x faster
        ("auto", "cnn", INTEL_AVX512_BF16, "off"),  # measured slower
        ("auto", "cnn", NO_BF16, "off"),  # emulated bf16: about 36x slower
        ("auto", "mlp", AMX, "off"),  # slower for the MLP everywhere measured
        ("auto", "mlp", AMD_AVX512_BF16, "off"),
        ("bf16", "mlp", AMX, "off"),  # would crash: refused with a reason
        ("bf16", "mlp", INTEL_AVX512_BF16, "bf16"),  # slower, but it is what was asked for
        ("bf16", "cnn", NO_BF16, "bf16"),  # asked for: done, with a warning (below)
        ("off", "cnn", AMX, "off"),
    ],
)
def test_mixed_precision_on_a_cpu_follows_what_the_cpu_reports(
    setting, model, cpu, expected, capsys
):
    cfg = {"mixed_precision": setting, "model": model}
    precision = ic.choose_precision(cfg, torch.device("cpu"), cpu=cpu)
    assert precision.name == expected
    out = capsys.readouterr().out
    assert out.count("mixed precision: ") == 1 and f"mixed precision: {expected} (" in out
    assert precision.autocast.fast_dtype == torch.bfloat16 and precision.autocast._enabled == (
        expected == "bf16"
    )
    assert not precision.scaler.is_enabled()  # loss scaling is for fp16 only


def test_asking_for_bf16_on_a_cpu_without_it_warns_once_with_the_cost(capsys):
    cfg = {"mixed_precision": "bf16", "model": "cnn"}
    ic.choose_precision(cfg, torch.device("cpu"), cpu=NO_BF16)
    out = capsys.readouterr().out
    assert out.count("warning") == 1 and "no native bf16" in out and "20 times slower" in out
    ic.choose_precision(cfg, torch.device("cpu"), cpu=AMD_AVX512_BF16)
    assert "warning" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "capability, expected",
    [
        ((7, 5), "fp16"),  # T4 (Colab's free GPU): bf16 only emulated
        ((7, 0), "fp16"),  # V100
        ((8, 0), "bf16"),  # A100
        ((8, 9), "bf16"),  # L4, RTX 40xx
        ((9, 0), "bf16"),  # H100, H200
    ],
)
def test_mixed_precision_on_a_gpu_is_bf16_only_where_the_gpu_has_it_natively(capability, expected):
    cfg = {"mixed_precision": "auto", "model": "cnn"}
    cuda = torch.device("cuda")
    precision = ic.choose_precision(cfg, cuda, cpu=NO_BF16, gpu_capability=capability)
    assert precision.name == expected and precision.memory_format == torch.channels_last
    off = ic.choose_precision(dict(cfg, mixed_precision="off"), cuda, gpu_capability=capability)
    assert off.name == "off"


def test_cpu_features_read_torchs_report_and_a_cap_on_onednn():
    amd = {"cpu_name": "AMD EPYC 9654", "avx512_bf16": True, "amx_bf16": False}
    assert ic.cpu_features(amd, "ALL") == AMD_AVX512_BF16
    intel = {"cpu_name": "Intel(R) Xeon(R) Platinum 8480+", "avx512_bf16": True, "amx_bf16": True}
    assert ic.cpu_features(intel, "") == AMX
    assert ic.cpu_features(intel, "AVX512_CORE_BF16") == INTEL_AVX512_BF16
    assert ic.cpu_features(dict(intel, amx_bf16=False), "ALL") == INTEL_AVX512_BF16
    # oneDNN capped below bf16 (as the AVX2 test run and the benchmarks do): bf16 would be emulated.
    assert ic.cpu_features(intel, "AVX2") == NO_BF16
    assert ic.cpu_features(amd, "avx512_core") == NO_BF16


def test_cpu_features_agree_with_this_machines_cpuinfo():
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if not cpuinfo:
        pytest.skip("no /proc/cpuinfo on this system")
    features = ic.cpu_features(onednn_isa="ALL")
    assert features["amx"] == (" amx_bf16" in cpuinfo)
    assert features["native_bf16"] == (" avx512_bf16" in cpuinfo or " amx_bf16" in cpuinfo)
    amd = "AuthenticAMD" in cpuinfo
    assert features["fast_bf16"] == (" amx_bf16" in cpuinfo or amd and " avx512_bf16" in cpuinfo)


# ----------------------------------------------------------------------------- data


def test_dataset_reads_quoted_multiline_prompts_and_any_label_set(tmp_path):
    """A two-class CSV in the course format, prompts with commas, quotes and newlines."""
    (tmp_path / "pics").mkdir()
    sizes = [(300, 200), (120, 90), (200, 400)]  # landscape, smaller than the target, portrait
    rows = []
    for i, size in enumerate(sizes):
        Image.new("RGB", size, (40 * i, 100, 200)).save(tmp_path / "pics" / f"p{i}.jpg")
        rows.append(
            {
                "image": f"./pics/p{i}.jpg",
                "prompt": f'a "cat", number {i},\nsitting',
                "label": ["cat", "dog"][i % 2],
                "label_idx": i % 2,
            }
        )
    write_csv_rows(tmp_path / "train.csv", rows)
    dataset = ic.CsvImageDataset(tmp_path / "train.csv", img_size=32)
    assert len(dataset) == 3
    image, label = dataset[2]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8 and label.item() == 0
    assert dataset.class_names == {0: "cat", 1: "dog"}
    model = ic.build_model({"model": "cnn", "grayscale": False, "img_size": 32}, num_classes=2)
    assert model(ic.normalize(dataset.images, grayscale=False)).shape == (3, 2)


def test_data_dirs_own_pictures_win_over_same_named_files_where_the_run_starts(tmp_path):
    """The course's CSVs name `./data/parrot/parrot-1.jpg`; run with --data_dir elsewhere (or a
    data folder of another name) from a folder that has its own data/parrot/parrot-1.jpg, the
    picture read is DATA_DIR's."""
    here = tmp_path / "project"
    elsewhere = tmp_path / "course-images"
    for folder, colour in ((here / "data", "red"), (elsewhere, "blue")):
        (folder / "parrot").mkdir(parents=True)
        Image.new("RGB", (40, 40), colour).save(folder / "parrot" / "parrot-1.jpg")
    row = {"image": "./data/parrot/parrot-1.jpg", "prompt": "p", "label": "parrot", "label_idx": 0}
    write_csv_rows(elsewhere / "img_train.csv", [row])
    with contextlib.chdir(here):
        dataset = ic.CsvImageDataset(Path("..") / "course-images" / "img_train.csv", 8)
    blue = dataset.images[0].float().mean(dim=(1, 2))
    assert blue[2] > 200 and blue[0] < 50


def sideways_photo(folder):
    """A portrait photo as a phone stores it: pixels turned on their side, and an EXIF tag
    (orientation 6) saying to turn them back. Also the same photo upright, saved losslessly."""
    with Image.open(ROOT / "data" / "parrot" / "parrot-1.jpg") as source:
        portrait = source.convert("RGB").resize(
            (210, 300)
        )  # under 2x256, so no reduced-size decoding
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    portrait.transpose(Image.Transpose.ROTATE_90).save(
        folder / "sideways.jpg", exif=exif, quality=90
    )
    with Image.open(
        folder / "sideways.jpg"
    ) as stored:  # the pixels the camera wrote, turned upright
        stored.transpose(Image.Transpose.ROTATE_270).save(folder / "upright.png")
    return folder / "sideways.jpg", folder / "upright.png"


def test_exif_orientation_is_applied_when_decoding(tmp_path):
    sideways, upright = sideways_photo(tmp_path)
    assert torch.equal(ic.load_image(sideways, 256), ic.load_image(upright, 256))
    with Image.open(sideways) as img:
        assert img.size == (
            300,
            210,
        )  # stored landscape: without the tag, the crop would be another picture
    write_csv_rows(
        tmp_path / "img_train.csv",
        [
            {"image": str(p), "prompt": "p", "label": "parrot", "label_idx": 0}
            for p in (sideways, upright)
        ],
    )
    dataset = ic.CsvImageDataset(tmp_path / "img_train.csv", 64)
    assert torch.equal(dataset.images[0], dataset.images[1])


def one_epoch_and_an_evaluation(cfg, images):
    """What the model is given in one training pass and one evaluation over `images` (batches of
    3)."""
    dataset = torch.utils.data.TensorDataset(images, torch.zeros(len(images), dtype=torch.long))
    dataset.labels = dataset.tensors[1]
    loader = torch.utils.data.DataLoader(dataset, batch_size=3)
    model, seen = ic.MLP(img_size=images.shape[-1]), {"train": [], "eval": []}
    model.register_forward_pre_hook(
        lambda m, args: seen["train" if m.training else "eval"].append(args[0].clone())
    )
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    cpu = torch.device("cpu")
    precision = ic.choose_precision({"mixed_precision": "off", "model": "mlp"}, cpu)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    run = wandb.init(mode="disabled")
    ic.train_one_epoch(loader, model, loss_fn, optimizer, precision, cfg, cpu, 0, run)
    ic.evaluate({"test": loader}, model, loss_fn, precision, cfg, cpu)
    return torch.cat(seen["train"]), torch.cat(seen["eval"])


def test_augment_crops_and_flips_training_batches_only_and_repeats_with_its_seed():
    images = torch.randint(
        0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    cfg = {
        "augment": True,
        "img_size": 32,
        "grayscale": False,
        "learning_rate": 1e-3,
        "optimizer": "sgd",
    }
    torch.manual_seed(5)
    trained_on, evaluated_on = one_epoch_and_an_evaluation(cfg, images)
    plain = ic.normalize(images, grayscale=False)
    assert trained_on.shape == plain.shape and not torch.equal(
        trained_on, plain
    )  # training: new crops
    assert torch.equal(evaluated_on, plain)  # evaluation: the pictures as they are
    torch.manual_seed(5)
    assert torch.equal(
        one_epoch_and_an_evaluation(cfg, images)[0], trained_on
    )  # same seed, same crops
    assert torch.equal(
        one_epoch_and_an_evaluation(dict(cfg, augment=False), images)[0], plain
    )  # off: untouched


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("--model cnn --run_name new-model", {"model": "cnn", "run_name": "new-model"}),
        ("--grayscale --run_name grayscale", {"grayscale": True}),
        (
            "--optimizer adadelta --learning_rate 1.0",
            {"optimizer": "adadelta", "learning_rate": 1.0},
        ),
        ("--lr 0.5 --epochs 3", {"learning_rate": 0.5, "n_epochs": 3}),
        (
            "--grayscale=True --augment=false --log_images=False",
            {"grayscale": True, "augment": False, "log_images": False},
        ),
        ("--learning_rate=0.01 --grayscale=False", {"learning_rate": 0.01, "grayscale": False}),
    ],
)
def test_the_course_commands_and_a_sweep_agents_flags_parse_as_written(flags, expected):
    cfg, _ = ic.parse_settings(flags.split())
    assert {k: cfg[k] for k in expected} == expected


def test_defaults_are_the_course_baseline():
    cfg, _ = ic.parse_settings([])
    assert {
        k: cfg[k]
        for k in (
            "model",
            "optimizer",
            "learning_rate",
            "batch_size",
            "n_epochs",
            "grayscale",
            "run_name",
        )
    } == {
        "model": "mlp",
        "optimizer": "sgd",
        "learning_rate": 1e-3,
        "batch_size": 8,
        "n_epochs": 5,
        "grayscale": False,
        "run_name": "neural-the-narwhal",
    }
    assert set(cfg) == {name.lower() for name in ic.SETTINGS}


def test_help_lists_each_setting_with_its_comment_and_default(capsys):
    with pytest.raises(SystemExit):
        ic.parse_settings(["--help"])
    out = capsys.readouterr().out
    assert (
        "--batch_size" in out
        and "training examples per optimiser step (per process, under torchrun) (default: 8)"
        in " ".join(out.split())
    )
    assert "--grayscale" in out and "--predict" in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["--modle", "cnn"], "unrecognized arguments: --modle cnn"),
        (["--batch_size", "eight"], "invalid int value: 'eight'"),
        (["--model", "resnet"], "MODEL must be one of mlp, cnn, got 'resnet'"),
        (["--batch_size", "0"], "BATCH_SIZE must be at least 1, got 0"),
        (["--learning_rate", "-1"], "LEARNING_RATE must be at least 0"),
        (["--learning_rate", "nan"], "LEARNING_RATE must be at least 0"),
        (["--grayscale=maybe"], "invalid true_or_false value: 'maybe'"),
        (["--img_size", "4"], "IMG_SIZE must be at least 8"),
        (["--device", "cuda" if not torch.cuda.is_available() else "mps"], "finds no"),
    ],
)
def test_a_bad_setting_is_one_line_without_traceback(tmp_path, monkeypatch, capsys, args, says):
    """main() as the command line runs it (an exception escaping it would fail the test)."""
    monkeypatch.chdir(tmp_path)
    try:
        code = ic.main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert (
        code == 2
        and says in err
        and len(err.strip().splitlines()) == 1
        and not (tmp_path / "runs").exists()
    )


def test_a_misspelt_flag_is_one_line_from_the_command_line(tmp_path):
    result = run_script("img_classifier.py", "--modle", "cnn", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == (
        "img_classifier.py: error: unrecognized arguments: --modle cnn"
    )


# ----------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def trained(small_images):
    """One epoch on a slice of the sample data, as a user would start it."""
    result = run_script("img_classifier.py", "--n_epochs", 1, "--run_name", "e2e", cwd=small_images)
    assert result.returncode == 0, result.stderr[-3000:]
    return small_images, result


def test_test_accuracy_reported_logged_and_saved_is_the_saved_models_own(trained):
    """Computed again here from model.pth, with no help from the script's training code: the test
    pictures' labels read from the CSV, the weights loaded into a plain MLP."""
    folder, result = trained
    with open(folder / "data" / "img_test.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    weights = torch.load(folder / "runs" / "e2e" / "model.pth", weights_only=True)["model_state"]
    model = ic.MLP()
    model.load_state_dict(weights)
    pictures = torch.stack([ic.load_image(folder / row["image"]) for row in rows]).float() / 255
    pictures = (pictures - torch.tensor(ic.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        ic.IMAGENET_STD
    ).view(1, 3, 1, 1)
    with torch.inference_mode():
        predicted = model.eval()(pictures).argmax(1).tolist()
    accuracy = sum(
        p == int(row["label_idx"]) for p, row in zip(predicted, rows, strict=True)
    ) / len(rows)
    summary = json.loads((folder / "runs" / "e2e" / "summary.json").read_text())
    logged = [row for row in run_named(folder, "e2e")["history"] if "epoch" in row][-1]
    assert summary["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)  # one picture is 0.11
    assert logged["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert re.search(rf"test {re.escape(format(accuracy, '.1%'))} \(", result.stdout)
    assert (
        summary["num_parameters"] == 100_928_003
        and summary["epochs"] == 1
        and summary["examples_seen"] == 24
    )
    assert "100,928,003 parameters" in result.stdout
    assert "it/s" not in result.stderr and "train:" not in result.stderr  # no progress bar in a log
    assert (
        not (folder / "runs" / "e2e" / "resume.pth").exists()
        and not (folder / "runs" / "e2e" / "run.lock").exists()
    )


def test_offline_wandb_run_holds_batch_and_epoch_metrics_and_captioned_images(trained):
    folder, _ = trained
    run = run_named(folder, "e2e")
    assert run["config"]["run_name"] == "e2e" and run["config"]["model"] == "mlp"
    batches = [row for row in run["history"] if "batch_loss" in row]
    assert [row["examples_seen"] for row in batches] == [8, 16, 24]  # 24 training images, batch 8
    epochs = [row for row in run["history"] if "epoch" in row]
    assert len(epochs) == 1 and epochs[0]["epoch"] == 1
    for split in ("train", "val", "test"):
        assert {f"{split}_accuracy", f"{split}_loss"} <= epochs[0].keys()
        captions = epochs[0][f"predictions/{split}/captions"]
        assert len(captions) == (24 if split == "train" else 9)
        assert all(
            c.count(" / ") == 1 and c.split(" / ")[1] in ("parrot", "narwhal", "axolotl")
            for c in captions
        )
    assert (
        run["metrics"]["batch_loss"] == "examples_seen"
        and run["metrics"]["val_accuracy"] == "epoch"
    )
    assert run["summary"]["num_parameters"] == 100_928_003
    assert any(key.startswith("test_confusion_matrix") for row in run["history"] for key in row)


def test_captions_are_the_models_verdicts_on_the_pictures_shown(trained):
    folder, _ = trained
    model, checkpoint = ic.load_checkpoint(folder / "runs" / "e2e" / "model.pth")
    names = checkpoint["class_names"]
    test = ic.CsvImageDataset(folder / "data" / "img_test.csv")
    with torch.inference_mode():
        predicted = model(ic.normalize(test.images, False)).argmax(1).tolist()
    captions = next(row for row in run_named(folder, "e2e")["history"] if "epoch" in row)[
        "predictions/test/captions"
    ]
    assert captions == [
        f"{names[p]} / {names[t]}" for p, t in zip(predicted, test.labels.tolist(), strict=True)
    ]


def test_one_epoch_of_the_cnn_with_adam_end_to_end(small_images, tmp_path):
    """The course's second model with another optimiser: trains, and the saved model scores what
    the run reported (measured in the precision the run chose)."""
    result = run_in_process(
        "img_classifier.py",
        "--n_epochs",
        1,
        "--model",
        "cnn",
        "--optimizer",
        "adam",
        "--img_size",
        64,
        "--log_images=False",
        "--run_name",
        "cnn-adam",
        "--data_dir",
        small_images / "data",
        cwd=tmp_path,
        env={"WANDB_MODE": "disabled"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "runs" / "cnn-adam" / "summary.json").read_text())
    assert summary["settings"]["optimizer"] == "adam" and summary[
        "num_parameters"
    ] == ic.count_parameters(ic.CNN(img_size=64))
    model, _ = ic.load_checkpoint(tmp_path / "runs" / "cnn-adam" / "model.pth")
    test = ic.CsvImageDataset(small_images / "data" / "img_test.csv", 64)
    with (
        torch.inference_mode(),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=summary["mixed_precision"] == "bf16"),
    ):
        predictions = model(ic.normalize(test.images, False)).argmax(1)
    assert (predictions == test.labels).float().mean().item() == pytest.approx(
        summary["test_accuracy"], abs=1e-9
    )


def test_same_seed_same_numbers(trained):
    folder, _ = trained
    again = run_in_process(
        "img_classifier.py",
        "--n_epochs",
        1,
        "--run_name",
        "e2e-again",
        cwd=folder,
        env={"WANDB_MODE": "disabled"},
    )
    assert again.returncode == 0, again.stderr[-3000:]
    first, second = (
        json.loads((folder / "runs" / name / "summary.json").read_text())
        for name in ("e2e", "e2e-again")
    )
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert first[key] == second[key], key
    for key in ("train_loss", "val_loss", "test_loss"):  # MKL may round the last bits differently
        assert first[key] == pytest.approx(second[key], rel=1e-6), key


def predicted_shares(line):
    """{class: percentage} from a --predict line `path: class (parrot 12.3%, narwhal ...)`."""
    return {
        part.rsplit(" ", 1)[0]: float(part.rsplit(" ", 1)[1].rstrip("%"))
        for part in line.split("(", 1)[1].rstrip(")").split(", ")
    }


def test_predict_prints_what_the_model_computes_for_the_picture(trained):
    folder, _ = trained
    pictures = sorted(Path(folder, "data", "parrot").glob("*.jpg"))[:2]
    result = run_in_process(
        "img_classifier.py", "--run_name", "e2e", "--predict", *pictures, cwd=folder
    )
    assert result.returncode == 0, result.stderr
    model, checkpoint = ic.load_checkpoint(folder / "runs" / "e2e" / "model.pth")
    images = torch.stack([ic.load_image(p, 256) for p in pictures])
    with torch.inference_mode():
        probabilities = model(ic.normalize(images, grayscale=False)).softmax(1)
    for line, picture, expected in zip(
        result.stdout.strip().splitlines(), pictures, probabilities, strict=True
    ):
        names = checkpoint["class_names"]
        assert line.startswith(f"{picture}: {names[expected.argmax()]} (")
        assert predicted_shares(line) == pytest.approx(
            {n: 100 * p for n, p in zip(names, expected.tolist(), strict=True)}, abs=0.051
        )


def logged_pictures(folder, run_name, split):
    """The pictures an offline run wrote for predictions/<split>, in the order they were logged."""
    run = run_named(folder, run_name)
    row = next(row for row in run["history"] if f"predictions/{split}/filenames" in row)
    return [
        np.asarray(Image.open(run["dir"] / "files" / name))
        for name in row[f"predictions/{split}/filenames"]
    ]


def test_logged_pictures_are_the_inputs_made_viewable(trained):
    """wandb 0.31 casts float arrays to uint8 without scaling (black pictures): what it wrote
    must be the decoded pictures themselves."""
    folder, _ = trained
    for split in ("train", "val", "test"):
        store = ic.CsvImageDataset(folder / "data" / f"img_{split}.csv").images
        pictures = logged_pictures(folder, "e2e", split)
        assert len(pictures) == min(len(store), 64)
        for picture, stored in zip(pictures, store, strict=True):
            assert np.array_equal(picture, stored.permute(1, 2, 0).numpy())


def test_logged_grayscale_pictures_are_the_one_channel_inputs(small_images, tmp_path):
    result = run_script(
        "img_classifier.py",
        "--n_epochs",
        1,
        "--grayscale",
        "--img_size",
        32,
        "--run_name",
        "gray",
        "--data_dir",
        small_images / "data",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    store = ic.CsvImageDataset(small_images / "data" / "img_test.csv", 32).images.float()
    luma = (store * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1)  # Pillow's "L"
    pictures = logged_pictures(tmp_path, "gray", "test")
    assert len(pictures) == 9 and all(p.shape == (32, 32) for p in pictures)  # one channel: mode L
    for picture, expected in zip(pictures, luma, strict=True):
        assert np.abs(picture.astype(float) - expected.numpy()).max() <= 0.5 + 1e-4
    # --predict on the grayscale model turns the picture to one channel, as training did.
    model, checkpoint = ic.load_checkpoint(tmp_path / "runs" / "gray" / "model.pth")
    test = ic.CsvImageDataset(small_images / "data" / "img_test.csv", 32)
    with torch.inference_mode():
        evaluated = model(ic.normalize(test.images, grayscale=True)).softmax(1)
    predicted = run_in_process(
        "img_classifier.py",
        "--run_name",
        "gray",
        "--predict",
        *(p.resolve() for p in test.paths),
        cwd=tmp_path,
    )
    assert predicted.returncode == 0, predicted.stderr
    for line, expected in zip(predicted.stdout.strip().splitlines(), evaluated, strict=True):
        assert predicted_shares(line) == pytest.approx(
            {n: 100 * p for n, p in zip(checkpoint["class_names"], expected.tolist(), strict=True)},
            abs=0.051,
        )


def test_confusion_matrix_in_wandb_counts_the_test_predictions(trained):
    """The logged confusion matrix holds, for every (true, predicted) pair, how many test
    pictures the saved model puts there."""
    folder, _ = trained
    run = run_named(folder, "e2e")
    table = next(row for row in run["history"] if "test_confusion_matrix_table/path" in row)
    data = json.loads(
        (run["dir"] / "files" / table["test_confusion_matrix_table/path"]).read_text()
    )
    logged = {(actual, predicted): count for actual, predicted, count in data["data"]}
    model, checkpoint = ic.load_checkpoint(folder / "runs" / "e2e" / "model.pth")
    test = ic.CsvImageDataset(folder / "data" / "img_test.csv")
    with torch.inference_mode():
        predictions = model(ic.normalize(test.images, grayscale=False)).argmax(1)
    names = checkpoint["class_names"]
    expected = {(a, p): 0 for a in names for p in names}
    for t, p in zip(test.labels.tolist(), predictions.tolist(), strict=True):
        expected[names[t], names[p]] += 1
    assert logged == expected


def test_predict_turns_a_sideways_photo_upright(trained, tmp_path):
    folder, _ = trained
    sideways, upright = sideways_photo(tmp_path)
    result = run_in_process(
        "img_classifier.py", "--run_name", "e2e", "--predict", sideways, upright, cwd=folder
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first.removeprefix(f"{sideways}: ") == second.removeprefix(f"{upright}: ")


def test_predict_on_a_file_that_is_not_a_picture(trained, tmp_path):
    folder, _ = trained
    (tmp_path / "notapicture.jpg").write_text("hello")
    result = run_in_process(
        "img_classifier.py",
        "--run_name",
        "e2e",
        "--predict",
        tmp_path / "notapicture.jpg",
        cwd=folder,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "notapicture.jpg cannot be read" in message


def test_predict_without_a_trained_model_says_what_to_do(tmp_path):
    result = run_in_process(
        "img_classifier.py", "--run_name", "never-trained", "--predict", "x.jpg", cwd=tmp_path
    )
    assert (
        result.returncode == 2
        and "no model img_classifier.py can read at" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_without_credentials_it_logs_offline_and_says_how_to_upload(small_images, tmp_path):
    """No WANDB_MODE, no API key, no ~/.netrc, no terminal: offline, never a login prompt."""
    home = tmp_path / "home"
    home.mkdir()
    result = run_script(
        "img_classifier.py",
        "--n_epochs",
        1,
        "--run_name",
        "no-account",
        "--log_images=False",
        "--img_size",
        32,
        "--data_dir",
        small_images / "data",
        "--out_dir",
        tmp_path / "runs",
        cwd=tmp_path,
        env={
            "WANDB_MODE": None,
            "WANDB_SILENT": None,
            "WANDB_API_KEY": None,
            "HOME": str(home),
            "WANDB_CONFIG_DIR": str(home / ".config" / "wandb"),
        },
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wandb sync" in result.stderr  # wandb's own word on uploading later
    assert offline_runs(tmp_path)  # ran from elsewhere: images found through --data_dir
