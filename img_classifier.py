"""Classify pictures of parrots, narwhals and axolotls: an MLP baseline against a small CNN.

    python img_classifier.py                      # the course baseline: MLP, SGD, 5 epochs
    python img_classifier.py --model cnn --run_name new-model
    python img_classifier.py --grayscale --run_name grayscale
    python img_classifier.py --help               # every setting with its default
    python img_classifier.py --predict data/parrot/parrot-1.jpg   # use the trained model

Every UPPER_CASE setting below can be edited here or overridden on the command line by its
lower-case name (`--n_epochs 2`, `--no-log_images`). Metrics go to Weights & Biases (offline
into ./wandb when you have no account; `wandb sync` uploads them later) and the trained
model and a summary to OUT_DIR/RUN_NAME/.
"""

import argparse
import contextlib
import difflib
import hashlib
import importlib
import json
import os
import random
import re
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR = "./data"  # folder holding img_train.csv, img_val.csv and img_test.csv
MODEL = "mlp"  # "mlp" (the course baseline) or "cnn"
GRAYSCALE = False  # train on one-channel images; the models adapt their input size
OPTIMIZER = "sgd"  # "sgd", "adam", "adadelta" or "adamw"
LEARNING_RATE = 1e-3  # optimiser step size (Adadelta is usually run with 1.0)
BATCH_SIZE = 8  # training examples per optimiser step
EVAL_BATCH_SIZE = 64  # examples per batch when only measuring: no gradients, so larger is faster
N_EPOCHS = 5  # passes over the training split
SEED = 0  # same seed, same data, same machine: same numbers
IMG_SIZE = 256  # pictures are resized and centre-cropped to IMG_SIZE x IMG_SIZE
RUN_NAME = "neural-the-narwhal"  # wandb run name, and the folder under OUT_DIR
WANDB_PROJECT = "img-classifier"  # wandb project the run is logged to
LOG_IMAGES = True  # on the last epoch, log each split's first batch with captions
OUT_DIR = "./runs"  # model.pth and summary.json go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks cuda, then mps, then cpu; or name one of them
MIXED_PRECISION = "auto"  # "auto": bf16 (or fp16) on a GPU, off on a CPU; or "off", "bf16", "fp16"
COMPILE = False  # torch.compile the model: faster steps after a slow first one
CACHE_DIR = "./.cache"  # decoded pictures are kept here for the next run; "" turns the cache off
FAST_DECODE = True  # let JPEG decoding skip detail a 256-pixel crop cannot show (about 2x faster)
DECODE_THREADS = 0  # threads decoding pictures; 0 means one per CPU core
MEMORY_BUDGET_GB = 4.0  # largest decoded-picture store kept in memory; beyond it, stream from disk
# ----------------------------------------------------------------------------- end of settings

CHOICES = {"MODEL": ["mlp", "cnn"], "OPTIMIZER": ["sgd", "adam", "adadelta", "adamw"],
           "DEVICE": ["auto", "cuda", "mps", "cpu"], "MIXED_PRECISION": ["auto", "off", "bf16", "fp16"]}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = ["LEARNING_RATE", "BATCH_SIZE", "EVAL_BATCH_SIZE", "N_EPOCHS", "IMG_SIZE", "MEMORY_BUDGET_GB"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601 luma, the weights torchvision's Grayscale uses
# The grayscale picture is a weighted sum of the channels, so its mean and spread are too.
GRAY_MEAN = (sum(w * m for w, m in zip(GRAY_WEIGHTS, IMAGENET_MEAN)),)
GRAY_STD = (sum(w * s for w, s in zip(GRAY_WEIGHTS, IMAGENET_STD)),)
CSV_COLUMNS = ["image", "label", "label_idx"]
CHECKPOINT_FORMAT = "img_classifier/1"
CACHE_FORMAT = "img_classifier-cache/1"  # bump when load_image changes, so old caches are not reused


class UserError(Exception):
    """Something the user can fix (a setting, a file); reported as one line, no traceback."""


# ----------------------------------------------------------------------------- command line


def settings_comments():
    """{NAME: comment} for the settings block, read from this file so --help never drifts."""
    source = Path(__file__).read_text(encoding="utf-8")
    block = source.split("# " + "-" * 77 + " settings\n")[1].split("\n# ---")[0]
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*) = .+?  # (.+)$", block, flags=re.M))


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        unknown = re.findall(r"--[\w-]+", message) if "unrecognized" in message else []
        known = [opt for action in self._actions for opt in action.option_strings]
        hints = [difflib.get_close_matches(arg.split("=")[0], known, n=1) for arg in unknown]
        hint = "".join(f"; did you mean {h[0]}?" for h in hints if h)
        self.exit(2, f"{self.prog}: error: {message}{hint} (see --help)\n")


def parse_settings(argv=None):
    """The settings as a dict {lower_case_name: value}, after command-line overrides."""
    parser = _OneLineParser(prog="img_classifier.py", allow_abbrev=False,
                            description=__doc__.split("\n\n")[0])
    for name, comment in settings_comments().items():
        default = globals()[name]
        flags = [f"--{name.lower()}"] + ALIASES.get(name, [])
        if isinstance(default, bool):
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{comment} (default: {default})")
        else:
            parser.add_argument(*flags, type=type(default), default=default, metavar=type(default).__name__.upper(),
                                choices=CHOICES.get(name), help=f"{comment} (default: {default})")
    parser.add_argument("--predict", nargs="+", metavar="IMAGE",
                        help="print the class of each IMAGE using the model saved for RUN_NAME, then exit")
    args = vars(parser.parse_args(argv))
    predict = args.pop("predict")
    check_settings(args)
    return args, predict


def check_settings(cfg):
    for name in POSITIVE:
        if not cfg[name.lower()] > 0:
            raise UserError(f"{name} must be positive, got {cfg[name.lower()]}: "
                            f"edit it in img_classifier.py or pass --{name.lower()} with a positive value.")
    if cfg["model"] == "cnn" and cfg["img_size"] % 8:
        raise UserError(f"IMG_SIZE must be a multiple of 8 for the CNN (it downsamples by 4, then 2), "
                        f"got {cfg['img_size']}: try --img_size 256.")


# ----------------------------------------------------------------------------- data


def resolve_image_path(path_in_csv, data_dir):
    """The file a CSV row names: as written (relative to where you run), else found next to DATA_DIR.

    Course CSVs say `./data/parrot/parrot-1.jpg`, relative to the folder the script runs from.
    Running from elsewhere with --data_dir, the same path is looked up relative to the folder
    that contains DATA_DIR, and then inside DATA_DIR itself (for a data folder with another name).
    """
    written = Path(path_in_csv)
    candidates = [written, data_dir.parent / written]
    parts = written.parts[1:] if written.parts[:1] == ("data",) else written.parts
    candidates.append(data_dir.joinpath(*parts))
    return next((p for p in candidates if p.is_file()), candidates[0])


def load_image(path, img_size, fast_decode=FAST_DECODE):
    """Decode one picture, resize its shorter side to img_size, centre-crop: uint8 (3, S, S)."""
    with Image.open(path) as img:
        if fast_decode:
            # A JPEG decoder can produce 1/2, 1/4 or 1/8 scale almost for free. Asking for at least
            # twice the target keeps the antialiased resize below doing the real work: on 1024-pixel
            # pictures the result differs from a full decode by about 0.5/255 on average.
            img.draft("RGB", (2 * img_size, 2 * img_size))
        img = to_rgb(img)
        # Shorter side to img_size, keeping the aspect ratio (what torchvision's Resize(img_size)
        # does, with the same rounding), then the centre square (CenterCrop). Pillow's resize
        # is antialiased. Done without torchvision, whose import costs a second and a half.
        width, height = img.size
        if width <= height:
            width, height = img_size, int(img_size * height / width)
        else:
            width, height = int(img_size * width / height), img_size
        img = img.resize((width, height), Image.Resampling.BILINEAR)
        left, top = int(round((width - img_size) / 2.0)), int(round((height - img_size) / 2.0))
        img = img.crop((left, top, left + img_size, top + img_size))
        return torch.from_numpy(np.array(img)).permute(2, 0, 1).contiguous()


def to_rgb(img):
    """Any picture as 8-bit RGB: transparency over white, 16-bit values scaled down, CMYK converted."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        values = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(values / 257 if values.max() > 255 else values, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    return img.convert("RGB")


def read_image_csv(csv_file):
    if not csv_file.is_file():
        raise UserError(f"{csv_file} not found: set DATA_DIR (--data_dir) to the folder that holds "
                        f"img_train.csv, img_val.csv and img_test.csv.")
    frame = pd.read_csv(csv_file)
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{csv_file} has no column {', '.join(missing)}: the header must name "
                        f"image, prompt, label and label_idx.")
    if frame.empty:
        raise UserError(f"{csv_file} has no rows: every split needs at least one image.")
    return frame


class CsvImageDataset(Dataset):
    """One split of a course CSV, as (uint8 image (3, S, S), label_idx) items.

    Each picture is decoded once, here, into one uint8 store that serves every epoch and all
    three evaluations; normalising and grayscale happen per batch (`to_model_input`), so the
    store (and its disk cache) is shared by colour and grayscale runs. When the store would
    not fit MEMORY_BUDGET_GB, pictures are decoded on access instead (`stream=True`), which
    DataLoader workers then do in parallel.
    """

    def __init__(self, csv_file, img_size=IMG_SIZE, fast_decode=FAST_DECODE, cache_dir="",
                 decode_threads=0, stream=False):
        self.csv_file = Path(csv_file)
        frame = read_image_csv(self.csv_file)
        data_dir = self.csv_file.parent
        self.image_paths = [resolve_image_path(p, data_dir) for p in frame["image"]]
        self.labels = torch.tensor(frame["label_idx"].tolist(), dtype=torch.long)
        self.label_names = dict(zip(frame["label_idx"], frame["label"]))
        self.img_size, self.fast_decode = img_size, fast_decode
        self.images = None if stream else decode_all(self.image_paths, img_size, fast_decode, cache_dir,
                                                     decode_threads, self.csv_file)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        if self.images is None:
            return load_image(self.image_paths[idx], self.img_size, self.fast_decode), self.labels[idx]
        return self.images[idx], self.labels[idx]

    def to(self, device):
        """Move the store to `device` once, so batches never cross from host to device again."""
        if self.images is not None:
            self.images, self.labels = self.images.to(device), self.labels.to(device)
        return self


def decode_all(paths, img_size, fast_decode, cache_dir, threads, csv_file):
    """All pictures as one uint8 tensor (N, 3, S, S): from the disk cache where it is still valid,
    the rest decoded in parallel threads (decoding releases the GIL; threads measured as fast as
    processes here, without copying pictures between processes)."""
    cache = DecodedCache(cache_dir, csv_file, img_size, fast_decode) if cache_dir else None
    keys = [cache_key(path) for path in paths]
    images = torch.empty((len(paths), 3, img_size, img_size), dtype=torch.uint8)
    cached = cache.load() if cache else {}
    missing = [i for i, key in enumerate(keys) if key not in cached]
    for i, key in enumerate(keys):
        if key in cached:
            images[i] = cached[key]
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count()) as pool:
        for i, image in zip(missing, pool.map(lambda i: load_image(paths[i], img_size, fast_decode), missing)):
            images[i] = image
    if cache and missing:
        cache.save(keys, images)
    return images


def cache_key(path):
    """A picture's identity for the cache: a changed file (size or time) is decoded again."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class DecodedCache:
    """One split's decoded pictures on disk, between runs.

    The file name carries the split's CSV and the preprocessing settings; inside, each picture
    is keyed by path, size and modification time and carries a checksum. A picture whose key
    or checksum does not match is decoded again, and a file that cannot be read is rebuilt:
    the cache is never trusted blindly.
    """

    def __init__(self, cache_dir, csv_file, img_size, fast_decode):
        settings = f"{Path(csv_file).resolve()}|{img_size}|{fast_decode}|{CACHE_FORMAT}"
        digest = hashlib.sha1(settings.encode()).hexdigest()[:12]
        self.path = Path(cache_dir) / f"{Path(csv_file).stem}-{img_size}px-{digest}.pt"
        self.shape = (3, img_size, img_size)

    def load(self):
        """{key: uint8 image} for every entry that is intact; {} when there is no usable file."""
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
            keys, images, checksums = saved["keys"], saved["images"], saved["checksums"]
            assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == self.shape
        except FileNotFoundError:
            return {}
        except Exception:  # damaged, or written by another version: start again
            print(f"note: ignoring unreadable cache file {self.path}; decoding again.")
            return {}
        return {key: image for key, image, checksum in zip(keys, images, checksums)
                if _checksum(image) == checksum}

    def save(self, keys, images):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        torch.save({"keys": keys, "images": images, "checksums": [_checksum(image) for image in images]}, partial)
        partial.replace(self.path)  # a run killed while saving leaves the old cache intact


def _checksum(image):
    return zlib.crc32(image.numpy().tobytes())


def class_names_of(*datasets):
    """Class names in label_idx order, from the CSVs themselves (not a hard-coded 3)."""
    names = {}
    for dataset in datasets:
        names.update(dataset.label_names)
    return [names.get(i, f"class {i}") for i in range(max(names) + 1)]


def to_model_input(images, grayscale):
    """uint8 batch (B, 3, S, S) -> normalised float batch, one channel if grayscale."""
    x = images.float().div_(255)
    if grayscale:
        weights = torch.tensor(GRAY_WEIGHTS, device=x.device).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    mean, std = (GRAY_MEAN, GRAY_STD) if grayscale else (IMAGENET_MEAN, IMAGENET_STD)
    mean = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std


def denormalize(x):
    """Undo the normalisation of a (C, S, S) or (B, C, S, S) batch: viewable values in [0, 1]."""
    channels = x.shape[-3]
    mean, std = (GRAY_MEAN, GRAY_STD) if channels == 1 else (IMAGENET_MEAN, IMAGENET_STD)
    mean = torch.tensor(mean, device=x.device).view(-1, 1, 1)
    std = torch.tensor(std, device=x.device).view(-1, 1, 1)
    return (x * std + mean).clamp(0, 1)


# ----------------------------------------------------------------------------- models


class MLP(nn.Module):
    """The course baseline: flatten, two hidden layers of 512 with ReLU, one logit per class."""

    def __init__(self, in_channels=3, num_classes=3, img_size=IMG_SIZE, hidden=512):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(img_size * img_size * in_channels, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


class CNN(nn.Module):
    """The course's second model; shapes for a 256x256 input in the comments (B = batch)."""

    def __init__(self, in_channels=3, num_classes=3, img_size=IMG_SIZE, width=128):
        super().__init__()
        side = img_size // 4
        self.patchify = nn.Conv2d(in_channels, width, kernel_size=4, stride=4)  # (B, 128, 64, 64)
        self.norm1 = nn.LayerNorm([width, side, side])
        self.conv = nn.Conv2d(width, width, kernel_size=7, padding="same")  # (B, 128, 64, 64)
        self.norm2 = nn.LayerNorm([width, side, side])
        self.expand = nn.Conv2d(width, 2 * width, kernel_size=1)  # (B, 256, 64, 64)
        self.act = nn.GELU()
        self.project = nn.Conv2d(2 * width, width, kernel_size=1)  # (B, 128, 64, 64)
        self.pool = nn.AvgPool2d(kernel_size=2)  # (B, 128, 32, 32)
        self.flatten = nn.Flatten()  # (B, 128*32*32)
        self.linear = nn.Linear(width * (side // 2) ** 2, num_classes)  # (B, classes)

    def forward(self, x):
        x = self.norm1(self.patchify(x))
        x = self.norm2(self.conv(x))
        x = self.project(self.act(self.expand(x)))
        return self.linear(self.flatten(self.pool(x)))


def build_model(cfg, num_classes):
    model_class = {"mlp": MLP, "cnn": CNN}[cfg["model"]]
    return model_class(in_channels=1 if cfg["grayscale"] else 3, num_classes=num_classes,
                       img_size=cfg["img_size"])


def build_optimizer(cfg, model, device):
    optimizer_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
                       "adadelta": torch.optim.Adadelta, "adamw": torch.optim.AdamW}[cfg["optimizer"]]
    # On a GPU the fused kernels update all parameters at once; on a CPU the default (foreach)
    # measured as fast as fused.
    fused = {"fused": True} if device.type == "cuda" and cfg["optimizer"] != "adadelta" else {}
    return optimizer_class(model.parameters(), lr=cfg["learning_rate"], **fused)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def pick_device(name):
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_precision(setting, device):
    """MIXED_PRECISION "auto": bf16 autocast on a GPU that has it, fp16 on one that does not, and
    off on a CPU, where bf16 autocast made both models slower on the 2-core AVX-512 machine this
    project is developed on (see the README's speed section)."""
    if setting != "auto":
        return setting
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "off"


class Runtime:
    """Where and how the arithmetic runs: device, mixed precision, memory layout, grayscale."""

    def __init__(self, cfg):
        self.device = pick_device(cfg["device"])
        self.precision = resolve_precision(cfg["mixed_precision"], self.device)
        self.grayscale = cfg["grayscale"]
        # channels_last lets cuDNN use tensor cores for the CNN; on a CPU it measured slower.
        self.channels_last = cfg["model"] == "cnn" and self.device.type == "cuda"

    def inputs(self, images, labels):
        """A batch from the loader as the model wants it, on the device."""
        X = to_model_input(images.to(self.device, non_blocking=True), self.grayscale)
        if self.channels_last:
            X = X.contiguous(memory_format=torch.channels_last)
        return X, labels.to(self.device, non_blocking=True)

    def autocast(self):
        if self.precision == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)


def train_one_epoch(dataloader, model, loss_fn, optimizer, runtime, scaler, examples_seen, log):
    """One pass over the training split; log(batch_losses, examples_seen_after_each) now and then."""
    model.train()
    # Redraw often on a terminal; when output goes to a log or notebook, now and then.
    progress = tqdm(dataloader, desc="  train", unit="batch", leave=False,
                    mininterval=0.5 if sys.stderr.isatty() else 15)
    started, pending, first_seen = time.time(), [], examples_seen
    for batch, (images, labels) in enumerate(progress, start=1):
        X, y = runtime.inputs(images, labels)
        with runtime.autocast():
            loss = loss_fn(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        examples_seen += len(y)
        if examples_seen == len(y):
            print("  first training batch done", flush=True)  # the wait is over: say so, even in a log
        # The summed loss, reported per example. Kept on the device and read back in groups, so
        # a GPU is not stopped after every batch just to print a number.
        pending.append((loss.detach() / len(y), examples_seen))
        if len(pending) == 25 or batch == len(dataloader):
            losses = torch.stack([loss for loss, _ in pending]).tolist()
            log(losses, [seen for _, seen in pending])
            pending = []
            progress.set_postfix(loss=f"{losses[-1]:.3f}",
                                 img_per_s=f"{(examples_seen - first_seen) / (time.time() - started):.0f}")
    return examples_seen


@torch.inference_mode()
def evaluate(dataloader, model, loss_fn, runtime, keep_first_batch=False):
    """Accuracy (a fraction), mean loss, predictions, and (if asked) the first batch's model inputs."""
    model.eval()
    total_loss, predictions, first_inputs = 0.0, [], None
    for images, labels in dataloader:
        X, y = runtime.inputs(images, labels)
        with runtime.autocast():
            logits = model(X)
        total_loss += loss_fn(logits.float(), y)
        predictions.append(logits.argmax(dim=1))
        if keep_first_batch and first_inputs is None:
            first_inputs = X.float().cpu()
    predictions = torch.cat(predictions).cpu()
    targets = dataloader.dataset.labels.cpu()
    accuracy = (predictions == targets).float().mean().item()
    return accuracy, float(total_loss) / len(targets), predictions, first_inputs


# ----------------------------------------------------------------------------- logging / reporting


def start_wandb(cfg):
    """A wandb run that never blocks on a login prompt.

    WANDB_MODE, when set, decides. Otherwise: online when this machine has wandb credentials,
    offline (files in ./wandb, uploaded later with `wandb sync`) when it has none.
    """
    import wandb  # imported here so that importing this file stays light

    mode = None if os.environ.get("WANDB_MODE") else (
        "online" if wandb.login(prompt=False, verify=False) else "offline")
    try:
        run = wandb.init(project=cfg["wandb_project"], name=cfg["run_name"], config=cfg, mode=mode)
    except Exception as error:  # wandb could not start: train anyway, say so once
        print(f"warning: wandb could not start ({str(error).splitlines()[0]}); training without it.")
        run = wandb.init(mode="disabled")
    if run.settings.mode == "offline" and mode == "offline":
        print(f"wandb: no account configured, logging offline. Upload later with: "
              f"wandb sync {Path(run.dir).parent}")
    run.define_metric("examples_seen", hidden=True)
    run.define_metric("batch_loss", step_metric="examples_seen")
    run.define_metric("epoch", hidden=True)
    for split in ("train", "val", "test"):
        for metric in ("accuracy", "loss"):
            run.define_metric(f"{split}_{metric}", step_metric="epoch")
    return run


def caption(class_names, predicted, true):
    return f"{class_names[predicted]} / {class_names[true]}"


def captioned_images(inputs, predictions, labels, class_names):
    import wandb

    return [wandb.Image(denormalize(x).permute(1, 2, 0).squeeze(-1).numpy(), caption=caption(class_names, p, t))
            for x, p, t in zip(inputs, predictions.tolist(), labels.tolist())]


def per_class_accuracy(predictions, targets, class_names):
    return {name: (predictions[targets == i] == i).float().mean().item()
            for i, name in enumerate(class_names) if (targets == i).any()}


def print_report(cfg, metrics, num_parameters, seconds, per_class):
    print(f"\n{cfg['run_name']}: {cfg['model']}, {num_parameters:,} parameters, "
          f"{cfg['n_epochs']} epochs in {seconds:.0f} s")
    print(f"  {'split':<6}{'accuracy':>10}{'loss':>10}")
    for split in ("train", "val", "test"):
        print(f"  {split:<6}{metrics[f'{split}_accuracy']:>10.1%}{metrics[f'{split}_loss']:>10.4f}")
    print("  test accuracy per class: " + ", ".join(f"{name} {acc:.1%}" for name, acc in per_class.items()))


def save_checkpoint(path, model, cfg, class_names):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "model_state": model.state_dict(),
                "settings": cfg, "class_names": class_names}, partial)
    partial.replace(path)  # atomic: a crash while saving never leaves half a checkpoint


def load_checkpoint(path):
    if not path.is_file():
        raise UserError(f"no trained model at {path}: train one first (python img_classifier.py "
                        f"--run_name NAME), or pass the --run_name (and --out_dir) it was saved under.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"{path} is not a checkpoint this script can read ({type(error).__name__}): "
                        f"train again to recreate it.") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} was not written by img_classifier.py: point --run_name/--out_dir at one that was.")
    model = build_model(checkpoint["settings"], len(checkpoint["class_names"]))
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), checkpoint


# ----------------------------------------------------------------------------- main


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_splits(cfg, device):
    """The three splits, decoded once into memory (on the GPU when it fits) or streamed."""
    data_dir = Path(cfg["data_dir"])
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder "
                        f"that holds img_train.csv, img_val.csv and img_test.csv.")
    csv_files = {split: data_dir / f"img_{split}.csv" for split in ("train", "val", "test")}
    rows = sum(len(read_image_csv(path)) for path in csv_files.values())
    store_gb = rows * 3 * cfg["img_size"] ** 2 / 2**30
    stream = store_gb > cfg["memory_budget_gb"]
    if stream:
        print(f"note: {rows} decoded pictures would take {store_gb:.1f} GB, more than MEMORY_BUDGET_GB = "
              f"{cfg['memory_budget_gb']}; decoding them on the fly with DataLoader workers instead "
              f"(slower; raise --memory_budget_gb if this machine has the memory).")
    started = time.time()
    splits = {split: CsvImageDataset(path, cfg["img_size"], cfg["fast_decode"], cfg["cache_dir"],
                                     cfg["decode_threads"], stream)
              for split, path in csv_files.items()}
    print(f"Loaded {', '.join(f'{len(d)} {s}' for s, d in splits.items())} images "
          f"in {time.time() - started:.1f} s" + (" (streaming)" if stream else ""))
    if not stream and device.type == "cuda" and store_gb * 2**30 < 0.25 * torch.cuda.mem_get_info()[0]:
        for dataset in splits.values():
            dataset.to(device)  # one copy for the whole run instead of one per batch
    return splits


def make_loaders(cfg, splits, device):
    """The evaluation loaders, and a function giving each epoch's training loader."""
    streaming = splits["train"].images is None
    options = {"pin_memory": device.type == "cuda" and splits["train"].labels.device.type == "cpu"}
    if streaming:
        options.update(num_workers=cfg["decode_threads"] or os.cpu_count(), persistent_workers=True)
    eval_loaders = {split: DataLoader(dataset, batch_size=cfg["eval_batch_size"], **options)
                    for split, dataset in splits.items()}

    def train_loader(order):
        """Batches in the given order of training examples (the epoch's shuffle)."""
        return DataLoader(splits["train"], batch_size=cfg["batch_size"], sampler=order, **options)

    return train_loader, eval_loaders


def train(cfg):
    """Train and evaluate one model as `cfg` says; returns the summary it writes."""
    seed_everything(cfg["seed"])
    runtime = Runtime(cfg)
    # Making the first optimiser imports torch._dynamo, about two seconds of work; start that
    # now, in the background, so it overlaps with loading the pictures and starting wandb.
    threading.Thread(target=importlib.import_module, args=("torch._dynamo",), daemon=True).start()
    splits = load_splits(cfg, runtime.device)
    class_names = class_names_of(*splits.values())
    train_loader, eval_loaders = make_loaders(cfg, splits, runtime.device)
    shuffle = torch.Generator().manual_seed(cfg["seed"])

    with ThreadPoolExecutor(max_workers=1) as background:
        wandb_run = background.submit(start_wandb, cfg)  # mostly waiting for wandb's own process
        model = build_model(cfg, len(class_names)).to(runtime.device)
        if runtime.channels_last:
            model = model.to(memory_format=torch.channels_last)
        # Summed over the batch, as in the course starter, so LEARNING_RATE means what it means there.
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        optimizer = build_optimizer(cfg, model, runtime.device)
    run = wandb_run.result()
    num_parameters = count_parameters(model)
    run.summary["num_parameters"] = num_parameters
    print(f"Using {runtime.device} (mixed precision: {runtime.precision}); {cfg['model']} with "
          f"{num_parameters:,} parameters; classes: {', '.join(class_names)}")
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16")
    if cfg["optimizer"] == "adadelta" and cfg["learning_rate"] < 0.1:
        print(f"note: Adadelta is usually run with learning rate 1.0; this run uses {cfg['learning_rate']}.")
    step_model = torch.compile(model) if cfg["compile"] else model  # `model` keeps the plain weights

    def log_batches(losses, examples_seen):
        for loss, seen in zip(losses, examples_seen):
            run.log({"batch_loss": loss, "examples_seen": seen})

    started, examples_seen = time.time(), 0
    for epoch in range(1, cfg["n_epochs"] + 1):
        order = torch.randperm(len(splits["train"]), generator=shuffle).tolist()
        examples_seen = train_one_epoch(train_loader(order), step_model, loss_fn, optimizer, runtime, scaler,
                                        examples_seen, log_batches)
        last = epoch == cfg["n_epochs"]
        metrics, media = {"epoch": epoch}, {}
        for split, loader in eval_loaders.items():
            accuracy, loss, predictions, first_inputs = evaluate(loader, step_model, loss_fn, runtime,
                                                                 keep_first_batch=last and cfg["log_images"])
            metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
            if first_inputs is not None:
                first_labels = loader.dataset.labels[:len(first_inputs)].cpu()
                media[f"predictions/{split}"] = captioned_images(first_inputs, predictions, first_labels, class_names)
        run.log({**metrics, **media})
        print(f"epoch {epoch}/{cfg['n_epochs']}: " + "  ".join(
            f"{s} acc {metrics[f'{s}_accuracy']:.1%} loss {metrics[f'{s}_loss']:.3f}" for s in eval_loaders))
    seconds = time.time() - started
    return finish(cfg, run, model, runtime, eval_loaders["test"], loss_fn, class_names, metrics, predictions,
                  num_parameters, seconds, examples_seen)


def finish(cfg, run, model, runtime, test_loader, loss_fn, class_names, metrics, predictions, num_parameters,
           seconds, examples_seen):
    """Save the model and summary, check the saved model, log the final figures, print the report."""
    import wandb

    targets = test_loader.dataset.labels.cpu()
    per_class = per_class_accuracy(predictions, targets, class_names)
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    checkpoint_path = run_dir / "model.pth"
    save_checkpoint(checkpoint_path, model, cfg, class_names)
    check_reload(checkpoint_path, test_loader, loss_fn, runtime, metrics["test_accuracy"])
    summary = {**metrics, "epochs": cfg["n_epochs"], "num_parameters": num_parameters,
               "seconds": round(seconds, 2), "examples_seen": examples_seen,
               "test_per_class_accuracy": per_class, "device": str(runtime.device),
               "mixed_precision": runtime.precision, "settings": cfg}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    run.log({"test_confusion_matrix": wandb.plot.confusion_matrix(
        y_true=targets.tolist(), preds=predictions.tolist(), class_names=class_names)})
    run.summary.update({**metrics, "seconds": seconds,
                        **{f"test_accuracy/{name}": acc for name, acc in per_class.items()}})
    run.finish()
    print_report(cfg, metrics, num_parameters, seconds, per_class)
    print(f"Saved {checkpoint_path} and {run_dir / 'summary.json'}")
    return summary


def check_reload(path, loader, loss_fn, runtime, expected_accuracy):
    """Load the saved model as `--predict` will, and make sure it scores what was just measured."""
    model = load_checkpoint(path)[0].to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    accuracy = evaluate(loader, model, loss_fn, runtime)[0]
    if abs(accuracy - expected_accuracy) > 1e-6:
        raise RuntimeError(f"reloaded {path} scores {accuracy:.4f} on test, not {expected_accuracy:.4f}")


def predict(cfg, image_paths):
    """Print the predicted class and class probabilities of each picture."""
    model, checkpoint = load_checkpoint(Path(cfg["out_dir"]) / cfg["run_name"] / "model.pth")
    settings, class_names = checkpoint["settings"], checkpoint["class_names"]
    for path in image_paths:
        if not Path(path).is_file():
            raise UserError(f"{path} not found: pass the path of a picture to --predict.")
        with torch.inference_mode():
            image = load_image(path, settings["img_size"], settings["fast_decode"])
            x = to_model_input(image[None], settings["grayscale"])
            probabilities = model(x).softmax(dim=1)[0]
        best = probabilities.argmax().item()
        spread = ", ".join(f"{name} {p:.1%}" for name, p in zip(class_names, probabilities.tolist()))
        print(f"{path}: {class_names[best]} ({spread})")


def main(argv=None):
    try:
        cfg, images_to_predict = parse_settings(argv)
        if images_to_predict:
            predict(cfg, images_to_predict)
        else:
            train(cfg)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
