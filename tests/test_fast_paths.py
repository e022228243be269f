"""The speed-ups change nothing but speed: decode once, the disk cache, reduced-size JPEG
decoding, streaming, length buckets and the unpacked LSTM."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import img_classifier as ic
import txt_classifier as tc
from conftest import DATA, ROOT, read_csv_rows, run_script, write_csv_rows


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

    course = T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize(ic.IMAGENET_MEAN, ic.IMAGENET_STD)])
    paths = sorted((DATA / "narwhal").glob("*.jpg"))[:12] + sorted((DATA / "parrot").glob("*.jpg"))[:12]
    ours = ic.to_model_input(torch.stack([ic.load_image(path, 64, fast_decode=False) for path in paths]), False)
    for path, x in zip(paths, ours):
        with Image.open(path) as img:
            torch.testing.assert_close(x, course(img.convert("RGB")), atol=1e-6, rtol=0, msg=str(path))


def test_reduced_size_decoding_stays_under_two_levels_in_255(tmp_path):
    """On a course-sized 1024-pixel JPEG, FAST_DECODE changes the 256 crop very little."""
    with Image.open(DATA / "parrot" / "parrot-1.jpg") as img:
        big = np.asarray(img.convert("RGB").resize((1024, 1024), Image.Resampling.BICUBIC), dtype=np.float32)
    noisy = np.clip(big + np.random.default_rng(0).normal(0, 4, big.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "big.jpg", quality=92)
    full = ic.load_image(tmp_path / "big.jpg", 256, fast_decode=False).float()
    fast = ic.load_image(tmp_path / "big.jpg", 256, fast_decode=True).float()
    assert 0 < (full - fast).abs().mean().item() < 2


def test_store_is_decoded_once_and_cached_between_runs(tmp_path, monkeypatch, capsys):
    csv_file, pictures = some_pictures(tmp_path)
    decoded = []
    real_load_image = ic.load_image
    monkeypatch.setattr(ic, "load_image", lambda path, *a: decoded.append(path) or real_load_image(path, *a))
    cache = tmp_path / "cache"
    first = ic.CsvImageDataset(csv_file, 32, cache_dir=cache)
    assert len(decoded) == 6 and len(list(cache.glob("*.pt"))) == 1
    second = ic.CsvImageDataset(csv_file, 32, cache_dir=cache)  # the next run
    assert len(decoded) == 6 and torch.equal(first.images, second.images)

    # A picture that changed on disk is decoded again; the others come from the cache.
    with Image.open(pictures[2]) as img:
        img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(pictures[2])
    os.utime(pictures[2], ns=(1, 1))
    third = ic.CsvImageDataset(csv_file, 32, cache_dir=cache)
    assert decoded[6:] == [pictures[2]]
    assert torch.equal(third.images[2], real_load_image(pictures[2], 32))

    # A damaged entry (its checksum no longer matches) is decoded again, never used.
    cache_file = next(cache.glob("*.pt"))
    saved = torch.load(cache_file, weights_only=True)
    saved["images"][4] = 0
    torch.save(saved, cache_file)
    fourth = ic.CsvImageDataset(csv_file, 32, cache_dir=cache)
    assert decoded[7:] == [pictures[4]] and torch.equal(fourth.images, third.images)

    # A cache file that cannot be read at all is rebuilt, with a note.
    cache_file.write_bytes(b"not a cache")
    fifth = ic.CsvImageDataset(csv_file, 32, cache_dir=cache)
    assert len(decoded) == 8 + 6 and torch.equal(fifth.images, third.images)
    assert "ignoring unreadable cache file" in capsys.readouterr().out


def test_torchvision_is_imported_to_decode_and_never_for_a_warm_cache(tmp_path):
    """Importing torchvision's transforms costs over a second: only a run that decodes pays it."""
    csv_file, _ = some_pictures(tmp_path, count=3)
    code = ("import sys, img_classifier as ic; ic.CsvImageDataset(sys.argv[1], 32, cache_dir=sys.argv[2]); "
            "print('torchvision.transforms.v2' in sys.modules)")

    def imports_torchvision():
        done = subprocess.run([sys.executable, "-c", code, str(csv_file), str(tmp_path / "cache")], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return done.stdout.split()[-1] == "True"

    assert imports_torchvision()  # empty cache: decodes
    assert not imports_torchvision()  # warm cache


def test_a_picture_replaced_by_one_of_the_same_size_and_time_is_decoded_again(tmp_path):
    """Copies, `rsync -t` and archives keep modification times: the cache goes by content."""
    csv_file, pictures = some_pictures(tmp_path, count=3)
    cache = tmp_path / "cache"
    before = ic.CsvImageDataset(csv_file, 32, cache_dir=cache).images
    smaller, larger = sorted(pictures[:2], key=lambda path: path.stat().st_size)
    stat = larger.stat()
    # A JPEG decoder stops at the end-of-image marker, so padding makes the sizes equal.
    larger.write_bytes(smaller.read_bytes().ljust(stat.st_size, b"\0"))
    os.utime(larger, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (larger.stat().st_size, larger.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    after = ic.CsvImageDataset(csv_file, 32, cache_dir=cache).images
    row = pictures.index(larger)
    assert not torch.equal(before[row], ic.load_image(smaller, 32))
    assert torch.equal(after[row], ic.load_image(smaller, 32))


def test_two_processes_saving_the_same_file_never_collide(tmp_path):
    """Each save goes to a temporary file of its own, then is renamed over the target."""
    path = tmp_path / "cache.pt"
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: ic.atomic_save({"value": torch.full((50_000,), i)}, path), range(16)))
    value = torch.load(path, weights_only=True)["value"]
    assert (value == value[0]).all() and list(tmp_path.iterdir()) == [path]


def test_the_cache_is_keyed_by_preprocessing_settings(tmp_path, monkeypatch):
    """Each preprocessing gets its own entry, holding that preprocessing's pictures; the next
    run with any of them decodes nothing."""
    csv_file, pictures = some_pictures(tmp_path, count=2)
    settings = [(32, True), (48, True), (32, False)]
    for size, fast in settings:
        ic.CsvImageDataset(csv_file, size, fast_decode=fast, cache_dir=tmp_path / "cache")
    decoded = []
    real_load_image = ic.load_image
    monkeypatch.setattr(ic, "load_image", lambda path, *a: decoded.append(path) or real_load_image(path, *a))
    for size, fast in settings:
        cached = ic.CsvImageDataset(csv_file, size, fast_decode=fast, cache_dir=tmp_path / "cache").images
        assert torch.equal(cached, torch.stack([real_load_image(p, size, fast) for p in pictures]))
    assert decoded == []


def test_streaming_gives_the_same_items_as_the_store(tmp_path):
    csv_file, _ = some_pictures(tmp_path, count=4)
    store = ic.CsvImageDataset(csv_file, 32)
    streamed = ic.CsvImageDataset(csv_file, 32, stream=True)
    assert streamed.images is None
    for i in range(4):
        assert torch.equal(store[i][0], streamed[i][0]) and store[i][1] == streamed[i][1]


def test_a_run_over_budget_streams_and_scores_the_same(small_images):
    """MEMORY_BUDGET_GB too small for the store: DataLoader workers decode instead, same numbers."""
    args = ["--n_epochs", 1, "--img_size", 64, "--no-log_images", "--cache_dir", ""]
    stored = run_script("img_classifier.py", *args, "--run_name", "stored", cwd=small_images,
                        env={"WANDB_MODE": "disabled"})
    streamed = run_script("img_classifier.py", *args, "--run_name", "streamed", "--memory_budget_gb", 0.00005,
                          cwd=small_images, env={"WANDB_MODE": "disabled"})
    assert stored.returncode == 0 and streamed.returncode == 0, stored.stderr[-2000:] + streamed.stderr[-2000:]
    assert "decoding them on the fly" in streamed.stdout
    first, second = (json.loads((small_images / "runs" / n / "summary.json").read_text()) for n in ("stored", "streamed"))
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "test_loss"):
        assert first[key] == pytest.approx(second[key], abs=1e-6), key


# ----------------------------------------------------------------------------- text


def padding_share(batches, lengths):
    """The share of a padded batch that is padding, over all batches."""
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return 1 - sum(lengths) / padded


def test_length_buckets_cover_every_article_once_in_batches_of_similar_length():
    lengths = [int(n) for n in torch.randint(5, 1000, (300,), generator=torch.Generator().manual_seed(0))]
    buckets = tc.LengthBuckets(lengths, 32, torch.Generator().manual_seed(1))
    epoch1, epoch2 = list(buckets), list(buckets)
    for batches in (epoch1, epoch2):
        assert sorted(i for batch in batches for i in batch) == list(range(300))
        assert padding_share(batches, lengths) < 0.25
    assert padding_share([list(range(i, min(i + 32, 300))) for i in range(0, 300, 32)], lengths) > 0.4  # unsorted
    assert epoch1 != epoch2  # different neighbours every epoch
    in_order = list(tc.LengthBuckets(lengths, 32, shuffle=False))
    flat = [i for batch in in_order for i in batch]
    assert [lengths[i] for i in flat] == sorted(lengths)


def test_evaluation_in_length_buckets_returns_results_in_dataset_order():
    torch.manual_seed(0)
    frame = pd.DataFrame({
        "article": [" ".join(["word"] * n + ["end"]) for n in (50, 3, 20, 7, 90, 1)],
        "label": ["real", "fake"] * 3, "label_idx": [0, 1] * 3})
    info = tc.CorpusInfo(frame, tc.SimpleTokenizer())
    transform = tc.Compose([tc.TextTransform(tc.SimpleTokenizer(), info.vocab), tc.PadToMaxLen(100, 0)])
    dataset = tc.CsvTextDataset(frame, transform)
    model = tc.LSTMClassifier(len(info.vocab), 8, 6, 2)
    loss_fn = torch.nn.CrossEntropyLoss()
    plain = torch.utils.data.DataLoader(dataset, batch_size=4)
    bucketed = torch.utils.data.DataLoader(dataset, batch_sampler=tc.LengthBuckets(dataset.lengths, 4, shuffle=False))
    first, second = tc.evaluate(plain, model, loss_fn, torch.device("cpu")), tc.evaluate(bucketed, model, loss_fn,
                                                                                       torch.device("cpu"))
    torch.testing.assert_close(first[2], second[2], atol=1e-6, rtol=0)
    assert first[0] == second[0]


def test_unpacked_lstm_computes_what_a_packed_one_does():
    """The fast path (one fused LSTM call plus a mask) against the textbook packed sequence."""
    torch.manual_seed(0)
    model = tc.LSTMClassifier(40, 8, 6, 2, num_layers=2).eval()
    token_ids = torch.randint(2, 40, (5, 30))
    for row, length in enumerate((30, 4, 17, 1, 22)):
        token_ids[row, length:] = 0
    lengths = (token_ids != 0).sum(1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(model.embedding(token_ids), lengths, batch_first=True,
                                                     enforce_sorted=False)
    outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(model.lstm(packed)[0], batch_first=True,
                                                        padding_value=float("-inf"))
    with torch.no_grad():
        torch.testing.assert_close(model(token_ids), model.head(outputs.max(dim=1).values), atol=1e-6, rtol=0)


def test_fast_path_scores_exactly_what_the_course_starter_way_does(small_images):
    """bench/naive_img.py decodes every picture on every access, one at a time; with FAST_DECODE
    off the fast path must train the very same model."""
    common = ["--n_epochs", 2, "--img_size", 64, "--data_dir", small_images / "data"]
    fast = run_script("img_classifier.py", *common, "--no-fast_decode", "--cache_dir", "", "--no-log_images",
                      "--run_name", "exact", cwd=small_images, env={"WANDB_MODE": "disabled"})
    naive = subprocess.run([sys.executable, str(ROOT / "bench" / "naive_img.py"), *map(str, common)],
                           cwd=small_images, capture_output=True, text=True, timeout=600)
    assert fast.returncode == 0 and naive.returncode == 0, fast.stderr[-2000:] + naive.stderr[-2000:]
    ours = json.loads((small_images / "runs" / "exact" / "summary.json").read_text())
    reference = json.loads(naive.stdout.strip().splitlines()[-1].removeprefix("result "))
    for split in ("train", "val", "test"):
        assert ours[f"{split}_accuracy"] == pytest.approx(reference[f"{split}_accuracy"], abs=1e-6)
        assert ours[f"{split}_loss"] == pytest.approx(reference[f"{split}_loss"], rel=1e-4)
