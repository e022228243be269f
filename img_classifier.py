"""Classify pictures of parrots, narwhals and axolotls: the course's MLP baseline against a CNN.

    python img_classifier.py                                 # the baseline: MLP, SGD, 5 epochs
    python img_classifier.py --model cnn --run_name new-model
    python img_classifier.py --grayscale --run_name grayscale
    python img_classifier.py --run_name new-model --predict data/parrot/parrot-1.jpg
    torchrun --standalone --nproc_per_node=2 img_classifier.py   # one run over two processes

Every setting below can be edited here or given on the command line by its lower-case name
(`--n_epochs 2`, `--grayscale`, `--grayscale=False`; `--help` lists them). Each run gets a folder
of its own, OUT_DIR/RUN_NAME (RUN_NAME-2, -3, ... when that name is taken), where checkpoint.pth
and summary.json are written after every epoch; metrics go to wandb (offline into ./wandb without
an account). A stopped run carries on with the same command plus --resume and its --run_name.
Read from the top; below main(), a marked line starts machinery you can skip.
"""

import argparse
import contextlib
import json
import math
import os
import random
import re
import signal
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, get_args

import pandas as pd
import torch
import torch.distributed as dist
import wandb
from PIL import Image, ImageOps
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torchvision.transforms import v2
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR: str = "./data"  # folder holding img_train.csv, img_val.csv and img_test.csv
MODEL: Literal["mlp", "cnn"] = "mlp"  # the course baseline, or the CNN
GRAYSCALE: bool = False  # train on one-channel images; the models adapt their input size
OPTIMIZER: Literal["sgd", "adam", "adadelta", "adamw"] = "sgd"  # the course baseline uses SGD
LEARNING_RATE: float = 1e-3  # optimiser step size (Adadelta is usually run with 1.0)
BATCH_SIZE: int = 8  # training examples per optimiser step (per process, under torchrun)
EVAL_BATCH_SIZE: int = 64  # examples per batch when only measuring: without gradients, faster
N_EPOCHS: int = 5  # passes over the training split
SEED: int = 0  # same seed, same data, same machine: same numbers
IMG_SIZE: int = 256  # pictures are resized and centre-cropped to IMG_SIZE x IMG_SIZE
AUGMENT: bool = False  # train on random-resized crops and mirror images, new every epoch
LOG_IMAGES: bool = True  # at the end, log each split's first batch with captions
LOG_MODEL: bool = False  # log checkpoint.pth to wandb as an artifact of type "model"
RUN_NAME: str = "neural-the-narwhal"  # wandb run name and folder in OUT_DIR (-2, -3, ... if taken)
WANDB_PROJECT: str = "img-classifier"  # wandb project the run is logged to
OUT_DIR: str = "./runs"  # where each run's folder goes
DEVICE: Literal["auto", "cuda", "mps", "cpu"] = "auto"  # "auto": a GPU if there is one, else CPU
MIXED_PRECISION: Literal["auto", "off", "bf16", "fp16"] = "auto"  # "auto": README, Reference
FAST_DECODE: bool = True  # let JPEG decoding skip detail the crop cannot show (about 2x faster)
MEMORY_BUDGET_GB: float = 4.0  # keep decoded pictures in memory up to this; decode more on use
# ----------------------------------------------------------------------------- end of settings
DEFAULTS = {name: value for name, value in globals().items() if name.isupper()}  # the block above

# ----------------------------------------------------------------------------- data

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
GRAY_MEAN = 0.458971  # the luma (0.299 R + 0.587 G + 0.114 B) of IMAGENET_MEAN
GRAY_STD = 0.225609  # and of IMAGENET_STD


def load_image(path, img_size, fast_decode):
    """One picture the course's way, as uint8 (3, S, S): upright, RGB, Resize(S), CenterCrop(S).
    The course's ToTensor scaling and Normalize come per batch, in `normalize`."""
    with Image.open(path) as img:
        if fast_decode:
            # A JPEG decoder makes 1/2, 1/4 or 1/8 scale almost for free. Asking for twice the
            # target leaves the real work to the antialiased resize: the crop then differs from a
            # full decode's by 0.5/255 on average.
            img.draft("RGB", (2 * img_size, 2 * img_size))
        img = to_rgb(ImageOps.exif_transpose(img))  # phones store portraits sideways, and say so
    return v2.Compose([v2.Resize(img_size), v2.CenterCrop(img_size), v2.PILToTensor()])(img)


class CsvImageDataset(Dataset):
    """One split of a course CSV as (uint8 picture (3, S, S), label_idx) pairs. Every picture is
    decoded once, here, in threads, and kept in memory for every epoch and evaluation (the course
    starter decodes it on every use); a split past MEMORY_BUDGET_GB is decoded on every use
    instead. Its rows must agree with `class_names` (label_idx -> label), if given."""

    def __init__(self, csv_file, class_names=None):
        frame = read_csv(csv_file, "image")  # a file that cannot be used stops the run, in one line
        self.labels, self.class_names = read_labels(csv_file, frame, class_names)
        self.paths = [picture_path(Path(csv_file).parent, path) for path in frame["image"]]
        self.img_size = IMG_SIZE
        self.fast_decode = FAST_DECODE
        fits_in_memory = len(frame) * 3 * IMG_SIZE**2 <= MEMORY_BUDGET_GB * 2**30
        pictures = []
        problems = []
        # Threads decode in parallel: Pillow's decoders let go of Python's lock (the GIL).
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            for picture, problem in pool.map(try_load, self.paths):
                pictures.append(picture if fits_in_memory else None)
                problems.append(problem)
        check_pictures(csv_file, frame["image"], problems)
        self.images = torch.stack(pictures) if fits_in_memory else None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        if self.images is None:  # too many to keep: decoded on every use
            return load_image(self.paths[idx], self.img_size, self.fast_decode), self.labels[idx]
        return self.images[idx], self.labels[idx]


def load_splits(checkpoint=None):
    """The three splits, decoded (or checked), all with the training split's classes (when
    resuming, the run's own)."""
    class_names = checkpoint["class_names"] if checkpoint else None
    splits = {"train": CsvImageDataset(Path(DATA_DIR) / "img_train.csv", class_names)}
    for split in ("val", "test"):
        csv_file = Path(DATA_DIR) / f"img_{split}.csv"
        splits[split] = CsvImageDataset(csv_file, splits["train"].class_names)
    print(
        f"Loaded {len(splits['train'])} training, {len(splits['val'])} validation and "
        f"{len(splits['test'])} test pictures"
    )
    return splits


def normalize(images):
    """uint8 pictures (B, 3, S, S) -> the model's input: the course's ToTensor and Normalize."""
    x = images.float() / 255
    if GRAYSCALE:  # one channel: the luma, as torchvision's Grayscale computes it
        return v2.functional.normalize(v2.functional.rgb_to_grayscale(x), [GRAY_MEAN], [GRAY_STD])
    return v2.functional.normalize(x, IMAGENET_MEAN, IMAGENET_STD)


def augment(images):
    """AUGMENT: each training picture as a random-resized crop, mirrored half the time."""
    transform = v2.Compose([v2.RandomResizedCrop(IMG_SIZE), v2.RandomHorizontalFlip()])
    return torch.stack([transform(image) for image in images])


# ----------------------------------------------------------------------------- models


class MLP(nn.Module):
    """The course baseline: flatten, two hidden layers of 512 with ReLU, one logit per class."""

    def __init__(self, in_channels=3, num_classes=3, img_size=256, hidden=512):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(img_size * img_size * in_channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


class CNN(nn.Module):
    """The course's second model; shapes for a 256x256 input in the comments (B = batch)."""

    def __init__(self, in_channels=3, num_classes=3, img_size=256, width=128):
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
        features = self.flatten(self.pool(x))
        # Under CPU mixed precision the small head stays in fp32: it costs nothing, and oneDNN's
        # bf16 matrix multiply has killed the process (SIGFPE) on CPUs with AMX at one size.
        with torch.autocast("cpu", enabled=False):
            return self.linear(features.float())


MODELS = {"mlp": MLP, "cnn": CNN}
OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adadelta": torch.optim.Adadelta,
    "adamw": torch.optim.AdamW,
}


def build_model(num_classes):
    in_channels = 1 if GRAYSCALE else 3
    return MODELS[MODEL](in_channels, num_classes, IMG_SIZE)


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(dataloader, model, loss_fn, optimizer, autocast, examples_seen):
    """One pass over the training split, each batch's mean loss logged against the examples seen
    (by this process); returns the new count of examples seen."""
    device = next(model.parameters()).device  # where the model is
    model.train()
    # A progress bar on terminals only (disable=None), not in a log file.
    for X, y in tqdm(dataloader, desc="  train", leave=False, disable=None):
        X, y = X.to(device), y.to(device)
        if AUGMENT:
            X = augment(X)
        with autocast:  # mixed precision, where MIXED_PRECISION chose it
            loss = loss_fn(model(normalize(X)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        examples_seen += len(y)
        wandb.log({"batch_loss": loss.item() / len(y), "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(eval_loaders, model, loss_fn, autocast):
    """{"train_accuracy": ..., "train_loss": ..., ...} (fractions, mean losses), and each split's
    predictions."""
    device = next(model.parameters()).device
    model.eval()
    metrics = {}
    predictions = {}
    for split, dataloader in eval_loaders.items():
        total_loss = 0.0
        predicted = []
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            with autocast:
                logits = model(normalize(X))
            total_loss += loss_fn(logits.float(), y).item()
            predicted.append(logits.argmax(dim=1).cpu())
        predictions[split] = torch.cat(predicted)
        labels = dataloader.dataset.labels
        metrics[f"{split}_accuracy"] = (predictions[split] == labels).float().mean().item()
        metrics[f"{split}_loss"] = total_loss / len(labels)
    return metrics, predictions


def train(folder, checkpoint=None):
    """Train, evaluate and log the model the settings describe, saved in `folder` after every
    epoch; with a `checkpoint`, carry on from it. Returns the summary."""
    device = pick_device()
    rank, world = rank_and_world()  # (0, 1), unless torchrun started several processes
    splits = load_splits(checkpoint)
    class_names = splits["train"].class_names
    # Shuffles the training split anew every epoch (set_epoch, below); under torchrun, each
    # process trains on its own share of it.
    sampler = DistributedSampler(splits["train"], world, rank, seed=seed_for(SEED))
    train_loader = DataLoader(
        splits["train"], BATCH_SIZE, sampler=sampler, num_workers=workers(splits["train"])
    )
    eval_loaders = {
        name: DataLoader(split, EVAL_BATCH_SIZE, num_workers=workers(split))
        for name, split in splits.items()
    }
    torch.manual_seed(SEED)
    model = build_model(len(class_names)).to(device)
    # Summed over the batch, as in the course starter: a larger BATCH_SIZE takes larger steps.
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    optimizer = OPTIMIZERS[OPTIMIZER](model.parameters(), lr=LEARNING_RATE)
    autocast, scaler = mixed_precision(device, model, optimizer)
    done = restore(checkpoint, model, optimizer, scaler)  # epoch 0, or where the run stopped
    # Under torchrun, the processes average their gradients at every step.
    ddp_model = DistributedDataParallel(model) if world > 1 else model
    start_wandb(done["wandb_id"])
    num_parameters = sum(p.numel() for p in model.parameters())
    print(f"Using {device}; {MODEL}, {num_parameters:,} parameters; {class_names}")
    started = time.time() - done["seconds"]  # the run's clock counts the time before a stop
    examples_seen = done["examples_seen"]
    for epoch in range(done["epoch"] + 1, N_EPOCHS + 1):
        sampler.set_epoch(epoch)
        # The epoch's crops come from SEED, the epoch and the process, so --resume draws them again.
        torch.manual_seed(seed_for(SEED, epoch, rank))
        examples_seen = train_one_epoch(
            train_loader, ddp_model, loss_fn, optimizer, autocast, examples_seen
        )
        # Each process measures the whole splits with its own copy of the model (the same).
        metrics, predictions = evaluate(eval_loaders, model, loss_fn, autocast)
        check_loss(metrics["train_loss"], epoch, len(class_names))
        wandb.log({"epoch": epoch, **metrics})
        summary = {"epoch": epoch, **metrics, "examples_seen": examples_seen}
        summary |= {"seconds": round(time.time() - started, 2), "num_parameters": num_parameters}
        if rank == 0:  # under torchrun, the first process writes the files
            save(folder, summary, model, optimizer, scaler, class_names)
        print(
            f"epoch {epoch}/{N_EPOCHS}: accuracy (loss) "
            f"train {metrics['train_accuracy']:.1%} ({metrics['train_loss']:.3f}), "
            f"val {metrics['val_accuracy']:.1%} ({metrics['val_loss']:.3f}), "
            f"test {metrics['test_accuracy']:.1%} ({metrics['test_loss']:.3f})"
        )
    return finish(folder, summary, splits, predictions)


# ----------------------------------------------------------------------------- logging / reporting


def captioned(splits, predictions):
    """Each split's first batch as pictures for wandb, as decoded (in colour, or in grayscale if
    the model sees that), captioned `<predicted> / <true>`."""
    class_names = splits["train"].class_names
    logged = {}
    for split, data in splits.items():
        pictures = []
        for i in range(min(len(data), EVAL_BATCH_SIZE)):
            image, label = data[i]
            picture = v2.functional.to_pil_image(image).convert("L" if GRAYSCALE else "RGB")
            caption = f"{class_names[predictions[split][i]]} / {class_names[label]}"
            pictures.append(wandb.Image(picture, caption=caption))
        logged[f"predictions/{split}"] = pictures
    return logged


def finish(folder, summary, splits, predictions):
    """Log the captioned pictures, the test split's confusion matrix (which classes are taken for
    which; also printed) and the model; report the final figures, and return them."""
    class_names = splits["train"].class_names
    if LOG_IMAGES:
        wandb.log(captioned(splits, predictions))
    true = splits["test"].labels.tolist()
    predicted = predictions["test"].tolist()
    matrix = wandb.plot.confusion_matrix(y_true=true, preds=predicted, class_names=class_names)
    wandb.log({"test_confusion_matrix": matrix})
    if LOG_MODEL:
        log_model(folder)
    wandb.run.summary.update(summary)
    wandb.finish()
    print(confusion_table(true, predicted, class_names))
    print(
        f"{RUN_NAME}: {MODEL}, {summary['num_parameters']:,} parameters, {summary['seconds']:.0f} "
        f"s, test accuracy {summary['test_accuracy']:.1%}. Saved in {folder}: --run_name {RUN_NAME}"
    )
    return summary


# ----------------------------------------------------------------------------- main


def main(argv=None):
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a cluster's stop acts as Ctrl-C
    folder = None
    try:
        pictures, resume = parse_settings(sys.argv[1:] if argv is None else argv)
        if pictures:
            predict(pictures)
        else:
            join_torchrun()  # under torchrun: only the first process prints, logs and writes
            # A folder of its own: RUN_NAME, or RUN_NAME-2, ... (RUN_NAME becomes that name).
            with claim_run_folder(resume) as folder:
                train(folder, read_checkpoint(folder) if resume else None)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(stopped(folder), file=sys.stderr)
        return 130
    finally:
        wandb.finish(exit_code=1)  # a run still open here did not end well
        if dist.is_initialized():  # under torchrun
            dist.destroy_process_group()
    return 0


# ============================================================================= machinery
# Below this line: the command line and checks of the settings, --predict, wandb's start, reading
# the CSVs and pictures, the device, mixed precision, torchrun, run folders and checkpoints.

ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
LEAST = {"LEARNING_RATE": 0, "BATCH_SIZE": 1, "EVAL_BATCH_SIZE": 1, "N_EPOCHS": 1, "SEED": 0}
LEAST["IMG_SIZE"] = 8
# What a flag may change in a run carried on with --resume: where it lives and runs, what it logs.
# (--predict, too, reads a run's own settings.)
CHANGEABLE = ["N_EPOCHS", "DEVICE", "LOG_IMAGES", "LOG_MODEL", "MEMORY_BUDGET_GB", "WANDB_PROJECT"]
CHANGEABLE += ["OUT_DIR", "RUN_NAME"]


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported in one line, without a traceback."""


def true_or_false(text):
    """A boolean flag's value: --augment=True, as a sweep agent writes it; also 1 or 0."""
    if text.lower() not in ("true", "false", "1", "0"):
        raise ValueError(text)  # argparse says: "invalid true_or_false value"
    return text.lower() in ("true", "1")


def parse_settings(argv):
    """Set the settings: the file's, as the command line changes them; for --predict and --resume,
    the run's own, which a flag may change only where CHANGEABLE. Each is read as a flag of the
    type its annotation gives (1 for a float is 1.0), whether edited here or given. Returns the
    files to predict, and whether to resume."""
    kinds = sys.modules[__name__].__annotations__  # the settings block's {NAME: type}
    source = Path(__file__).read_text(encoding="utf-8")
    comments = dict(re.findall(r"^([A-Z][A-Z0-9_]*)\b.*?# (.*)$", source, re.MULTILINE))
    parser = argparse.ArgumentParser(
        prog=Path(__file__).name,
        description=__doc__.split("\n\n")[0],
        usage=argparse.SUPPRESS,  # an error is then one line, not a usage block and the error
        allow_abbrev=False,
        argument_default=argparse.SUPPRESS,  # only the flags given
    )
    for name, default in DEFAULTS.items():
        kind = kinds.get(name, type(default))
        options = {"type": kind}
        if get_args(kind):  # a Literal: one of its values
            options = {"choices": get_args(kind)}
        if kind is bool:  # --grayscale, or --grayscale=True or False
            options = {"type": true_or_false, "nargs": "?", "const": True}
        help = f"{comments.get(name, '')} (default: {default})".replace("%", "%%")  # argparse's %
        parser.add_argument(
            "--" + name.lower(), *ALIASES.get(name, []), dest=name, help=help, **options
        )
    parser.add_argument("--predict", nargs="+", default=[], metavar="FILE", help="classify FILEs")
    parser.add_argument(
        "--resume", action="store_true", default=False, help="carry on with the run RUN_NAME"
    )
    given = vars(parser.parse_args(argv))  # the flags given
    settings = vars(parser.parse_args([f"--{n.lower()}={v}" for n, v in DEFAULTS.items()] + argv))
    pictures = settings.pop("predict")  # the file's settings, checked as flags, and those given
    resume = settings.pop("resume")
    if pictures or resume:  # the run's settings, from its summary
        saved = read_summary(Path(settings["OUT_DIR"]) / settings["RUN_NAME"])["settings"]
        changed = [n for n in given if n in saved and n not in CHANGEABLE and given[n] != saved[n]]
        if changed:
            raise UserError(
                f"{', '.join(changed)}: the run was trained with "
                f"{', '.join(repr(saved[name]) for name in changed)}; leave these flags out, or "
                f"start a new run."
            )
        settings |= {name: value for name, value in saved.items() if name not in CHANGEABLE}
    for name, least in LEAST.items():
        if not least <= settings[name] < 2**63:  # nan is not; nor is what torch cannot hold
            raise UserError(
                f"{name} must be at least {least} (and below 2**63), got {settings[name]}: edit it "
                f"in {Path(__file__).name}, or pass --{name.lower()} with another value."
            )
    globals().update(settings)
    return pictures, resume


def settings():
    """The settings as this run uses them: {NAME: value}."""
    return {name: globals()[name] for name in DEFAULTS}


def predict(paths):
    """Print which run's model answers, then each picture's predicted class and the class
    probabilities (under torchrun, once)."""
    if os.environ.get("RANK", "0") != "0":
        return
    checkpoint = read_checkpoint(Path(OUT_DIR) / RUN_NAME)
    class_names = checkpoint["class_names"]
    model = build_model(len(class_names))
    load_weights(model, checkpoint)
    model.eval()
    done = checkpoint["summary"]
    print(
        f"{RUN_NAME}: {MODEL}, {done['epoch']} epoch(s), test accuracy {done['test_accuracy']:.1%}"
    )
    for path in paths:
        image, problem = try_load(path)
        if problem:
            raise UserError(
                f"{path} {problem}: pass a picture (JPEG, PNG, WebP, ...) to --predict."
            )
        with torch.inference_mode():
            probabilities = model(normalize(image[None])).softmax(dim=1)[0]
        shares = zip(class_names, probabilities.tolist(), strict=True)
        spread = ", ".join(f"{name} {p:.1%}" for name, p in shares)
        print(f"{path}: {class_names[probabilities.argmax()]} ({spread})")


def start_wandb(run_id):
    """A wandb run (the stopped one, given its id) that never waits at a login prompt: online with
    credentials, else offline into ./wandb (also when the server is silent for 15 s); WANDB_MODE,
    when set, decides."""
    has_credentials = False
    with contextlib.suppress(Exception):  # credentials wandb cannot read are no credentials
        has_credentials = wandb.login(prompt=False, verify=False)
    mode = os.environ.get("WANDB_MODE") or ("online" if has_credentials else "offline")
    if mode not in ("online", "offline", "disabled", "dryrun", "run", "shared"):
        raise UserError(
            f"WANDB_MODE={mode} is not a mode wandb knows: set it to offline, or unset it."
        )
    options = {"project": WANDB_PROJECT, "name": RUN_NAME, "config": settings(), "id": run_id}
    try:
        run = wandb.init(
            mode=mode, resume="allow", settings=wandb.Settings(init_timeout=15), **options
        )
    except Exception as error:  # no answer, or the key was refused
        print(f"warning: wandb could not start {mode} ({str(error).strip().splitlines()[0]}).")
        run = wandb.init(mode="offline", resume="allow", **options)
    run.define_metric("*", step_metric="epoch")  # the charts' x-axes
    run.define_metric("batch_loss", step_metric="examples_seen")


def read_summary(folder):
    """The summary.json a run of this script wrote in `folder`, or a UserError saying there is
    none."""
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(
            f"no run of {Path(__file__).name} in {folder}: check --run_name and --out_dir (a run's "
            f"folder is named when it starts), or train one first."
        ) from None


def read_checkpoint(folder):
    """The checkpoint.pth this script wrote in `folder`, or a UserError saying why there is none."""
    try:
        checkpoint = torch.load(folder / "checkpoint.pth", map_location="cpu", weights_only=True)
        is_ours = "model" in checkpoint and "summary" in checkpoint
    except Exception:  # no file, or none torch can read
        is_ours = False
    if not is_ours:
        raise UserError(
            f"no model {Path(__file__).name} can read in {folder}: train one first, or pass the "
            f"--run_name it was trained under."
        )
    return checkpoint


def load_weights(model, checkpoint):
    """The run's weights into `model`, or a UserError if the script now builds another model."""
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        raise UserError(
            f"{RUN_NAME}'s weights do not fit the model this script builds now (was the model "
            f"edited since?): {str(error).splitlines()[1].strip()} Train a new run."
        ) from None


def restore(checkpoint, model, optimizer, scaler):
    """What the run has done: for a new run, nothing yet (epoch 0); for one carried on, its
    summary, with its weights and optimiser state loaded."""
    if checkpoint is None:
        return {"epoch": 0, "examples_seen": 0, "seconds": 0, "wandb_id": None}
    done = checkpoint["summary"]
    if done["epoch"] >= N_EPOCHS:
        raise UserError(
            f"{RUN_NAME} has trained {done['epoch']} epoch(s), and N_EPOCHS is {N_EPOCHS}: pass "
            f"--n_epochs {done['epoch'] + 1} or more to train it further."
        )
    load_weights(model, checkpoint)
    optimizer.load_state_dict(checkpoint["optimizer"])
    if checkpoint["scaler"]:  # a disabled scaler (not fp16) saves nothing
        scaler.load_state_dict(checkpoint["scaler"])
    print(f"Resuming {RUN_NAME} after epoch {done['epoch']}.")
    return done


def save(folder, summary, model, optimizer, scaler, class_names):
    """checkpoint.pth, then summary.json (with the settings and the wandb run's id), each written
    whole to a file of its own, then renamed: a run stopped while saving keeps the epoch before,
    and the summary never tells of more than the checkpoint holds."""
    summary = summary | {"wandb_id": wandb.run.id, "settings": settings()}
    checkpoint = {
        "summary": summary,
        "class_names": class_names,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
    }
    torch.save(checkpoint, folder / "checkpoint.pth.tmp")
    (folder / "checkpoint.pth.tmp").replace(folder / "checkpoint.pth")
    text = json.dumps(summary, indent=2) + "\n"
    (folder / "summary.json.tmp").write_text(text, encoding="utf-8")
    (folder / "summary.json.tmp").replace(folder / "summary.json")


def stopped(folder):
    """What a stop leaves on disk, and how to carry on."""
    if folder is None:  # before the run had a folder, or in --predict
        return "Stopped."
    if not (folder / "summary.json").is_file():
        return "Stopped before the first epoch finished; nothing was saved."
    done = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["epoch"]
    if done == N_EPOCHS:
        return f"Stopped while finishing: {folder} holds all {done} epochs."
    return (
        f"Stopped. Saved: {folder} after epoch {done} of {N_EPOCHS}. Carry on with the same "
        f"command plus --resume --run_name {RUN_NAME}"
    )


@contextlib.contextmanager
def claim_run_folder(resume):
    """This run's folder: with --resume, OUT_DIR/RUN_NAME; else the first of RUN_NAME, RUN_NAME-2,
    -3, ... not taken (under a wandb sweep, RUN_NAME-<its wandb id>: unique on every machine),
    made at once so that no other run takes it too; RUN_NAME becomes its name. Locked while the
    run lives; removed if nothing was saved in it. Under torchrun, the first process claims it."""
    global RUN_NAME
    lock = None
    problem = None
    if rank_and_world()[0] == 0:
        try:
            RUN_NAME = RUN_NAME if resume else take_free_name()
            if os.name == "posix":  # a lock the system lifts when the process ends, however it ends
                import fcntl

                lock = os.open(Path(OUT_DIR) / RUN_NAME, os.O_RDONLY)
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            problem = (
                f"another run is writing to {Path(OUT_DIR) / RUN_NAME} right now: wait for it."
            )
        except OSError as error:
            problem = (
                f"cannot write to {Path(OUT_DIR) / RUN_NAME} ({error.strerror}): pass --out_dir a "
                f"folder you can write to."
            )
    shared = [RUN_NAME, problem]
    if dist.is_initialized():  # every process learns what the first one found
        dist.broadcast_object_list(shared)
    RUN_NAME, problem = shared
    if problem:
        raise UserError(problem)
    folder = Path(OUT_DIR) / RUN_NAME
    try:
        yield folder
    finally:
        if lock is not None:
            os.close(lock)
        if rank_and_world()[0] == 0:
            with contextlib.suppress(OSError):  # only an empty folder can be removed
                folder.rmdir()


def take_free_name():
    """The first of RUN_NAME, RUN_NAME-2, RUN_NAME-3, ... with no folder yet, whose folder it makes
    (at once, so that no other run can take it)."""
    name = RUN_NAME
    if "WANDB_SWEEP_ID" in os.environ:  # set by the sweep agent, with WANDB_RUN_ID
        name = f"{RUN_NAME}-{os.environ['WANDB_RUN_ID']}"
    number = 1
    while True:
        try:
            (Path(OUT_DIR) / name).mkdir(parents=True)
            return name
        except FileExistsError:
            number += 1
            name = f"{RUN_NAME}-{number}"


def seed_for(*numbers):
    """A seed of its own for each (SEED, epoch, process): numbers as close as seed 0 in epoch 2
    and seed 1 in epoch 1 still draw unrelated random numbers, whatever SEED is."""
    return random.Random(str(numbers)).getrandbits(63)  # a string seed is hashed with SHA-512


def rank_and_world():
    """(this process's rank, the number of processes): (0, 1) unless torchrun started it."""
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def join_torchrun():
    """Under torchrun, join the other processes (NCCL on GPUs, else gloo); only the first prints
    and logs."""
    device = pick_device()  # DEVICE checked before anything is written
    if "RANK" not in os.environ:
        return
    gpus = torch.cuda.device_count()
    if device.type == "cuda" and int(os.environ["LOCAL_WORLD_SIZE"]) > gpus:
        raise UserError(
            f"torchrun starts {os.environ['LOCAL_WORLD_SIZE']} processes on this machine, which "
            f"has {gpus} GPU(s): pass torchrun --nproc_per_node={gpus}, or --device cpu."
        )
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.get_rank() > 0:
        sys.stdout = open(os.devnull, "w")
        os.environ["WANDB_MODE"] = "disabled"


def pick_device():
    """DEVICE as a torch.device: "auto" is a GPU (cuda or mps) when PyTorch finds one, else the
    CPU; under torchrun, each process its own GPU."""
    found = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
    if DEVICE not in ("auto", "cpu", found.type):
        raise UserError(
            f"DEVICE is {DEVICE}, but PyTorch finds none here: pass --device auto or cpu."
        )
    device = found if DEVICE == "auto" else torch.device(DEVICE)
    if device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def mixed_precision(device, model, optimizer):
    """MIXED_PRECISION as this hardware runs it, printed: the forward pass's autocast, and fp16's
    loss scaler (disabled otherwise). "auto" is bf16 where the hardware has it natively and it was
    measured faster, fp16 on NVIDIA GPUs without it, else off (bench/README.md)."""
    cpu = torch.cpu.get_capabilities()
    capped = "ONEDNN_MAX_CPU_ISA" in os.environ  # oneDNN told to leave out AMX and bf16: emulated
    amx = cpu.get("amx_bf16") and not capped
    amd_bf16 = "AMD" in cpu.get("cpu_name", "") and cpu.get("avx512_bf16") and not capped
    fast_bf16 = amx or amd_bf16
    precision = MIXED_PRECISION
    if precision == "auto" and device.type == "cuda":  # native bf16: compute capability 8.0 and up
        precision = "bf16" if torch.cuda.get_device_capability(device) >= (8, 0) else "fp16"
    elif precision == "auto":  # on a CPU, only for the CNN (the MLP was slower everywhere)
        precision = "bf16" if device.type == "cpu" and MODEL == "cnn" and fast_bf16 else "off"
    if precision == "bf16" and device.type == "cpu" and MODEL == "mlp" and amx:
        precision = "off"  # oneDNN's bf16 matrix multiply crashes (SIGFPE) on the MLP with AMX
    print(f"mixed precision: {precision} (MIXED_PRECISION {MIXED_PRECISION})")
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    if precision == "fp16":
        scale_losses(model, optimizer, scaler)
    if MODEL == "cnn" and precision != "off":
        model.to(memory_format=torch.channels_last)  # tensor cores, and AMX: 1.3 times as fast
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device.type, dtype, enabled=precision != "off"), scaler


def scale_losses(model, optimizer, scaler):
    """fp16's loss scaling by torch's GradScaler, attached with hooks so that a training step stays
    loss.backward(); optimizer.step(): the gradient entering the model is multiplied by the scale
    (as scaler.scale(loss) does), and each step first unscales the gradients, changes nothing when
    they overflowed (as scaler.step(optimizer) does), then updates the scale."""

    def scale_up(module, grads):
        return tuple(scaler.scale(grad) for grad in grads)

    def unscale_or_skip(optimizer, args, kwargs):
        scaler.unscale_(optimizer)
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
        if not all(grad.isfinite().all() for grad in grads if grad is not None):
            optimizer.zero_grad()  # no gradients: the step changes nothing

    model.register_full_backward_pre_hook(scale_up)
    optimizer.register_step_pre_hook(unscale_or_skip)
    optimizer.register_step_post_hook(lambda *args: scaler.update())


def read_csv(csv_file, data_column):
    """A course CSV's rows as text, or a UserError saying in one line what is wrong with it."""
    if not Path(csv_file).is_file():
        raise UserError(
            f"{csv_file} not found: set DATA_DIR (--data_dir) to the folder that holds "
            f"img_train.csv, img_val.csv and img_test.csv."
        )
    header = Path(csv_file).read_text(encoding="utf-8", errors="replace").partition("\n")[0]
    if ";" in header and "," not in header:  # as Excel saves it where "," is the decimal point
        raise UserError(
            f"{csv_file} is separated by semicolons: save it with commas (in Excel, as CSV UTF-8)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # more fields than the header
            frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, index_col=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.ParserWarning) as error:
        raise UserError(
            f"{csv_file} cannot be read ({str(error).strip().splitlines()[-1]}): save it as "
            f"UTF-8 CSV, each field with a comma, quote or line break in double quotes."
        ) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    if not {data_column, "label", "label_idx"} <= set(frame.columns):
        raise UserError(
            f"{csv_file} has the columns {', '.join(frame.columns)}: its header must name "
            f"{data_column}, label and label_idx."
        )
    if frame.empty:
        raise UserError(f"{csv_file} has no rows: every split needs at least one example.")
    stop_on_rows(csv_file, frame[data_column].str.strip() == "", f"have an empty {data_column}")
    return frame


def read_labels(csv_file, frame, class_names=None):
    """Each row's label_idx as a tensor, and the class names (a list: label_idx -> label): given,
    or the training split's own (each class number's first label); every row must agree."""
    labels = frame["label"].str.strip()
    numbers = pd.to_numeric(frame["label_idx"], errors="coerce")  # 2, or 2.0 as spreadsheets write
    is_class_number = numbers.between(0, 1e6) & (numbers == numbers.round())
    numbers = numbers.where(is_class_number)  # anything else: nan, a row that agrees with no class
    if class_names is None:
        first = labels.groupby(numbers).first()  # each class number's first label
        class_names = list(first)
        if list(first.index) != list(range(len(first))) or first.duplicated().any():
            raise UserError(
                f"{csv_file}: the classes (label_idx: label) are {first.to_dict()}: each needs a "
                f"name of its own and a number, from 0 to {len(first) - 1}."
            )
    names = dict(enumerate(class_names))
    disagree = [names.get(number) != label for number, label in zip(numbers, labels, strict=True)]
    stop_on_rows(csv_file, disagree, f"need a label and label_idx of one class: {names}")
    return torch.tensor(numbers.astype(int).tolist()), class_names


def stop_on_rows(csv_file, bad, problem):
    """A UserError naming how many rows `bad` marks, the first few, and their `problem`."""
    rows = [row for row, is_bad in enumerate(bad, start=1) if is_bad]
    if rows:
        first = ", ".join(map(str, rows[:5]))
        raise UserError(f"{csv_file}: {len(rows)} row(s) (first: {first}) {problem}.")


def picture_path(data_dir, written):
    """A row's picture: its path as written, from the CSV's folder (DATA_DIR); failing that, with
    the course's ./data/ standing for that folder."""
    path = data_dir / written
    if not path.exists():
        path = data_dir / written.removeprefix("./").removeprefix("data/")
    return path


def to_rgb(img):
    """Any picture as 8-bit RGB: transparency over white, CMYK converted; integers scaled so that
    65535 (16-bit white) or the brightest value, if higher, is white; floats so that 1.0, or the
    brightest value, is. (Pillow opens a 16-bit PNG as mode "I;16" or, before Pillow 11, "I".)"""
    if img.mode.startswith("I") or img.mode == "F":
        white = max(1.0 if img.mode == "F" else 65535, img.getextrema()[1])
        img = img.convert("F").point(lambda value: value * 255 / white)
    if img.has_transparency_data:
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    return img.convert("RGB")


def try_load(path):
    """(picture, None), or (None, why it cannot be used)."""
    try:
        return load_image(path, IMG_SIZE, FAST_DECODE), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return None, f"cannot be read ({str(error).splitlines()[0]})"


def check_pictures(csv_file, written, problems):
    failures = [f"{path} {why}" for path, why in zip(written, problems, strict=True) if why]
    if failures:
        problem = (
            f"name pictures that cannot be used: fix the paths (./data/ stands for the CSV's "
            f"folder) or replace the files (PNG, WebP, CMYK, 16-bit are fine). First: {failures[0]}"
        )
        stop_on_rows(csv_file, problems, problem)


def workers(dataset):
    """Pictures not kept in memory are decoded by worker processes, one per CPU core."""
    return 0 if dataset.images is not None else os.cpu_count()


def check_loss(loss, epoch, num_classes):
    """Stop a run whose training loss is not a number, or a thousand times guessing's."""
    if math.isfinite(loss) and loss <= 1000 * math.log(num_classes):
        return
    good_rate = 1.0 if OPTIMIZER == "adadelta" else 1e-3  # the course's rates
    smaller_rate = min(good_rate, LEARNING_RATE / 10)
    raise UserError(
        f"the training loss became {loss:.3g} in epoch {epoch}: {OPTIMIZER} with learning rate "
        f"{LEARNING_RATE:g} takes steps too large for this model. Start again with a smaller one: "
        f"--learning_rate {smaller_rate:g}"
    )


def log_model(folder):
    """checkpoint.pth as a wandb artifact of type "model" (offline, `wandb sync` uploads it),
    named after the run in the letters, digits, - _ and . that wandb allows."""
    artifact = re.sub(r"[^\w.-]", "-", wandb.run.name, flags=re.ASCII) + "-model"
    wandb.run.log_model(folder / "checkpoint.pth", name=artifact)


def confusion_table(true, predicted, class_names):
    """The test split's confusion matrix as text: pictures of each class (rows) taken for which."""
    true_names = pd.Categorical.from_codes(true, class_names)
    predicted_names = pd.Categorical.from_codes(predicted, class_names)
    table = pd.crosstab(
        true_names, predicted_names, rownames=["true"], colnames=["predicted"], dropna=False
    )
    return f"Test pictures, true class (rows) and predicted class (columns):\n{table}"


if __name__ == "__main__":
    sys.exit(main())
