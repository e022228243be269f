"""The speed-ups change nothing but speed: decode once, reduced-size JPEG decoding, streaming,
length buckets and the unpacked LSTM."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import DATA, ROOT, read_csv_rows, run_in_process, summary_of, write_csv_rows
from PIL import Image

import img_classifier as ic
import txt_classifier as tc


def some_pictures(folder, count=6):
    """A small split: pictures copied from the sample data, listed in folder/img_train.csv."""
    rows = read_csv_rows(DATA / "img_train.csv")[:count]
    for row in rows:
        name = row["image"].rsplit("/", 1)[1]
        (folder / name).write_bytes((DATA.parent / row["image"]).read_bytes())
        row["image"] = str(folder / name)
    write_csv_rows(folder / "img_train.csv", rows)
    return folder / "img_train.csv", [folder / r["image"].rsplit("/", 1)[1] for r in rows]


def test_the_plain_path_is_the_course_preprocessing():
    """Without FAST_DECODE, decode + per-batch normalisation is the course starter's
    Compose([Resize(256), CenterCrop(256), ToTensor(), Normalize(ImageNet)]) on every picture."""
    import torchvision.transforms as T

    course = T.Compose(
        [
            T.Resize(64),
            T.CenterCrop(64),
            T.ToTensor(),
            T.Normalize(ic.IMAGENET_MEAN, ic.IMAGENET_STD),
        ]
    )
    paths = (
        sorted((DATA / "narwhal").glob("*.jpg"))[:12] + sorted((DATA / "parrot").glob("*.jpg"))[:12]
    )
    ours = ic.normalize(torch.stack([ic.load_image(path, 64, False) for path in paths]))
    for path, x in zip(paths, ours, strict=True):
        with Image.open(path) as img:
            torch.testing.assert_close(
                x, course(img.convert("RGB")), atol=1e-6, rtol=0, msg=str(path)
            )


def test_reduced_size_decoding_stays_under_two_levels_in_255(tmp_path):
    """On a course-sized 1024-pixel JPEG, FAST_DECODE changes the 256 crop very little."""
    with Image.open(DATA / "parrot" / "parrot-1.jpg") as img:
        big = np.asarray(
            img.convert("RGB").resize((1024, 1024), Image.Resampling.BICUBIC), dtype=np.float32
        )
    noisy = np.clip(big + np.random.default_rng(0).normal(0, 4, big.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "big.jpg", quality=92)
    full = ic.load_image(tmp_path / "big.jpg", 256, False).float()
    fast = ic.load_image(tmp_path / "big.jpg", 256, True).float()
    assert 0 < (full - fast).abs().mean().item() < 2


def test_each_picture_is_decoded_once_however_many_epochs_and_evaluations(tmp_path, monkeypatch):
    csv_file, pictures = some_pictures(tmp_path)
    decoded = []
    real_load_image = ic.load_image
    monkeypatch.setattr(
        ic, "load_image", lambda path, *a: decoded.append(path) or real_load_image(path, *a)
    )
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    dataset = ic.CsvImageDataset(csv_file)
    for _ in range(3):  # epochs, evaluations
        list(torch.utils.data.DataLoader(dataset, batch_size=4))
    assert sorted(decoded) == sorted(pictures)


def test_streaming_gives_the_same_items_as_the_store(tmp_path, monkeypatch):
    csv_file, _ = some_pictures(tmp_path, count=4)
    monkeypatch.setattr(ic, "IMG_SIZE", 32)
    store = ic.CsvImageDataset(csv_file)
    monkeypatch.setattr(ic, "MEMORY_BUDGET_GB", 0)
    streamed = ic.CsvImageDataset(csv_file)
    assert streamed.images is None
    for i in range(4):
        assert torch.equal(store[i][0], streamed[i][0]) and store[i][1] == streamed[i][1]


def test_a_run_over_budget_streams_and_scores_the_same(small_images):
    """MEMORY_BUDGET_GB too small for the store: DataLoader workers decode instead, same numbers."""
    args = ["--n_epochs", 1, "--img_size", 64, "--log_images=False"]
    stored = run_in_process(
        "img_classifier.py",
        *args,
        "--run_name",
        "stored",
        cwd=small_images,
        env={"WANDB_MODE": "disabled"},
    )
    streamed = run_in_process(
        "img_classifier.py",
        *args,
        "--run_name",
        "streamed",
        "--memory_budget_gb",
        0.00001,
        cwd=small_images,
        env={"WANDB_MODE": "disabled"},
    )
    assert stored.returncode == 0 and streamed.returncode == 0, (
        stored.stderr[-2000:] + streamed.stderr[-2000:]
    )
    first, second = summary_of(small_images, "stored"), summary_of(small_images, "streamed")
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "test_loss"):
        assert first[key] == pytest.approx(second[key], abs=1e-6), key


# ----------------------------------------------------------------------------- text


def padding_share(batches, lengths):
    """The share of a padded batch that is padding, over all batches."""
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return 1 - sum(lengths) / padded


def test_length_buckets_cover_every_article_once_in_batches_of_similar_length():
    lengths = [
        int(n) for n in torch.randint(5, 1000, (300,), generator=torch.Generator().manual_seed(0))
    ]
    epoch1, epoch2 = (tc.epoch_batches(lengths, seed=0, epoch=epoch) for epoch in (1, 2))
    for batches in (epoch1, epoch2):
        assert sorted(i for batch in batches for i in batch) == list(range(300))
        assert padding_share(batches, lengths) < 0.3  # in random order: more than 0.4
    shuffled = torch.randperm(300, generator=torch.Generator().manual_seed(0)).split(32)
    assert padding_share([b.tolist() for b in shuffled], lengths) > 0.4
    assert epoch1 != epoch2  # different neighbours every epoch
    assert tc.epoch_batches(lengths, seed=0, epoch=1) == epoch1  # from the seed and the epoch
    assert tc.epoch_batches(lengths, seed=1, epoch=1) != epoch1
    flat = [i for batch in tc.by_length(lengths, 32) for i in batch]  # evaluation: by length
    assert [lengths[i] for i in flat] == sorted(lengths)


@pytest.mark.parametrize("articles", [21, 1])
def test_under_torchrun_the_processes_share_the_epochs_batches(monkeypatch, articles):
    """Every process draws the same batches and takes its own share: together they cover every
    article, and each takes as many steps (a batch is drawn twice where they do not divide)."""
    lengths = list(range(5, 5 + articles))
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(tc, "rank_and_world", lambda rank=rank: (rank, 2))
        shares.append(tc.epoch_batches(lengths, seed=0, epoch=1))
    assert len(shares[0]) == len(shares[1])
    drawn = [i for share in shares for batch in share for i in batch]
    assert set(drawn) == set(range(articles))


def test_evaluation_in_length_buckets_measures_what_evaluation_in_order_does(tmp_path):
    torch.manual_seed(0)
    pd.DataFrame(
        {
            "article": [" ".join(["word"] * n + ["end"]) for n in (50, 3, 20, 7, 90, 1)],
            "label": ["real", "fake"] * 3,
            "label_idx": [0, 1] * 3,
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    tc.MAX_LEN = 100
    dataset = tc.CsvTextDataset(tmp_path / "t.csv")
    model = tc.LSTMClassifier(len(dataset.vocab) + 2, 8, 6, 2)
    loss_fn = torch.nn.CrossEntropyLoss()
    plain = torch.utils.data.DataLoader(dataset, batch_size=4)
    bucketed = torch.utils.data.DataLoader(dataset, batch_sampler=tc.by_length(dataset.lengths, 4))
    (first, in_order), (second, by_length) = (
        tc.evaluate({"test": loader}, model, loss_fn) for loader in (plain, bucketed)
    )
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["test_loss"] == pytest.approx(second["test_loss"], rel=1e-6)
    pairs = sorted(zip(*(t.tolist() for t in in_order["test"]), strict=True))
    assert pairs == sorted(zip(*(t.tolist() for t in by_length["test"]), strict=True))


def test_unpacked_lstm_computes_what_a_packed_one_does():
    """The fast path (one fused LSTM call plus a mask) against the textbook packed sequence."""
    torch.manual_seed(0)
    model = tc.LSTMClassifier(40, 8, 6, 2, num_layers=2).eval()
    token_ids = torch.randint(2, 40, (5, 30))
    for row, length in enumerate((30, 4, 17, 1, 22)):
        token_ids[row, length:] = 0
    lengths = (token_ids != 0).sum(1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        model.embedding(token_ids), lengths, batch_first=True, enforce_sorted=False
    )
    outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(
        model.lstm(packed)[0], batch_first=True, padding_value=float("-inf")
    )
    with torch.no_grad():
        torch.testing.assert_close(
            model(token_ids), model.head(outputs.max(dim=1).values), atol=1e-6, rtol=0
        )


def test_fast_path_scores_exactly_what_the_course_starter_way_does(small_images):
    """bench/naive_img.py decodes every picture on every access, one at a time; with FAST_DECODE
    off the fast path must train the very same model."""
    common = ["--n_epochs", 2, "--img_size", 64, "--data_dir", small_images / "data"]
    fast = run_in_process(
        "img_classifier.py",
        *common,
        "--fast_decode=False",
        "--log_images=False",
        "--run_name",
        "exact",
        cwd=small_images,
        env={"WANDB_MODE": "disabled"},
    )
    naive = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "naive_img.py"), *map(str, common)],
        cwd=small_images,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert fast.returncode == 0 and naive.returncode == 0, (
        fast.stderr[-2000:] + naive.stderr[-2000:]
    )
    ours = summary_of(small_images, "exact")
    reference = json.loads(naive.stdout.strip().splitlines()[-1].removeprefix("result "))
    for split in ("train", "val", "test"):
        assert ours[f"{split}_accuracy"] == pytest.approx(reference[f"{split}_accuracy"], abs=1e-6)
        assert ours[f"{split}_loss"] == pytest.approx(reference[f"{split}_loss"], rel=1e-4)
