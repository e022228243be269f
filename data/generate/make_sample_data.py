"""Write the sample data set: six CSVs in the course's format and the pictures they name.

    python data/generate/make_sample_data.py                       # rewrite data/ in place
    python data/generate/make_sample_data.py --out /some/folder    # write elsewhere (tests do this)
    python data/generate/make_sample_data.py --contact-sheet sheet.jpg   # also save a grid to look at

The same --seed writes the same CSVs byte for byte. Image paths in the CSVs are always
`./data/<label>/<label>-<n>.jpg`, relative to the repository root as in the course data,
whatever --out is. Everything is invented; see data/README.md.
"""

import argparse
import csv
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import sample_images
import sample_text
from PIL import Image

HERE = Path(__file__).resolve().parents[1]  # data/, the folder this one sits in
SEED = 623
CLASSES = ["parrot", "narwhal", "axolotl"]  # label_idx 0, 1, 2
# Per split, images per class: the course's 523 / 112 / 113 rows, mildly unbalanced.
IMAGE_SPLITS = {"train": [183, 165, 175], "val": [39, 35, 38], "test": [40, 36, 37]}
# Real/fake pairs per split: the course's 350 / 76 / 74 rows.
TEXT_PAIRS = {"train": 175, "val": 38, "test": 37}


def image_rows(seed):
    """{split: [row dict]} plus {file path: spec}, with prompts; no pixels yet."""
    rng = random.Random(seed)
    rows, specs = {split: [] for split in IMAGE_SPLITS}, {}
    for label_idx, label in enumerate(CLASSES):
        counts = [IMAGE_SPLITS[split][label_idx] for split in IMAGE_SPLITS]
        numbers = list(range(1, sum(counts) + 1))
        rng.shuffle(numbers)  # file numbers say nothing about the split, as in the course set
        start = 0
        for split, count in zip(IMAGE_SPLITS, counts, strict=True):
            for number in numbers[start : start + count]:
                spec = sample_images.sample_spec(rng, label)
                path = f"{label}/{label}-{number}.jpg"
                specs[path] = spec
                rows[split].append(
                    {
                        "image": f"./data/{path}",
                        "prompt": sample_images.describe(spec, rng),
                        "label": label,
                        "label_idx": label_idx,
                    }
                )
            start += count
    for split_rows in rows.values():
        rng.shuffle(split_rows)
    return rows, specs


def text_rows(seed):
    """{split: [row dict]}: each real article directly followed by its fake twin."""
    rng = random.Random(seed + 1)
    rows = {}
    for split, pairs in TEXT_PAIRS.items():
        rows[split] = [row for _ in range(pairs) for row in sample_text.make_pair(rng)]
    return rows


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _render_one(job):
    out_path, spec = job
    sample_images.render(spec).save(out_path, quality=spec["quality"], optimize=True)


def write_images(out, specs, jobs):
    for label in CLASSES:
        (out / label).mkdir(parents=True, exist_ok=True)
    work = [(out / path, spec) for path, spec in sorted(specs.items())]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_render_one, work, chunksize=16))


def contact_sheet(out, rows, path, per_class=8, tile=160):
    """A grid, one row per class, of the first training pictures: for a person to look at."""
    sheet = Image.new("RGB", (per_class * tile, len(CLASSES) * tile), "white")
    for y, label in enumerate(CLASSES):
        picked = [r for r in rows["train"] if r["label"] == label][:per_class]
        for x, row in enumerate(picked):
            with Image.open(out / row["image"].removeprefix("./data/")) as img:
                img.thumbnail((tile - 4, tile - 4))
                sheet.paste(img, (x * tile + 2, y * tile + 2))
    sheet.save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder to write into (default: data/)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--contact-sheet", type=Path, help="also save a grid of pictures here")
    parser.add_argument("--no-images", action="store_true", help="write the CSVs only, no pictures")
    parser.add_argument(
        "--jobs", type=int, default=None, help="processes for drawing (default: all cores)"
    )
    args = parser.parse_args(argv)

    started = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    img_rows, specs = image_rows(args.seed)
    for split, rows in img_rows.items():
        write_csv(args.out / f"img_{split}.csv", rows)
    for split, rows in text_rows(args.seed).items():
        write_csv(args.out / f"txt_{split}.csv", rows)
    if not args.no_images:
        write_images(args.out, specs, args.jobs)
    if args.contact_sheet:
        contact_sheet(args.out, img_rows, args.contact_sheet)
    print(
        f"wrote {sum(map(len, img_rows.values()))} image rows, "
        f"{2 * sum(TEXT_PAIRS.values())} articles to {args.out} in {time.time() - started:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
