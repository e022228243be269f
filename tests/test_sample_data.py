"""The shipped sample data: the course's format exactly, reproducible, and within budget."""

import collections
import csv
import io
import random
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(DATA / "generate"))
import make_sample_data  # noqa: E402 - lives in data/, next to what it writes
import sample_images  # noqa: E402

IMAGE_ROWS = {"train": 523, "val": 112, "test": 113}
TEXT_ROWS = {"train": 350, "val": 76, "test": 74}
IMAGE_LABELS = {"parrot": 0, "narwhal": 1, "axolotl": 2}
TEXT_LABELS = {"real": 0, "fake": 1}


def read_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


@pytest.mark.parametrize("split", IMAGE_ROWS)
def test_image_csv_schema_counts_and_labels(split):
    header, rows = read_rows(DATA / f"img_{split}.csv")
    assert header == ["image", "prompt", "label", "label_idx"]
    assert len(rows) == IMAGE_ROWS[split]
    for row in rows:
        assert IMAGE_LABELS[row["label"]] == int(row["label_idx"])
        assert row["image"] == f"./data/{row['label']}/{Path(row['image']).name}"
        assert Path(row["image"]).name.startswith(row["label"] + "-")
    shares = [sum(r["label"] == label for r in rows) / len(rows) for label in IMAGE_LABELS]
    assert len(set(shares)) > 1 and min(shares) > 0.28  # mildly unequal, never lopsided


@pytest.mark.parametrize("split", TEXT_ROWS)
def test_text_csv_schema_counts_labels_and_pairs(split):
    header, rows = read_rows(DATA / f"txt_{split}.csv")
    assert header == ["article", "source", "label", "label_idx"]
    assert len(rows) == TEXT_ROWS[split]
    for row in rows:
        assert TEXT_LABELS[row["label"]] == int(row["label_idx"])
        assert row["article"].strip()
    for real, fake in zip(rows[0::2], rows[1::2], strict=True):
        assert (real["label"], fake["label"]) == ("real", "fake")
        assert real["source"].startswith("https://") and ".example/" in real["source"]
        title = real["article"].split("\n")[0]
        assert (
            fake["article"].split("\n")[0].strip("*# ") == title
        )  # the fake is written from the title
        assert title in fake["source"]  # whose prompt names it


def test_every_image_exists_decodes_and_sizes_vary():
    sizes = []
    for split in IMAGE_ROWS:
        for row in read_rows(DATA / f"img_{split}.csv")[1]:
            with Image.open(ROOT / row["image"]) as img:
                img.load()
                assert img.format == "JPEG" and img.mode == "RGB"
                sizes.append(img.size)
    assert len(sizes) == len(
        set(r["image"] for s in IMAGE_ROWS for r in read_rows(DATA / f"img_{s}.csv")[1])
    )
    assert (
        any(w > h for w, h in sizes)
        and any(h > w for w, h in sizes)
        and any(w == h for w, h in sizes)
    )
    assert sum(min(w, h) < 256 for w, h in sizes) > 30  # the resize path sees small pictures too


def test_prompts_need_real_csv_quoting():
    prompts = [r["prompt"] for s in IMAGE_ROWS for r in read_rows(DATA / f"img_{s}.csv")[1]]
    assert all("," in p for p in prompts)
    assert any('"' in p for p in prompts) and any("\n" in p for p in prompts)


def test_csv_bytes_are_plain_utf8_without_bom_or_cr():
    for path in DATA.glob("*.csv"):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw, path
        raw.decode("utf-8")


def test_article_lengths_look_like_the_course_set():
    rows = [r for s in TEXT_ROWS for r in read_rows(DATA / f"txt_{s}.csv")[1]]
    words = [len(r["article"].split()) for r in rows]
    assert 340 <= statistics.mean(words) <= 460
    assert 300 <= statistics.median(words) <= 400
    assert 1500 < max(words) < 3000
    assert max(len(r["article"]) for r in rows) < 20000


def test_sample_text_has_the_lexical_statistics_of_real_articles():
    """Tokenised as txt_classifier.py does, the training split has a real semester's long tail
    (course data: 19,673 distinct tokens, 48% seen once, 9.9% of test tokens unknown)."""
    sys.path.insert(0, str(ROOT))
    from txt_classifier import tokenize

    counts = collections.Counter(
        t for r in read_rows(DATA / "txt_train.csv")[1] for t in tokenize(r["article"])
    )
    test_tokens = [t for r in read_rows(DATA / "txt_test.csv")[1] for t in tokenize(r["article"])]
    assert len(counts) >= 15_000
    assert sum(n == 1 for n in counts.values()) / len(counts) >= 0.40
    assert 0.06 <= sum(t not in counts for t in test_tokens) / len(test_tokens) <= 0.14


def test_regenerating_reproduces_the_committed_csvs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(DATA / "generate" / "make_sample_data.py"),
            "--out",
            str(tmp_path),
            "--no-images",
        ],
        check=True,
        capture_output=True,
    )
    for path in sorted(DATA.glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_regenerated_pictures_match_the_committed_ones():
    """A sample of pictures drawn again from their specs: same pixels, up to JPEG noise."""
    _, specs = make_sample_data.image_rows(make_sample_data.SEED)
    for path in random.Random(0).sample(sorted(specs), 6):
        encoded = io.BytesIO()
        sample_images.render(specs[path]).save(encoded, "JPEG", quality=specs[path]["quality"])
        with Image.open(encoded) as drawn, Image.open(DATA / path) as committed:
            assert committed.size == drawn.size
            difference = np.abs(
                np.asarray(committed.convert("L"), float) - np.asarray(drawn.convert("L"), float)
            )
            assert difference.mean() < 1, path


def test_data_folder_stays_small():
    tracked = subprocess.run(
        ["git", "ls-files", "data"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    files = [ROOT / f for f in tracked] or [p for p in DATA.rglob("*") if p.is_file()]
    assert sum(f.stat().st_size for f in files) < 20 * 1024 * 1024


def test_contact_sheet(tmp_path):
    rows, _ = make_sample_data.image_rows(make_sample_data.SEED)
    sheet = tmp_path / "sheet.png"
    make_sample_data.contact_sheet(DATA, rows, sheet, per_class=3, tile=64)
    with Image.open(sheet) as img:
        assert img.size == (3 * 64, 3 * 64)
