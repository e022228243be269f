"""Benchmark: the two scripts' default runs against the course starter's way of doing the same.

    python bench/speed.py                    # everything, about half an hour on a 2-core CPU
    python bench/speed.py --only mlp,bow     # some of: mlp, cnn, bow, lstm, bilstm
    python bench/speed.py --only lstm,bilstm # the bidirectional LSTM's cost against one direction
    python bench/speed.py --epochs 1         # quicker, fewer epochs everywhere

Images: the sample pictures are re-encoded as course-like JPEGs (shorter side 1024 pixels, with fine
grain so that they decode as slowly as generated pictures do) in --workdir, then img_classifier.py
and bench/naive_img.py train the same model on them. Text: txt_classifier.py against
bench/naive_txt.py on the sample articles ("bilstm": the bidirectional LSTM, compared with the
one-direction LSTM run of the same script). Each run is a separate process with wandb disabled; the
script reports wall time end to end and per epoch, peak memory, test accuracy, and the images per
second of preprocessing (decode, resize, crop). It writes a Markdown table to stdout and
everything to WORKDIR/results.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))


def course_like(source, target):
    """One sample picture as a text-to-image model would have made it: about 1024 pixels a side."""
    with Image.open(source) as img:
        img = img.convert("RGB")
        scale = 1024 / min(img.size)
        img = img.resize(
            (round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC
        )
    rng = np.random.default_rng(zlib.crc32(target.name.encode()))  # the same grain in every run
    grain = rng.normal(0, 4, (img.height, img.width, 3))
    Image.fromarray(
        np.clip(np.asarray(img, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    ).save(target, quality=92)


def build_course_like_images(workdir):
    data = workdir / "data"
    if (data / "img_test.csv").is_file():
        return data
    jobs = []
    for csv_file in DATA.glob("img_*.csv"):
        data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(csv_file, data / csv_file.name)
    for source in DATA.glob("*/*.jpg"):
        (data / source.parent.name).mkdir(parents=True, exist_ok=True)
        jobs.append((source, data / source.parent.name / source.name))
    with ProcessPoolExecutor() as pool:
        list(pool.map(course_like, *zip(*jobs, strict=True), chunksize=16))
    return data


def run(command, cwd):
    """Run a command; return wall seconds, line arrival times, output, and peak memory (MB)."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    command = [str(part) for part in command]
    started = time.time()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in process.stdout:
        for part in line.replace("\r", "\n").splitlines():
            lines.append((time.time() - started, part))
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.time() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{' '.join(map(str, command))} failed:\n" + "\n".join(t for _, t in lines[-20:])
        )
    return {"seconds": seconds, "lines": lines, "peak_mb": usage.ru_maxrss / 1024}


def epoch_seconds(result):
    times = [t for t, line in result["lines"] if line.startswith("epoch ")]
    return [
        round(b - a, 2) for a, b in zip(times, times[1:], strict=True)
    ]  # the first epoch also holds start-up


def test_accuracy(result, summary_path=None):
    if summary_path and summary_path.is_file():
        return json.loads(summary_path.read_text())["test_accuracy"]
    line = next(line for _, line in result["lines"] if line.startswith("result "))
    return json.loads(line[len("result ") :])["test_accuracy"]


def preprocessing_rates(data):
    """Images per second made ready for training: the fast path (all three splits, decoded once, in
    threads), and the course starter's way (one at a time, full decode, resize, crop, normalise),
    measured in this process."""
    import img_classifier as ic

    splits = [data / f"img_{split}.csv" for split in ("train", "val", "test")]
    started = time.time()
    rates = {
        "fast": sum(len(ic.CsvImageDataset(csv_file)) for csv_file in splits)
        / (time.time() - started)
    }
    paths = sorted(data.glob("*/*.jpg"))[:150]
    started = time.time()
    for path in paths:
        ic.normalize(ic.load_image(path, ic.IMG_SIZE, False)[None])
    rates["reference"] = len(paths) / (time.time() - started)
    return rates


def image_runs(model, workdir, epochs):
    data = build_course_like_images(workdir)
    results = {
        "fast": run(
            [
                sys.executable,
                str(ROOT / "img_classifier.py"),
                "--model",
                model,
                "--n_epochs",
                epochs,
                "--data_dir",
                data,
                "--out_dir",
                workdir / "runs",
                "--log_images=False",
                "--run_name",
                model,
            ],
            workdir,
        ),
        "course starter way": run(
            [
                sys.executable,
                str(ROOT / "bench" / "naive_img.py"),
                "--model",
                model,
                "--n_epochs",
                epochs,
                "--data_dir",
                data,
            ],
            workdir,
        ),
    }
    rates = preprocessing_rates(data)
    for name, result in results.items():
        summary = workdir / "runs" / model / "summary.json" if name == "fast" else None
        result.update(
            test_accuracy=test_accuracy(result, summary),
            epochs=epoch_seconds(result),
            images_per_second=rates["fast" if name == "fast" else "reference"],
        )
    return results


def text_runs(model, workdir, epochs):
    if (
        model == "bilstm"
    ):  # no course-starter reference: compared with the one-direction LSTM instead
        result = run(
            [
                sys.executable,
                str(ROOT / "txt_classifier.py"),
                "--model",
                "lstm",
                "--bidirectional",
                "--n_epochs",
                epochs,
                "--data_dir",
                DATA,
                "--out_dir",
                workdir / "runs",
                "--run_name",
                "bilstm-fast",
            ],
            workdir,
        )
        result.update(
            test_accuracy=test_accuracy(result, workdir / "runs" / "bilstm-fast" / "summary.json"),
            epochs=epoch_seconds(result),
        )
        return {"fast": result}
    common = ["--model", model, "--n_epochs", epochs, "--data_dir", DATA]
    results = {
        "fast": run(
            [
                sys.executable,
                str(ROOT / "txt_classifier.py"),
                *common,
                "--out_dir",
                workdir / "runs",
                "--run_name",
                f"{model}-fast",
            ],
            workdir,
        ),
        "course starter way": run(
            [sys.executable, str(ROOT / "bench" / "naive_txt.py"), *common], workdir
        ),
    }
    for name, result in results.items():
        summary = workdir / "runs" / f"{model}-fast" / "summary.json" if name == "fast" else None
        result.update(test_accuracy=test_accuracy(result, summary), epochs=epoch_seconds(result))
    return results


def report(all_results):
    print(
        "\n| run | way | end to end (s) | vs starter | epoch (s, median) | preprocessing (img/s) "
        "| peak memory (MB) | test accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run_name, results in all_results.items():
        if "course starter way" in results:
            reference, against = results["course starter way"]["seconds"], "x"
        else:  # the bidirectional LSTM: its cost relative to the one-direction LSTM's fast run
            reference, against = (
                all_results.get("text lstm", {}).get("fast", {}).get("seconds"),
                "x of the LSTM's time",
            )
        for way, r in results.items():
            epoch = f"{np.median(r['epochs']):.1f}" if r.get("epochs") else "-"
            rate = f"{r['images_per_second']:.0f}" if r.get("images_per_second") else "-"
            ratio = (
                f"{reference / r['seconds']:.2f}x"
                if against == "x"
                else f"{r['seconds'] / reference:.2f}{against}"
                if reference
                else "-"
            )
            print(
                f"| {run_name} | {way} | {r['seconds']:.0f} | {ratio} | {epoch} "
                f"| {rate} | {r['peak_mb']:.0f} | {r['test_accuracy']:.1%} |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default="mlp,cnn,bow,lstm,bilstm",
        help="comma-separated: mlp, cnn, bow, lstm, bilstm",
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs for every run (default: each script's default)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pytorch-foundations-bench",
        help="where the course-like images, runs and results go (reused between runs)",
    )
    args = parser.parse_args()
    # Each invocation's runs anew: a run name already taken there would get a -2.
    shutil.rmtree(args.workdir / "runs", ignore_errors=True)
    import img_classifier as ic
    import txt_classifier as tc

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"CPU: {os.cpu_count()} cores; torch threads: {__import__('torch').get_num_threads()}; "
        f"workdir {args.workdir}"
    )
    all_results = {}
    for name in args.only.split(","):
        print(f"running {name} ...", flush=True)
        if name in ("mlp", "cnn"):
            all_results[f"image {name}"] = image_runs(
                name, args.workdir, args.epochs or ic.N_EPOCHS
            )
        else:
            all_results[f"text {name}"] = text_runs(name, args.workdir, args.epochs or tc.N_EPOCHS)
    for results in all_results.values():
        for result in results.values():
            result.pop("lines")
    (args.workdir / "results.json").write_text(json.dumps(all_results, indent=2))
    report(all_results)


if __name__ == "__main__":
    main()
