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
from conftest import ROOT, run_in_process, run_script, summary_of, write_csv_rows
from PIL import Image
from wandb_records import offline_runs, run_named

import img_classifier as ic


def parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- models


def test_mlp_has_the_course_parameter_count():
    assert parameters(ic.MLP()) == 100_928_003


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
    assert parameters(model) == 3_365_507


def test_grayscale_is_the_luma_of_the_picture_and_the_models_adapt(monkeypatch):
    images = torch.tensor(
        [[[[255]], [[0]], [[0]]], [[[0]], [[255]], [[0]]], [[[255]], [[255]], [[255]]]],
        dtype=torch.uint8,
    )  # a red, a green and a white pixel
    monkeypatch.setattr(ic, "GRAYSCALE", True)
    x = ic.normalize(images)
    assert x.shape == (3, 1, 1, 1)
    # Luma 0.2989 R + 0.587 G + 0.114 B (torchvision's; white is 0.9999), normalised by the luma of
    # ImageNet's mean and spread, with ITU-R 601's weights (0.299, 0.587, 0.114).
    mean = 0.299 * 0.485 + 0.587 * 0.456 + 0.114 * 0.406
    std = 0.299 * 0.229 + 0.587 * 0.224 + 0.114 * 0.225
    assert (ic.GRAY_MEAN, ic.GRAY_STD) == pytest.approx((mean, std), abs=1e-6)
    expected = torch.tensor([(0.2989 - mean) / std, (0.587 - mean) / std, (0.9999 - mean) / std])
    torch.testing.assert_close(x.flatten(), expected, atol=1e-5, rtol=0)
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    mlp = ic.build_model(num_classes=3)
    assert parameters(mlp) == 32 * 32 * 512 + 512 + 512 * 512 + 512 + 512 * 3 + 3
    monkeypatch.setattr(ic, "MODEL", "cnn")
    cnn = ic.build_model(num_classes=3)
    assert cnn.patchify.in_channels == 1 and cnn(torch.zeros(2, 1, 32, 32)).shape == (2, 3)


def test_the_cnn_head_runs_in_fp32_under_cpu_bf16():
    """oneDNN's bf16 matrix multiply has died with SIGFPE on a CPU with AMX at the CNN head's
    shape, so the head never runs in bf16: its input and output stay fp32 under bf16 autocast."""
    model = ic.CNN(img_size=32)
    seen = {}
    model.linear.register_forward_hook(
        lambda m, inputs, out: seen.update(input=inputs[0].dtype, output=out.dtype)
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.zeros(2, 3, 32, 32))
    assert seen == {"input": torch.float32, "output": torch.float32}


# ----------------------------------------------------------------------------- precision

AMX = {"cpu_name": "Intel(R) Xeon(R) Platinum 8480+", "avx512_bf16": True, "amx_bf16": True}
INTEL_AVX512_BF16 = {"cpu_name": "Intel(R) Xeon(R)", "avx512_bf16": True, "amx_bf16": False}
AMD_AVX512_BF16 = {"cpu_name": "AMD EPYC 9654", "avx512_bf16": True, "amx_bf16": False}
AVX2_ONLY = {"cpu_name": "AMD Ryzen 7 5800H", "avx512_bf16": False, "amx_bf16": False}


def precision_chosen(monkeypatch, setting, model, cpu, device="cpu", capability=None):
    """(what MIXED_PRECISION becomes for `model` on `device` with a CPU that reports `cpu`, the
    autocast, the scaler, the model)."""
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: cpu)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(ic, "MIXED_PRECISION", setting)
    monkeypatch.setattr(ic, "MODEL", model)
    network = ic.CNN(img_size=16) if model == "cnn" else ic.MLP(img_size=16)
    optimizer = torch.optim.SGD(network.parameters())
    autocast, scaler = ic.mixed_precision(torch.device(device), network, optimizer)
    name = {torch.bfloat16: "bf16", torch.float16: "fp16"}[autocast.fast_dtype]
    return (name if autocast._enabled else "off"), autocast, scaler, network


@pytest.mark.parametrize(
    "setting, model, cpu, expected",
    [
        ("auto", "cnn", AMX, "bf16"),  # measured 3-4x faster
        ("auto", "cnn", AMD_AVX512_BF16, "bf16"),  # measured about 2x faster
        ("auto", "cnn", INTEL_AVX512_BF16, "off"),  # measured slower
        ("auto", "cnn", AVX2_ONLY, "off"),  # emulated bf16: about 36x slower
        ("auto", "mlp", AMX, "off"),  # slower for the MLP everywhere measured
        ("auto", "mlp", AMD_AVX512_BF16, "off"),
        ("bf16", "mlp", AMX, "off"),  # would crash: refused
        ("bf16", "mlp", INTEL_AVX512_BF16, "bf16"),  # slower, but it is what was asked for
        ("bf16", "cnn", AVX2_ONLY, "bf16"),  # asked for: done
        ("off", "cnn", AMX, "off"),
    ],
)
def test_mixed_precision_on_a_cpu_follows_what_the_cpu_reports(
    monkeypatch, capsys, setting, model, cpu, expected
):
    chosen, _, scaler, network = precision_chosen(monkeypatch, setting, model, cpu)
    assert chosen == expected
    assert capsys.readouterr().out == f"mixed precision: {expected} (MIXED_PRECISION {setting})\n"
    assert not scaler.is_enabled()  # loss scaling is for fp16 only
    if model == "cnn":  # channels_last with bf16: AMX runs it 1.3 times as fast
        weight = network.conv.weight
        assert weight.is_contiguous(memory_format=torch.channels_last) == (expected == "bf16")


def test_a_capped_onednn_means_no_bf16(monkeypatch):
    """With ONEDNN_MAX_CPU_ISA set (the AVX2 test run, the benchmarks), oneDNN would emulate bf16:
    "auto" stays in fp32 even where the CPU has AMX."""
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: AMX)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setattr(ic, "MODEL", "cnn")
    model = ic.CNN(img_size=16)
    autocast, _ = ic.mixed_precision(
        torch.device("cpu"), model, torch.optim.SGD(model.parameters())
    )
    assert not autocast._enabled


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
def test_mixed_precision_on_a_gpu_is_bf16_only_where_the_gpu_has_it_natively(
    monkeypatch, capability, expected
):
    """Decided from the GPU's compute capability (the device itself is not used: this runs on any
    machine)."""
    monkeypatch.setattr(
        torch.amp,
        "GradScaler",
        lambda device, enabled: torch.amp.grad_scaler.GradScaler("cpu", enabled=enabled),
    )
    monkeypatch.setattr(
        torch,
        "autocast",
        lambda device, dtype, enabled: torch.amp.autocast("cpu", dtype, enabled=enabled),
    )
    chosen, _, scaler, _ = precision_chosen(
        monkeypatch, "auto", "cnn", AVX2_ONLY, "cuda", capability
    )
    assert chosen == expected and scaler.is_enabled() == (expected == "fp16")


def train_steps(model, optimizer, loss_fn, X, y, scaler=None, steps=12):
    """Steps under fp16 autocast (on the CPU): with `scaler`, the usual way, scaler.scale(loss)
    .backward(); scaler.step(optimizer); scaler.update(); without, as train_one_epoch steps."""
    for _ in range(steps):
        with torch.autocast("cpu", torch.float16):
            loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()


def test_fp16_loss_scaling_by_hooks_is_what_the_grad_scaler_does_by_hand():
    """The hooks keep the training step loss.backward(); optimizer.step(), and train what the
    usual three GradScaler lines train: the same steps skipped (the first, here, overflows), the
    same scale, the same weights up to rounding."""
    X = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (16,), generator=torch.Generator().manual_seed(1))
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    results = []
    for by_hand in (True, False):
        torch.manual_seed(2)
        model = ic.MLP(img_size=16)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**17)
        if not by_hand:
            ic.scale_losses(model, optimizer, scaler)
        train_steps(model, optimizer, loss_fn, X, y, scaler if by_hand else None)
        results.append((scaler.get_scale(), [p.detach().clone() for p in model.parameters()]))
    (scale_by_hand, by_hand), (scale_hooked, hooked) = results
    assert scale_by_hand == scale_hooked == 2.0**15  # halved once: the first step overflowed
    for a, b in zip(by_hand, hooked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    assert not torch.equal(hooked[0], ic.MLP(img_size=16).linear_relu_stack[0].weight)


# ----------------------------------------------------------------------------- data


def test_dataset_reads_quoted_multiline_prompts_and_any_label_set(tmp_path, monkeypatch):
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
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    dataset = ic.CsvImageDataset(tmp_path / "train.csv")
    assert len(dataset) == 3
    image, label = dataset[2]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8 and label.item() == 0
    assert dataset.class_names == ["cat", "dog"]
    monkeypatch.setattr(ic, "MODEL", "cnn")
    model = ic.build_model(num_classes=2)
    assert model(ic.normalize(dataset.images)).shape == (3, 2)


def two_pictures(folder, colours):
    """folder/<where>/parrot/parrot-1.jpg in one colour for each (where, colour)."""
    for where, colour in colours.items():
        (folder / where / "parrot").mkdir(parents=True)
        Image.new("RGB", (40, 40), colour).save(folder / where / "parrot" / "parrot-1.jpg")


def mean_colour(csv_file):
    return ic.CsvImageDataset(csv_file).images[0].float().mean(dim=(1, 2))


def test_data_dirs_own_pictures_win_over_same_named_files_where_the_run_starts(
    tmp_path, monkeypatch
):
    """The course's CSVs name `./data/parrot/parrot-1.jpg`; run with --data_dir elsewhere (or a
    data folder of another name) from a folder that has its own data/parrot/parrot-1.jpg, the
    picture read is DATA_DIR's."""
    two_pictures(tmp_path, {"project/data": "red", "course-images": "blue"})
    row = {"image": "./data/parrot/parrot-1.jpg", "prompt": "p", "label": "parrot", "label_idx": 0}
    write_csv_rows(tmp_path / "course-images" / "img_train.csv", [row])
    monkeypatch.setattr(ic, "IMG_SIZE", 8)
    with contextlib.chdir(tmp_path / "project"):
        blue = mean_colour(Path("..") / "course-images" / "img_train.csv")
    assert blue[2] > 200 and blue[0] < 50


def test_csvs_beside_a_data_folder_of_pictures(tmp_path, monkeypatch):
    """CSVs in `beside/`, pictures in `beside/data/parrot/`: the path as written, from the CSV's
    folder, is found first."""
    two_pictures(tmp_path, {"beside/data": "green"})
    row = {"image": "./data/parrot/parrot-1.jpg", "prompt": "p", "label": "parrot", "label_idx": 0}
    write_csv_rows(tmp_path / "beside" / "img_train.csv", [row])
    monkeypatch.setattr(ic, "IMG_SIZE", 8)
    green = mean_colour(tmp_path / "beside" / "img_train.csv")
    assert green[1] > 100 and green[0] < 50


def sideways_photo(folder):
    """A portrait photo as a phone stores it: pixels turned on their side, and an EXIF tag
    (orientation 6) saying to turn them back. Also the same photo upright, saved losslessly."""
    with Image.open(ROOT / "data" / "parrot" / "parrot-1.jpg") as source:
        portrait = source.convert("RGB").resize((210, 300))  # under 2x256: a full decode
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    portrait.transpose(Image.Transpose.ROTATE_90).save(
        folder / "sideways.jpg", exif=exif, quality=90
    )
    with Image.open(folder / "sideways.jpg") as stored:  # the camera's pixels, turned upright
        stored.transpose(Image.Transpose.ROTATE_270).save(folder / "upright.png")
    return folder / "sideways.jpg", folder / "upright.png"


def test_exif_orientation_is_applied_when_decoding(tmp_path, monkeypatch):
    sideways, upright = sideways_photo(tmp_path)
    assert torch.equal(ic.load_image(sideways, 256, True), ic.load_image(upright, 256, True))
    with Image.open(sideways) as img:
        assert img.size == (300, 210)  # stored landscape: without the tag, another crop
    rows = [
        {"image": str(p), "prompt": "p", "label": "parrot", "label_idx": 0}
        for p in (sideways, upright)
    ]
    write_csv_rows(tmp_path / "img_train.csv", rows)
    monkeypatch.setattr(ic, "IMG_SIZE", 64)
    dataset = ic.CsvImageDataset(tmp_path / "img_train.csv")
    assert torch.equal(dataset.images[0], dataset.images[1])


def one_epoch_and_an_evaluation(images):
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
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    no_autocast = torch.autocast("cpu", enabled=False)
    wandb.init(mode="disabled")
    assert ic.train_one_epoch(loader, model, loss_fn, optimizer, no_autocast, 10) == 10 + 6
    ic.evaluate({"test": loader}, model, loss_fn, no_autocast)
    return torch.cat(seen["train"]), torch.cat(seen["eval"])


def test_augment_crops_and_flips_training_batches_only_and_repeats_with_its_seed(monkeypatch):
    images = torch.randint(
        0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    monkeypatch.setattr(ic, "AUGMENT", True)
    torch.manual_seed(5)
    trained_on, evaluated_on = one_epoch_and_an_evaluation(images)
    plain = ic.normalize(images)
    assert trained_on.shape == plain.shape and not torch.equal(trained_on, plain)  # new crops
    assert torch.equal(evaluated_on, plain)  # evaluation: the pictures as they are
    torch.manual_seed(5)
    assert torch.equal(one_epoch_and_an_evaluation(images)[0], trained_on)  # same seed, same crops
    monkeypatch.setattr(ic, "AUGMENT", False)
    assert torch.equal(one_epoch_and_an_evaluation(images)[0], plain)  # off: untouched


# ----------------------------------------------------------------------------- settings


def settings_after(args):
    """The settings as the command line `args` sets them."""
    ic.parse_settings(args)
    return ic.settings()


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("--model cnn --run_name new-model", {"MODEL": "cnn", "RUN_NAME": "new-model"}),
        ("--grayscale --run_name grayscale", {"GRAYSCALE": True}),
        (
            "--optimizer adadelta --learning_rate 1.0",
            {"OPTIMIZER": "adadelta", "LEARNING_RATE": 1.0},
        ),
        ("--lr 0.5 --epochs 3", {"LEARNING_RATE": 0.5, "N_EPOCHS": 3}),
        (
            "--grayscale=True --augment=false --log_images=False",
            {"GRAYSCALE": True, "AUGMENT": False, "LOG_IMAGES": False},
        ),
        ("--learning_rate=0.01 --grayscale=False", {"LEARNING_RATE": 0.01, "GRAYSCALE": False}),
        ("--learning_rate=1 --memory_budget_gb=4", {"LEARNING_RATE": 1.0, "MEMORY_BUDGET_GB": 4.0}),
    ],
)
def test_the_course_commands_and_a_sweep_agents_flags_parse_as_written(flags, expected):
    settings = settings_after(flags.split())
    assert {k: settings[k] for k in expected} == expected
    assert all(type(settings[k]) is type(v) for k, v in expected.items())  # 1 is a float too


def test_defaults_are_the_course_baseline():
    settings = settings_after([])
    expected = {
        "MODEL": "mlp",
        "OPTIMIZER": "sgd",
        "LEARNING_RATE": 1e-3,
        "BATCH_SIZE": 8,
        "N_EPOCHS": 5,
        "GRAYSCALE": False,
        "RUN_NAME": "neural-the-narwhal",
    }
    assert {k: settings[k] for k in expected} == expected
    assert settings == ic.DEFAULTS


def test_help_lists_each_setting_with_its_comment_and_default(capsys):
    with pytest.raises(SystemExit):
        ic.parse_settings(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--batch_size" in out and "--grayscale" in out and "--predict" in out
    assert "training examples per optimiser step (per process, under torchrun) (default: 8)" in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["--modle", "cnn"], "unrecognized arguments: --modle cnn"),
        (["--batch_size", "eight"], "invalid int value: 'eight'"),
        (["--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
        (["--batch_size", "0"], "BATCH_SIZE must be at least 1 (and below 2**63), got 0"),
        (["--learning_rate", "-1"], "LEARNING_RATE must be at least 0"),
        (["--learning_rate", "nan"], "LEARNING_RATE must be at least 0"),
        (["--seed", "20000000000000000000"], "SEED must be at least 0 (and below 2**63)"),
        (["--grayscale=maybe"], "invalid true_or_false value: 'maybe'"),
        (["--img_size", "4"], "IMG_SIZE must be at least 8"),
        (["--device", "cuda" if not torch.cuda.is_available() else "mps"], "finds none here"),
    ],
)
def test_a_bad_setting_is_one_line_without_traceback(tmp_path, monkeypatch, capsys, args, says):
    """main() as the command line runs it (an exception escaping it would fail the test)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    try:
        code = ic.main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


def test_a_misspelt_flag_is_one_line_from_the_command_line(tmp_path):
    result = run_script("img_classifier.py", "--modle", "cnn", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == "img_classifier.py: error: unrecognized arguments: --modle cnn"


# ----------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def trained(small_images):
    """One epoch on a slice of the sample data, as a user would start it."""
    result = run_script("img_classifier.py", "--n_epochs", 1, "--run_name", "e2e", cwd=small_images)
    assert result.returncode == 0, result.stderr[-3000:]
    return small_images, result


def saved_model(folder, run_name):
    """The model a run saved, as --predict builds it, and its checkpoint."""
    checkpoint = torch.load(folder / "runs" / run_name / "checkpoint.pth", weights_only=True)
    settings = checkpoint["summary"]["settings"]
    in_channels = 1 if settings["GRAYSCALE"] else 3
    model = ic.MODELS[settings["MODEL"]](in_channels, 3, settings["IMG_SIZE"])
    model.load_state_dict(checkpoint["model"])
    return model.eval(), checkpoint


def test_test_accuracy_reported_logged_and_saved_is_the_saved_models_own(trained):
    """Computed again here from checkpoint.pth, with no help from the script's training code: the
    test pictures' labels read from the CSV, the weights loaded into a plain MLP."""
    folder, result = trained
    with open(folder / "data" / "img_test.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    model, checkpoint = saved_model(folder, "e2e")
    pictures = torch.stack([ic.load_image(folder / row["image"], 256, True) for row in rows])
    mean = torch.tensor(ic.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(ic.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.inference_mode():
        predicted = model((pictures.float() / 255 - mean) / std).argmax(1).tolist()
    right = [p == int(row["label_idx"]) for p, row in zip(predicted, rows, strict=True)]
    accuracy = sum(right) / len(rows)
    summary = summary_of(folder, "e2e")
    logged = [row for row in run_named(folder, "e2e")["history"] if "test_accuracy" in row][-1]
    assert summary["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)  # one picture is 0.11
    assert logged["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert checkpoint["summary"] == summary
    assert re.search(rf"test {re.escape(format(accuracy, '.1%'))} \(", result.stdout)
    assert (summary["num_parameters"], summary["epoch"], summary["examples_seen"]) == (
        100_928_003,
        1,
        24,
    )
    assert "100,928,003 parameters" in result.stdout
    assert "it/s" not in result.stderr and "train:" not in result.stderr  # no progress bar in a log
    assert sorted(p.name for p in (folder / "runs" / "e2e").iterdir()) == [
        "checkpoint.pth",
        "summary.json",
    ]


def test_the_test_confusion_matrix_is_printed_and_logged(trained):
    """Offline, wandb keeps the matrix as a table only: the run prints it, rows the true class."""
    folder, result = trained
    model, checkpoint = saved_model(folder, "e2e")
    test = ic.CsvImageDataset(folder / "data" / "img_test.csv")
    with torch.inference_mode():
        predictions = model(ic.normalize(test.images)).argmax(1)
    names = checkpoint["class_names"]
    expected = {(a, p): 0 for a in names for p in names}
    for t, p in zip(test.labels.tolist(), predictions.tolist(), strict=True):
        expected[names[t], names[p]] += 1
    run = run_named(folder, "e2e")
    table = next(row for row in run["history"] if "test_confusion_matrix_table/path" in row)
    data = json.loads(
        (run["dir"] / "files" / table["test_confusion_matrix_table/path"]).read_text()
    )
    assert {(actual, predicted): count for actual, predicted, count in data["data"]} == expected
    lines = result.stdout.split("true class (rows) and predicted class (columns):\n")[1]
    printed = lines.splitlines()
    assert printed[0].split() == ["predicted", *names] and printed[1].split() == ["true"]
    for line, true_name in zip(printed[2:5], names, strict=True):
        assert line.split() == [true_name, *(str(expected[true_name, p]) for p in names)]


def test_offline_wandb_run_holds_batch_and_epoch_metrics_and_captioned_images(trained):
    folder, _ = trained
    run = run_named(folder, "e2e")
    assert run["config"]["RUN_NAME"] == "e2e" and run["config"]["MODEL"] == "mlp"
    batches = [row for row in run["history"] if "batch_loss" in row]
    assert [row["examples_seen"] for row in batches] == [8, 16, 24]  # 24 training images, batch 8
    epochs = [row for row in run["history"] if "train_accuracy" in row]
    assert len(epochs) == 1 and epochs[0]["epoch"] == 1
    for split in ("train", "val", "test"):
        assert {f"{split}_accuracy", f"{split}_loss"} <= epochs[0].keys()
        captions = next(
            row[f"predictions/{split}/captions"]
            for row in run["history"]
            if f"predictions/{split}/captions" in row
        )
        assert len(captions) == (24 if split == "train" else 9)
        assert all(
            c.count(" / ") == 1 and c.split(" / ")[1] in ("parrot", "narwhal", "axolotl")
            for c in captions
        )
    assert run["metrics"]["batch_loss"] == "examples_seen" and run["metrics"][""] == "epoch"
    assert run["summary"]["num_parameters"] == 100_928_003


def test_captions_are_the_models_verdicts_on_the_pictures_shown(trained):
    folder, _ = trained
    model, checkpoint = saved_model(folder, "e2e")
    names = checkpoint["class_names"]
    test = ic.CsvImageDataset(folder / "data" / "img_test.csv")
    with torch.inference_mode():
        predicted = model(ic.normalize(test.images)).argmax(1).tolist()
    captions = next(
        row["predictions/test/captions"]
        for row in run_named(folder, "e2e")["history"]
        if "predictions/test/captions" in row
    )
    assert captions == [
        f"{names[p]} / {names[t]}" for p, t in zip(predicted, test.labels.tolist(), strict=True)
    ]


def test_one_epoch_of_the_cnn_with_adam_end_to_end(small_images, tmp_path):
    """The course's second model with another optimiser: trains, and the saved model scores what
    the run reported (measured in the precision the run chose)."""
    args = ["--n_epochs", 1, "--model", "cnn", "--optimizer", "adam", "--img_size", 64]
    args += ["--log_images=False", "--run_name", "cnn-adam", "--data_dir", small_images / "data"]
    result = run_in_process("img_classifier.py", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = summary_of(tmp_path, "cnn-adam")
    assert summary["settings"]["OPTIMIZER"] == "adam"
    assert summary["num_parameters"] == parameters(ic.CNN(img_size=64))
    model, _ = saved_model(tmp_path, "cnn-adam")
    ic.IMG_SIZE = 64
    test = ic.CsvImageDataset(small_images / "data" / "img_test.csv")
    bf16 = "mixed precision: bf16" in result.stdout
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        predictions = model(ic.normalize(test.images)).argmax(1)
    accuracy = (predictions == test.labels).float().mean().item()
    assert accuracy == pytest.approx(summary["test_accuracy"], abs=1e-9)


def test_same_seed_same_numbers(trained):
    folder, _ = trained
    again = run_in_process("img_classifier.py", "--n_epochs", 1, "--run_name", "e2e", cwd=folder)
    assert again.returncode == 0, again.stderr[-3000:]
    first, second = summary_of(folder, "e2e"), summary_of(folder, "e2e-2")  # a name of its own
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


def test_predict_says_which_model_answers_and_prints_what_it_computes(trained):
    folder, _ = trained
    pictures = sorted(Path(folder, "data", "parrot").glob("*.jpg"))[:2]
    result = run_in_process(
        "img_classifier.py", "--run_name", "e2e", "--predict", *pictures, cwd=folder
    )
    assert result.returncode == 0, result.stderr
    model, checkpoint = saved_model(folder, "e2e")
    header, *lines = result.stdout.strip().splitlines()
    test_accuracy = checkpoint["summary"]["test_accuracy"]
    assert header == f"e2e: mlp, 1 epoch(s), test accuracy {test_accuracy:.1%}"
    images = torch.stack([ic.load_image(p, 256, True) for p in pictures])
    with torch.inference_mode():
        probabilities = model(ic.normalize(images)).softmax(1)
    names = checkpoint["class_names"]
    for line, picture, expected in zip(lines, pictures, probabilities, strict=True):
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
    args = ["--n_epochs", 1, "--grayscale", "--img_size", 32, "--run_name", "gray"]
    result = run_script(
        "img_classifier.py", *args, "--data_dir", small_images / "data", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ic.IMG_SIZE = 32
    test = ic.CsvImageDataset(small_images / "data" / "img_test.csv")
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    luma = (test.images.float() * weights).sum(1)  # Pillow's "L"
    pictures = logged_pictures(tmp_path, "gray", "test")
    assert len(pictures) == 9 and all(p.shape == (32, 32) for p in pictures)  # one channel: mode L
    for picture, expected in zip(pictures, luma, strict=True):
        assert np.abs(picture.astype(float) - expected.numpy()).max() <= 0.5 + 1e-4
    # --predict on the grayscale model turns the picture to one channel, as training did.
    model, checkpoint = saved_model(tmp_path, "gray")
    ic.GRAYSCALE = True
    with torch.inference_mode():
        evaluated = model(ic.normalize(test.images)).softmax(1)
    paths = [p.resolve() for p in test.paths]
    predicted = run_in_process(
        "img_classifier.py", "--run_name", "gray", "--predict", *paths, cwd=tmp_path
    )
    assert predicted.returncode == 0, predicted.stderr
    for line, expected in zip(predicted.stdout.strip().splitlines()[1:], evaluated, strict=True):
        assert predicted_shares(line) == pytest.approx(
            {n: 100 * p for n, p in zip(checkpoint["class_names"], expected.tolist(), strict=True)},
            abs=0.051,
        )


def test_predict_turns_a_sideways_photo_upright(trained, tmp_path):
    folder, _ = trained
    sideways, upright = sideways_photo(tmp_path)
    result = run_in_process(
        "img_classifier.py", "--run_name", "e2e", "--predict", sideways, upright, cwd=folder
    )
    assert result.returncode == 0, result.stderr
    _, first, second = result.stdout.strip().splitlines()
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
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no run of img_classifier.py in runs/never-trained" in result.stderr


def test_without_credentials_it_logs_offline_and_says_how_to_upload(small_images, tmp_path):
    """No WANDB_MODE, no API key, no ~/.netrc, no terminal: offline, never a login prompt."""
    home = tmp_path / "home"
    home.mkdir()
    args = ["--n_epochs", 1, "--run_name", "no-account", "--log_images=False", "--img_size", 32]
    args += ["--data_dir", small_images / "data", "--out_dir", tmp_path / "runs"]
    result = run_script(
        "img_classifier.py",
        *args,
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
