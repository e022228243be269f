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

Read from the top: settings, data, models, training, logging, main(). Below main() a marked
line starts the machinery (command line, input checks, disk cache, precision, resuming,
wandb fallbacks), which you can skip.
"""

import argparse
import ast
import contextlib
import difflib
import functools
import hashlib
import importlib
import io
import json
import math
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import tokenize
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageOps
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
AUGMENT = False  # train on a random-resized crop and random flip of each picture (torchvision), new every epoch
OUT_DIR = "./runs"  # model.pth and summary.json go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks cuda, then mps, then cpu; or name one of them
MIXED_PRECISION = "auto"  # "auto": bf16 (or fp16) on a GPU, bf16 on a CPU where it pays (README); or "off", "bf16", "fp16"
COMPILE = False  # torch.compile the model: faster steps after a slow first one
CACHE_DIR = "./.cache"  # decoded pictures are kept here for the next run; "" turns the cache off
FAST_DECODE = True  # let JPEG decoding skip detail a 256-pixel crop cannot show (about 2x faster)
DECODE_THREADS = 0  # threads decoding pictures; 0 means one per CPU core
MEMORY_BUDGET_GB = 4.0  # largest decoded-picture store kept in memory; beyond it, stream from disk
# ----------------------------------------------------------------------------- end of settings

# ----------------------------------------------------------------------------- data

# The course normalises with ImageNet's mean and spread. A grayscale picture is a weighted sum of
# the channels (ITU-R 601 luma, what torchvision's Grayscale uses), so its mean and spread are too.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)
GRAY_MEAN = (sum(w * m for w, m in zip(GRAY_WEIGHTS, IMAGENET_MEAN)),)
GRAY_STD = (sum(w * s for w, s in zip(GRAY_WEIGHTS, IMAGENET_STD)),)


def load_image(path, img_size, fast_decode=FAST_DECODE):
    """Decode one picture the course's way: upright, RGB, Resize(img_size), CenterCrop(img_size).
    Returns uint8 (3, S, S); ToTensor's scaling and Normalize happen per batch (`to_model_input`)."""
    with Image.open(path) as img:
        if fast_decode:
            # A JPEG decoder can produce 1/2, 1/4 or 1/8 scale almost for free. Asking for at least
            # twice the target keeps the antialiased resize below doing the real work: on 1024-pixel
            # pictures the result differs from a full decode by about 0.5/255 on average.
            img.draft("RGB", (2 * img_size, 2 * img_size))
        # Phones and cameras store a portrait photo sideways with an EXIF tag saying how to turn it.
        img = to_rgb(ImageOps.exif_transpose(img))
    return course_preprocessing(img_size)(img)


@functools.cache
def course_preprocessing(img_size):
    """The course's Resize (shorter side to img_size) and CenterCrop, as a uint8 tensor.

    torchvision is imported here, when a picture has to be decoded, not at the top: a run whose
    pictures all come from the disk cache never needs it, and importing it takes over a second."""
    from torchvision.transforms import v2

    return v2.Compose([v2.Resize(img_size), v2.CenterCrop(img_size), v2.PILToTensor()])


class CsvImageDataset(Dataset):
    """One split of a course CSV, as (uint8 image (3, S, S), label_idx) items.

    Each picture is decoded once, here, into one uint8 store that serves every epoch and all
    three evaluations; normalising and grayscale happen per batch (`to_model_input`), so the
    store (and its disk cache) is shared by colour and grayscale runs. When the store would
    not fit MEMORY_BUDGET_GB, pictures are decoded on access instead (`stream=True`), which
    DataLoader workers then do in parallel. Pictures that are missing or cannot be decoded
    are all reported together, before any training.
    """

    def __init__(self, csv_file, img_size=IMG_SIZE, fast_decode=FAST_DECODE, cache_dir="",
                 decode_threads=0, stream=False, frame=None):
        self.csv_file = Path(csv_file)
        if frame is None:
            frame = read_csv_checked(self.csv_file, CSV_COLUMNS)
            check_labels({self.csv_file: frame}, contiguous=False)
        self.image_paths = [resolve_image_path(p, self.csv_file.parent) for p in frame["image"]]
        self.labels = torch.tensor([int(float(i)) for i in frame["label_idx"]], dtype=torch.long)
        self.label_names = {int(float(i)): label.strip() for i, label in zip(frame["label_idx"], frame["label"])}
        self.img_size, self.fast_decode = img_size, fast_decode
        if stream:
            self.images, problems = None, check_readable(self.image_paths, decode_threads)
        else:
            self.images, problems = decode_all(self.image_paths, img_size, fast_decode, cache_dir,
                                               decode_threads, self.csv_file)
        if problems:
            raise UserError(listing(f"{len(problems)} picture(s) in {self.csv_file} cannot be used", [
                f"{self.csv_file} row {i + 1}, column image: {frame['image'].iloc[i]} {reason}"
                for i, reason in sorted(problems.items())]) + "\nFix the paths in the image column, or "
                "replace the files (other formats such as PNG, WebP or 16-bit are fine).")

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


def to_model_input(images, grayscale):
    """uint8 batch (B, 3, S, S) -> normalised float batch, one channel if grayscale: the course's
    ToTensor (x / 255) and Normalize(mean, std), done per batch on the device."""
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


class Augment:
    """AUGMENT: each training picture as a random-resized crop (RandomResizedCrop) and, half the
    time, mirrored (RandomHorizontalFlip), both from torchvision, drawn anew for every batch from
    the decoded store, so pictures are still decoded once per run. Its random numbers come from
    a stream of its own (`generator`, seeded by SEED and kept in resume checkpoints), so a run
    repeats exactly and carries on exactly after --resume."""

    def __init__(self, img_size, seed):
        from torchvision.transforms import v2  # imported only when AUGMENT is on

        self.transform = v2.Compose([v2.RandomResizedCrop(img_size, antialias=True), v2.RandomHorizontalFlip()])
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, images):
        # torchvision draws from torch's global generator: lend it this stream for the batch.
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.generator.get_state())
            images = torch.stack([self.transform(image) for image in images])
            self.generator.set_state(torch.get_rng_state())
        return images


def shuffled_batches(size, batch_size, generator):
    """One epoch's batches of training indices: a new shuffle of the whole split, cut in batches."""
    order = torch.randperm(size, generator=generator).tolist()
    return [order[i:i + batch_size] for i in range(0, size, batch_size)]


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
        features = self.flatten(self.pool(x))
        # Under CPU mixed precision the small head stays in fp32: it costs nothing, and oneDNN's
        # bf16 matrix multiply kills the process (SIGFPE) on CPUs with AMX at one size (batch 12).
        with torch.autocast("cpu", enabled=False):
            return self.linear(features.float())


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


def train_one_epoch(dataloader, model, loss_fn, optimizer, runtime, scaler, examples_seen, log,
                    should_stop=lambda: False):
    """One pass over `dataloader`, or until should_stop(); returns (examples_seen, batches done).

    Batch losses stay on the device and are read back in groups (a GPU is not stopped after
    every batch just to print a number), passed to log(losses, examples_seen_after_each) and
    checked: a loss that is not a finite number raises Diverged.
    """
    model.train()
    # Redraw often on a terminal; when output goes to a log or notebook, now and then.
    progress = tqdm(dataloader, desc="  train", unit="batch", leave=False,
                    mininterval=0.5 if sys.stderr.isatty() else 15)
    started, pending, first_seen, batch = time.time(), [], examples_seen, 0
    for batch, (images, labels) in enumerate(progress, start=1):
        X, y = runtime.inputs(images, labels, train=True)
        with runtime.autocast():
            loss = loss_fn(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        examples_seen += len(y)
        if examples_seen == len(y):
            print("  first training batch done", flush=True)  # the wait is over: say so, even in a log
        pending.append((loss.detach() / len(y), examples_seen))  # the summed loss, per example
        stop = should_stop()
        if len(pending) == 25 or batch == len(dataloader) or stop:
            losses = torch.stack([loss for loss, _ in pending]).tolist()
            bad = next((i for i, value in enumerate(losses) if not math.isfinite(value)), None)
            if bad is not None:
                raise Diverged(losses[bad], pending[bad][1])
            log(losses, [seen for _, seen in pending])
            pending = []
            progress.set_postfix(loss=f"{losses[-1]:.3f}",
                                 img_per_s=f"{(examples_seen - first_seen) / (time.time() - started):.0f}")
        if stop:
            break
    progress.close()
    return examples_seen, batch


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


def evaluate_splits(eval_loaders, model, loss_fn, runtime, class_names, images=False):
    """Accuracy and loss on every split, the test predictions, and (with `images`) each
    split's first batch with captions."""
    metrics, media = {}, {}
    for split, loader in eval_loaders.items():
        accuracy, loss, predictions, first_inputs = evaluate(loader, model, loss_fn, runtime, keep_first_batch=images)
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
        if images:
            first_labels = loader.dataset.labels[:len(first_inputs)].cpu()
            media[f"predictions/{split}"] = captioned_images(first_inputs, predictions, first_labels, class_names)
    return metrics, media, predictions


def train(cfg, stop, resume_point=None):
    """Train and evaluate one model as `cfg` says, from scratch or from `resume_point`; returns the
    summary it writes. `stop` (StopRequests) says when Ctrl-C or SIGTERM asked to stop."""
    seed_everything(cfg["seed"])
    background = Background()  # slow starts (an import, wandb) overlap with loading
    runtime = Runtime(cfg)
    class_names, splits = load_splits(cfg, runtime.device)
    train_loader, eval_loaders = make_loaders(cfg, splits, runtime.device)
    background.start_wandb(cfg, cfg["run_name"], resume_point, charts=define_charts)
    model = runtime.place(build_model(cfg, len(class_names)))
    loss_fn = nn.CrossEntropyLoss(reduction="sum")  # summed over the batch, as in the course starter
    optimizer = build_optimizer(cfg, model, runtime.device)
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16")  # fp16 only
    state = TrainingState(cfg, {"model": model, "optimizer": optimizer, "scaler": scaler},
                          {"augment": runtime.augment}, {"class_names": class_names}, stop, resume_point)
    run = state.attach(background.wandb_run())
    num_parameters = count_parameters(model)
    run.summary["num_parameters"] = num_parameters
    print(f"Using {runtime.device}; {cfg['model']} with {num_parameters:,} parameters; "
          f"classes: {', '.join(class_names)}")
    step_model = torch.compile(model) if cfg["compile"] else model  # `model` keeps the plain weights
    metrics = None
    for epoch in state.epochs():
        batches = state.batches(lambda generator: shuffled_batches(len(splits["train"]), cfg["batch_size"], generator))
        try:
            seen, done = train_one_epoch(train_loader(batches), step_model, loss_fn, optimizer, runtime, scaler,
                                         state.examples_seen, log_batches(run), should_stop=state.stop_requested)
        except Diverged as error:
            state.diverged(error, epoch, runtime.precision)
        state.trained(epoch, seen, done)
        metrics, media, test_predictions = evaluate_splits(eval_loaders, step_model, loss_fn, runtime, class_names,
                                                           images=cfg["log_images"] and epoch == cfg["n_epochs"])
        state.evaluated(epoch, metrics["train_loss"], runtime.precision)
        run.log({"epoch": epoch, **metrics, **media})
        print(f"epoch {epoch}/{cfg['n_epochs']}: " + "  ".join(
            f"{s} acc {metrics[f'{s}_accuracy']:.1%} loss {metrics[f'{s}_loss']:.3f}" for s in eval_loaders))
        state.epoch_done(epoch)
    if metrics is None:  # resumed after the last epoch (stopped while finishing): only the results are left
        metrics, _, test_predictions = evaluate_splits(eval_loaders, step_model, loss_fn, runtime, class_names)
    # A stop request from here on lets the run finish: saving the results is the quickest way out.
    summary = finish(cfg, run, model, runtime, eval_loaders["test"], loss_fn, class_names, metrics,
                     test_predictions, num_parameters, state.seconds(), state.examples_seen)
    state.finished()
    return summary


# ----------------------------------------------------------------------------- logging / reporting


def define_charts(run):
    """Batch loss against examples seen, and every epoch metric against the epoch number."""
    run.define_metric("examples_seen", hidden=True)
    run.define_metric("batch_loss", step_metric="examples_seen")
    run.define_metric("epoch", hidden=True)
    for split in ("train", "val", "test"):
        for metric in ("accuracy", "loss"):
            run.define_metric(f"{split}_{metric}", step_metric="epoch")


def log_batches(run):
    """A function logging each batch's loss against the examples seen so far."""
    def log(losses, examples_seen):
        for loss, seen in zip(losses, examples_seen):
            run.log({"batch_loss": loss, "examples_seen": seen})
    return log


def caption(class_names, predicted, true):
    return f"{class_names[predicted]} / {class_names[true]}"


def captioned_images(inputs, predictions, labels, class_names):
    """Model inputs as pictures for wandb, captioned `<predicted> / <true>`."""
    import wandb

    return [wandb.Image(viewable(x), caption=caption(class_names, p, t))
            for x, p, t in zip(inputs, predictions.tolist(), labels.tolist())]


def viewable(x):
    """A normalised model input (C, S, S) as an 8-bit picture (RGB, or L for grayscale).

    Handed to wandb as a PIL image: wandb 0.31 casts float arrays to uint8 without scaling
    them, which turns [0, 1] values into black pictures."""
    pixels = denormalize(x).mul(255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).squeeze(-1).cpu().numpy())


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


def finish(cfg, run, model, runtime, test_loader, loss_fn, class_names, metrics, predictions, num_parameters,
           seconds, examples_seen):
    """Save the model and summary, check the saved model, log the final figures, print the report."""
    import wandb

    targets = test_loader.dataset.labels.cpu()
    per_class = per_class_accuracy(predictions, targets, class_names)
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    checkpoint_path = run_dir / "model.pth"
    save_checkpoint(checkpoint_path, model, cfg, class_names)
    check_reload(checkpoint_path, model, lambda m: evaluate(test_loader, runtime.place(m), loss_fn, runtime)[2])
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


def save_checkpoint(path, model, cfg, class_names):
    atomic_save({"format": CHECKPOINT_FORMAT, "model_state": model.state_dict(),
                 "settings": cfg, "class_names": class_names}, path)


# ----------------------------------------------------------------------------- main


def predict(cfg, image_paths):
    """Print the predicted class and class probabilities of each picture."""
    model, checkpoint = load_checkpoint(Path(cfg["out_dir"]) / cfg["run_name"] / "model.pth")
    settings, class_names = checkpoint["settings"], checkpoint["class_names"]
    for path in image_paths:
        image, problem = try_load_image(Path(path), settings["img_size"], settings["fast_decode"])
        if problem:
            raise UserError(f"{path} {problem}: pass the path of a picture (JPEG, PNG, WebP, ...) to --predict.")
        with torch.inference_mode():
            probabilities = model(to_model_input(image[None], settings["grayscale"])).softmax(dim=1)[0]
        best = probabilities.argmax().item()
        spread = ", ".join(f"{name} {p:.1%}" for name, p in zip(class_names, probabilities.tolist()))
        print(f"{path}: {class_names[best]} ({spread})")


def main(argv=None):
    try:
        cfg, command = parse_settings(argv)
        if command["predict"]:
            predict(cfg, command["predict"])
        else:
            with StopRequests() as stop:  # from here on, Ctrl-C and SIGTERM stop cleanly
                if command["resume"]:
                    cfg, resume_point = load_resume_point(cfg, command["explicit"])
                    train(cfg, stop, resume_point)
                else:
                    train(cfg, stop)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Stopped as stopped:
        print(stopped, file=sys.stderr)
        return stopped.code
    except KeyboardInterrupt:
        print("Interrupted before training started (or by a second Ctrl-C); nothing was saved.", file=sys.stderr)
        return 130
    return 0


# ============================================================================= machinery
# Below this line: command line, input checks, the disk cache, precision and devices, resuming
# and stopping, wandb fallbacks. Nothing here changes what is learned; you can stop reading.

CHOICES = {"MODEL": ["mlp", "cnn"], "OPTIMIZER": ["sgd", "adam", "adadelta", "adamw"],
           "DEVICE": ["auto", "cuda", "mps", "cpu"], "MIXED_PRECISION": ["auto", "off", "bf16", "fp16"]}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = ["LEARNING_RATE", "BATCH_SIZE", "EVAL_BATCH_SIZE", "N_EPOCHS", "IMG_SIZE", "MEMORY_BUDGET_GB"]
CSV_COLUMNS = ["image", "label", "label_idx"]
CHECKPOINT_FORMAT = "img_classifier/1"
RESUME_FORMAT = "img_classifier-resume/2"  # 2: progress keeps the epoch's batches, random streams by name
# Settings --resume may change: they do not change the numbers (or say where the run lives).
RESUMABLE = {"n_epochs", "device", "log_images", "cache_dir", "decode_threads", "memory_budget_gb", "compile",
             "wandb_project", "out_dir", "run_name"}
CACHE_FORMAT = "img_classifier-cache/2"  # bump when load_image changes, so old caches are not reused


# ----------------------------------------------------------------------------- command line


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported without a traceback, one line a problem."""


def settings_block():
    """[(NAME, comment)] for the settings block at the top of this file, read from the file itself
    so that --help, the flags and the wandb config never drift from it. Every line there must be
    blank, a comment, or `NAME = value  # what it does`; any other line stops with a message."""
    path = Path(__file__)
    lines = path.read_text(encoding="utf-8").splitlines()
    start, end = lines.index("# " + "-" * 77 + " settings"), lines.index("# " + "-" * 77 + " end of settings")
    settings = []
    for number, line in enumerate(lines[start + 1:end], start=start + 2):
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
            comment = next((t.string.lstrip("# ").strip() for t in tokens if t.type == tokenize.COMMENT), "")
            code = line[:next((t.start[1] for t in tokens if t.type == tokenize.COMMENT), len(line))].strip()
            if not code:
                continue  # a blank line or a comment
            statement = ast.parse(code).body
            name = statement[0].targets[0].id
            assert len(statement) == 1 and len(statement[0].targets) == 1 and re.fullmatch(r"[A-Z][A-Z0-9_]*", name)
            assert isinstance(globals()[name], (bool, int, float, str))
        except (SyntaxError, tokenize.TokenError, AttributeError, IndexError, KeyError, AssertionError):
            raise UserError(f"{path.name} line {number}, in the settings block: {line.strip()!r} is not a setting; "
                            f"write NAME = value  # what it does (an UPPER_CASE name; a number, a string, True "
                            f"or False), or make the line a comment.") from None
        settings.append((name, comment or "no description"))
    return settings


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        unknown = re.findall(r"--[\w-]+", message) if "unrecognized" in message else []
        known = [opt for action in self._actions for opt in action.option_strings]
        hints = [difflib.get_close_matches(arg.split("=")[0], known, n=1) for arg in unknown]
        hint = "".join(f"; did you mean {h[0]}?" for h in hints if h)
        self.exit(2, f"{self.prog}: error: {message}{hint} (see --help)\n")


def parse_settings(argv=None):
    """The settings as a dict {lower_case_name: value} after command-line overrides, and the
    command: {"predict": files or None, "resume": bool, "explicit": names given on the command
    line (whatever their value, the default included)}."""
    parser = _OneLineParser(prog=Path(__file__).name, allow_abbrev=False, description=__doc__.split("\n\n")[0])
    settings = settings_block()
    for name, comment in settings:
        default = globals()[name]
        flags = [f"--{name.lower()}"] + ALIASES.get(name, [])
        # SUPPRESS: a flag not given leaves no value, so the flags given are known, even at their default.
        if isinstance(default, bool):
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=f"{comment} (default: {default})")
        else:
            metavar = None if name in CHOICES else type(default).__name__.upper()
            parser.add_argument(*flags, type=type(default), default=argparse.SUPPRESS, metavar=metavar,
                                choices=CHOICES.get(name), help=f"{comment} (default: {default})")
    parser.add_argument("--predict", nargs="+", metavar="FILE",
                        help="classify each FILE with the model saved for RUN_NAME (see the docstring), then exit")
    parser.add_argument("--resume", action="store_true",
                        help="carry on with the stopped or crashed run RUN_NAME from its last checkpoint")
    given = vars(parser.parse_args(argv))
    predict, resume = given.pop("predict"), given.pop("resume")
    cfg = {name.lower(): globals()[name] for name, _ in settings} | given
    check_settings(cfg)
    return cfg, {"predict": predict, "resume": resume, "explicit": set(given)}


def check_settings(cfg):
    for name in POSITIVE:
        if not cfg[name.lower()] > 0:
            raise UserError(f"{name} must be positive, got {cfg[name.lower()]}: "
                            f"edit it in img_classifier.py or pass --{name.lower()} with a positive value.")
    if cfg["model"] == "cnn" and cfg["img_size"] % 8:
        raise UserError(f"IMG_SIZE must be a multiple of 8 for the CNN (it downsamples by 4, then 2), "
                        f"got {cfg['img_size']}: try --img_size 256.")
    if cfg["optimizer"] == "adadelta" and cfg["learning_rate"] < 0.1:
        print(f"note: Adadelta is usually run with learning rate 1.0; this run uses {cfg['learning_rate']}.")


# ----------------------------------------------------------------------------- input checks


def read_csv_checked(csv_file, columns):
    """A course CSV with every value as text, or a UserError that says what is wrong with it."""
    if not csv_file.is_file():
        prefix = csv_file.stem.split("_")[0]
        raise UserError(f"{csv_file} not found: set DATA_DIR (--data_dir) to the folder that holds "
                        f"{prefix}_train.csv, {prefix}_val.csv and {prefix}_test.csv.")
    raw = csv_file.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{csv_file} is not UTF-8 text (byte {error.start} is {raw[error.start]:#04x}): "
                        f"save it again with UTF-8 encoding.") from None
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UserError(f"{csv_file} cannot be read as CSV ({str(error).strip().splitlines()[-1]}): check "
                        f"that every field with a comma, quote or line break is in double quotes.") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{csv_file} has no column {', '.join(missing)} (its header has "
                        f"{', '.join(frame.columns) or 'nothing'}): the header must name {', '.join(columns)}.")
    if frame.empty:
        raise UserError(f"{csv_file} has no rows: every split needs at least one example.")
    return frame


def check_labels(frames, contiguous=True):
    """Class names in label_idx order, from the CSVs (not a hard-coded list), after checking
    every row's label and label_idx. `frames` is {csv_file: frame}, the training split first.

    Raises one UserError listing every problem: an empty label, a label_idx that is missing,
    not a whole number or negative, a label and label_idx that disagree with earlier rows, a
    class the training split never shows, or (when `contiguous`: the whole data set, not a
    part of it) class numbers that skip one.
    """
    problems, first_seen = [], {}  # first_seen: label or index -> (its partner, where it was first seen)
    train_file = next(iter(frames))
    for csv_file, frame in frames.items():
        for row, (label, index) in enumerate(zip(frame["label"], frame["label_idx"]), start=1):
            where, label, index = f"{csv_file} row {row}", label.strip(), index.strip()
            if not label:
                problems.append(f"{where}, column label: empty; write the class name.")
            elif not re.fullmatch(r"-?\d+(\.0*)?", index):
                problems.append(f"{where}, column label_idx: {index or 'empty'!r} is not a whole number; "
                                f"use 0, 1, 2, ... one number per class.")
            elif int(float(index)) < 0:
                problems.append(f"{where}, column label_idx: {index} is negative; class numbers start at 0.")
            elif csv_file != train_file and ("label", label) not in first_seen:
                problems.append(f"{where}, column label: class {label!r} never appears in {train_file}, so the "
                                f"model cannot learn it; add training examples of it or remove these rows.")
            else:
                index = int(float(index))
                for key, partner in ((("label", label), index), (("index", index), label)):
                    seen_partner, seen_where = first_seen.setdefault(key, (partner, where))
                    if seen_partner != partner:
                        problems.append(f"{where}: label {label!r} with label_idx {index} disagrees with "
                                        f"{seen_where} ({key[1]!r} goes with {seen_partner!r}); one class, one number.")
                        break
    names = {index: label for (kind, index), (label, _) in first_seen.items() if kind == "index"}
    if contiguous and not problems and sorted(names) != list(range(len(names))):
        problems.append(f"{train_file}, column label_idx: the class numbers are {sorted(names)}; with "
                        f"{len(names)} classes they must be 0 to {len(names) - 1}.")
    if problems:
        raise UserError(listing(f"{len(problems)} problem(s) with labels", problems))
    return [names.get(i, f"class {i}") for i in range(max(names) + 1)]


def listing(title, problems, limit=20):
    """A title line and one indented line per problem (at most `limit` of them)."""
    more = [f"... and {len(problems) - limit} more like these"] if len(problems) > limit else []
    return title + ":\n" + "\n".join(f"  {p}" for p in problems[:limit] + more)


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


def to_rgb(img):
    """Any picture as 8-bit RGB: transparency over white, 16-bit values scaled down, CMYK converted."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        values = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(values / 257 if values.max() > 255 else values, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    return img.convert("RGB")


def try_load_image(path, img_size, fast_decode):
    """(image, None), or (None, why it cannot be used)."""
    if not path.is_file():
        return None, "does not exist"
    try:
        return load_image(path, img_size, fast_decode), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return None, f"cannot be decoded ({str(error).splitlines()[0] or type(error).__name__})"


def check_readable(paths, threads):
    """{row index: why} for pictures that are missing or not pictures at all (streaming mode
    checks only each file's header up front, not the whole picture)."""
    def problem(path):
        if not path.is_file():
            return "does not exist"
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception as error:
            return f"cannot be decoded ({str(error).splitlines()[0] or type(error).__name__})"
        return None

    with ThreadPoolExecutor(max_workers=threads or os.cpu_count()) as pool:
        return {i: why for i, why in enumerate(pool.map(problem, paths)) if why}


def load_splits(cfg, device):
    """Class names and the three splits, checked, then decoded once into memory (on the GPU when
    it fits) or set up to stream. Every problem in the data is reported before training starts."""
    data_dir = Path(cfg["data_dir"])
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder "
                        f"that holds img_train.csv, img_val.csv and img_test.csv.")
    csv_files = [data_dir / f"img_{split}.csv" for split in ("train", "val", "test")]
    frames, problems = {}, []
    for csv_file in csv_files:
        try:
            frames[csv_file] = read_csv_checked(csv_file, CSV_COLUMNS)
        except UserError as error:
            problems.append(str(error))
    if problems:
        raise UserError("\n".join(problems))
    class_names = check_labels(frames)
    rows = sum(len(frame) for frame in frames.values())
    store_gb = rows * 3 * cfg["img_size"] ** 2 / 2**30
    stream = store_gb > cfg["memory_budget_gb"]
    if stream:
        print(f"note: {rows} decoded pictures would take {store_gb:.1f} GB, more than MEMORY_BUDGET_GB = "
              f"{cfg['memory_budget_gb']}; decoding them on the fly with DataLoader workers instead "
              f"(slower; raise --memory_budget_gb if this machine has the memory).")
    started, splits = time.time(), {}
    for split, (csv_file, frame) in zip(("train", "val", "test"), frames.items()):
        try:
            splits[split] = CsvImageDataset(csv_file, cfg["img_size"], cfg["fast_decode"], cfg["cache_dir"],
                                            cfg["decode_threads"], stream, frame)
        except UserError as error:  # carry on, so that every split's problems are listed together
            problems.append(str(error))
    if problems:
        raise UserError("\n".join(problems))
    print(f"Loaded {', '.join(f'{len(d)} {s}' for s, d in splits.items())} images "
          f"in {time.time() - started:.1f} s" + (" (streaming)" if stream else ""))
    if not stream and device.type == "cuda" and store_gb * 2**30 < 0.25 * torch.cuda.mem_get_info()[0]:
        for dataset in splits.values():
            dataset.to(device)  # one copy for the whole run instead of one per batch
    return class_names, splits


def make_loaders(cfg, splits, device):
    """The evaluation loaders, and a function giving a training loader over given batches."""
    streaming = splits["train"].images is None
    options = {"pin_memory": device.type == "cuda" and splits["train"].labels.device.type == "cpu"}
    if streaming:
        options.update(num_workers=cfg["decode_threads"] or os.cpu_count(), persistent_workers=True)
    eval_loaders = {split: DataLoader(dataset, batch_size=cfg["eval_batch_size"], **options)
                    for split, dataset in splits.items()}

    def train_loader(batches):
        """The given batches of training examples (the rest of the epoch's shuffle)."""
        return DataLoader(splits["train"], batch_sampler=batches, **options)

    return train_loader, eval_loaders


# ----------------------------------------------------------------------------- disk cache


def decode_all(paths, img_size, fast_decode, cache_dir, threads, csv_file):
    """All pictures as one uint8 tensor (N, 3, S, S), and {row index: why} for any that failed.

    Pictures come from the disk cache where it is still valid; the rest are decoded in parallel
    threads (decoding releases the GIL; threads measured as fast as processes here, without
    copying pictures between processes)."""
    cache = DecodedCache(cache_dir, csv_file, img_size, fast_decode) if cache_dir else None
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count()) as pool:
        keys = list(pool.map(content_key, paths)) if cache else []
        images, valid = cache.load(keys) if cache else (None, set())
        if images is None:
            images = torch.empty((len(paths), 3, img_size, img_size), dtype=torch.uint8)
        missing = [i for i in range(len(paths)) if i not in valid]
        problems = {}
        decoded = pool.map(lambda i: try_load_image(paths[i], img_size, fast_decode), missing)
        for i, (image, problem) in zip(missing, decoded):
            if problem:
                problems[i] = problem
            else:
                images[i] = image
    if cache and missing and not problems:
        cache.save(keys, images)
    return images, problems


def content_key(path):
    """A picture's identity for the cache: a digest of its bytes. A file replaced by another is
    decoded again even when its size and modification time were kept (copies, `rsync -t`,
    archives). Reading and hashing costs about a tenth of a second for 200 MB of pictures."""
    try:
        return hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest()
    except OSError:
        return None


class DecodedCache:
    """One split's decoded pictures on disk, between runs.

    The file name carries the split's CSV and the preprocessing settings; inside, each picture
    is keyed by a digest of its file's bytes and carries a checksum of its pixels. A picture
    whose key or checksum does not match is decoded again, and a file that cannot be read is
    rebuilt: the cache is never trusted blindly.
    """

    def __init__(self, cache_dir, csv_file, img_size, fast_decode):
        settings = f"{Path(csv_file).resolve()}|{img_size}|{fast_decode}|{CACHE_FORMAT}"
        digest = hashlib.sha1(settings.encode()).hexdigest()[:12]
        self.path = Path(cache_dir) / f"{Path(csv_file).stem}-{img_size}px-{digest}.pt"
        self.shape = (3, img_size, img_size)

    def load(self, keys):
        """The cached pictures for `keys` as a uint8 tensor (N, 3, S, S) and the set of rows in it
        that are valid; (None, empty set) when there is no usable cache file."""
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
            saved_keys, images, checksums = saved["keys"], saved["images"], saved["checksums"]
            assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == self.shape
        except FileNotFoundError:
            return None, set()
        except Exception:  # damaged, or written by another version: start again
            print(f"note: ignoring unreadable cache file {self.path}; decoding again.")
            return None, set()
        if saved_keys == keys:  # the usual case, nothing changed: use the stored tensor as it is
            return images, {i for i, (image, checksum) in enumerate(zip(images, checksums))
                            if _checksum(image) == checksum}
        row_of = {key: row for row, key in enumerate(saved_keys)}
        found, valid = torch.empty((len(keys), *self.shape), dtype=torch.uint8), set()
        for i, key in enumerate(keys):
            row = row_of.get(key)
            if row is not None and _checksum(images[row]) == checksums[row]:
                found[i] = images[row]
                valid.add(i)
        return found, valid

    def save(self, keys, images):
        # Written whole under a name of its own, then renamed: a run killed while saving leaves
        # the old cache intact, and two runs saving at once never write into the same file.
        atomic_save({"keys": keys, "images": images, "checksums": [_checksum(image) for image in images]}, self.path)


def _checksum(image):
    return zlib.crc32(image.numpy())  # reads the tensor's memory in place, no copy


# ----------------------------------------------------------------------------- devices and precision


def pick_device(name):
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_precision(setting, device, model_name, cpu=None):
    """(MIXED_PRECISION to use, why) for this device and model; `cpu` is `cpu_features()`.

    On a GPU, "auto" is bf16 where the GPU has it and fp16 (with loss scaling) where not. On a
    CPU it depends on the CPU and the model, as measured (README, "Speed"): the CNN's
    convolutions train 3-4x faster in bf16 on Intel CPUs with AMX and about 2x faster on an AMD
    EPYC with avx512_bf16, but slower on an Intel CPU whose only bf16 support is avx512_bf16; a
    CPU without native bf16 emulates it, several times slower. The MLP is one big matrix
    multiply, slower in bf16 on every CPU measured, and on CPUs with AMX oneDNN's bf16 matrix
    multiply kills the process (SIGFPE) at its default batch size: it stays in fp32 there.
    """
    if device.type != "cpu":
        if setting != "auto":
            return setting, "as set"
        if device.type == "cuda":
            return ("bf16", "this GPU has bf16") if torch.cuda.is_bf16_supported() else \
                ("fp16", "this GPU has no bf16; fp16 with loss scaling")
        return "off", f"not used on {device.type}"
    cpu = cpu if cpu is not None else cpu_features()
    native = "AMX" if cpu["amx_bf16"] else "avx512_bf16" if cpu["avx512_bf16"] else None
    if model_name == "mlp" and setting == "auto":
        return "off", "the MLP runs slower in bf16 on every CPU measured"
    if model_name == "mlp" and setting == "bf16" and cpu["amx_bf16"]:
        return "off", ("MIXED_PRECISION bf16 is not used for the MLP on a CPU with AMX: oneDNN's bf16 matrix "
                       "multiply crashes (SIGFPE) at its batch sizes there, and bf16 is slower for it anyway")
    if setting != "auto":
        return setting, "as set"
    if native is None:
        return "off", "this CPU has no native bf16"
    if native == "AMX" or cpu["vendor"] == "AMD":
        return "bf16", f"this CPU has native bf16 ({native}), and the CNN trains faster with it"
    return "off", "this CPU's avx512_bf16 made the CNN slower, not faster, on the Intel CPUs measured"


def cpu_features():
    """What this CPU reports about bf16: {"vendor": "Intel"/"AMD"/..., "avx512_bf16": bool, "amx_bf16": bool}.

    Read from torch.cpu.get_capabilities() where this torch has it, else from /proc/cpuinfo."""
    flags, vendor = set(), ""
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text()
        flags = set(re.search(r"^flags\s*:(.*)$", cpuinfo, re.M).group(1).split()) if "flags" in cpuinfo else set()
        vendor = (re.findall(r"^vendor_id\s*:\s*(\S+)", cpuinfo, re.M) or [""])[0]
    with contextlib.suppress(AttributeError, RuntimeError):
        capabilities = torch.cpu.get_capabilities()
        flags |= {name for name, value in capabilities.items() if value is True}
        vendor = vendor or str(capabilities.get("cpu_name", ""))
    vendor = "AMD" if "AMD" in vendor.upper() else "Intel" if "INTEL" in vendor.upper() else vendor
    # oneDNN capped below its bf16 instruction sets (ONEDNN_MAX_CPU_ISA) emulates bf16, as a CPU without them does.
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    native = isa in ("", "ALL") or any(name in isa for name in ("BF16", "AMX", "FP16", "AVX10"))
    return {"vendor": vendor, "avx512_bf16": "avx512_bf16" in flags and native,
            "amx_bf16": "amx_bf16" in flags and native and (isa in ("", "ALL") or "AMX" in isa)}


class Runtime:
    """Where and how the arithmetic runs: device, mixed precision, memory layout, grayscale, augmentation."""

    def __init__(self, cfg):
        self.device = pick_device(cfg["device"])
        self.precision, reason = resolve_precision(cfg["mixed_precision"], self.device, cfg["model"])
        print(f"mixed precision: {self.precision}, {reason}")
        self.grayscale = cfg["grayscale"]
        # channels_last lets cuDNN use tensor cores for the CNN, and AMX run its bf16 convolutions
        # 1.5x faster again; in fp32 on a CPU it measured slower.
        self.channels_last = cfg["model"] == "cnn" and (
            self.device.type == "cuda" or (self.precision == "bf16" and self.device.type == "cpu"
                                           and cpu_features()["amx_bf16"]))
        self.augment = Augment(cfg["img_size"], cfg["seed"]) if cfg["augment"] else None

    def place(self, model):
        """The model on the device, in the memory layout the arithmetic wants."""
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def inputs(self, images, labels, train=False):
        """A batch from the loader as the model wants it, on the device (augmented, if training with AUGMENT)."""
        images = images.to(self.device, non_blocking=True)
        if train and self.augment:
            images = self.augment(images)
        X = to_model_input(images, self.grayscale)
        if self.channels_last:
            X = X.contiguous(memory_format=torch.channels_last)
        return X, labels.to(self.device, non_blocking=True)

    def autocast(self):
        if self.precision == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)


def divergence_cause(cfg, precision):
    """The likely reason a training loss stopped being a number, and what to try."""
    lr, optimizer = cfg["learning_rate"], cfg["optimizer"]
    if optimizer == "sgd" and lr >= 0.05:
        return (f"SGD with learning rate {lr} takes steps too large for this model (the loss is summed over "
                f"the batch, as in the course starter, whose baseline uses 0.001): try --learning_rate 0.001.")
    if optimizer in ("adam", "adamw") and lr >= 0.01:
        return f"{optimizer} with learning rate {lr} is likely too large: try --learning_rate 0.001."
    if precision == "fp16":
        return "fp16 mixed precision can overflow: try --mixed_precision bf16 or off."
    return f"the learning rate ({lr}) is the usual suspect: try a smaller one."


# ----------------------------------------------------------------------------- resuming and stopping


class Diverged(Exception):
    """The training loss stopped being a finite number."""

    def __init__(self, value, examples_seen):
        super().__init__(f"loss {value} after {examples_seen} examples")
        self.value, self.examples_seen = value, examples_seen


class Stopped(Exception):
    """Training ended early; the message says why and what was kept. `code` is the exit status."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class StopRequests:
    """Ctrl-C (SIGINT) or SIGTERM during training become a request to stop after the current
    batch, so that a checkpoint can be saved first. A second Ctrl-C stops at once."""

    def __init__(self):
        self.signal, self._previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        print(f"\n{signal.Signals(signum).name} received: stopping after this batch to save a checkpoint "
              f"(press Ctrl-C again to stop at once, without saving).", flush=True)

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class TrainingState:
    """What lives across the epochs of one training run: progress through the data, the random
    streams, the resume point on disk, stop requests, and the two ways training blows up.

    `parts` are the objects whose state a resume point keeps ({"model": ..., "optimizer": ...});
    `streams` the objects with a random `generator` of their own (None where unused); `extra` is
    saved alongside. Checkpoints are written after every epoch and when a stop is requested, and
    removed once the run has finished.
    """

    def __init__(self, cfg, parts, streams, extra, stop, resume_point=None, path=None):
        self.cfg, self.parts, self.streams, self.extra, self.stop = cfg, parts, streams, extra, stop
        self.path = path or Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth"
        self.run, self.shuffle = None, torch.Generator()
        self.progress = resume_point["progress"] if resume_point else {
            "epoch": 0, "batches": None, "batches_done": 0, "examples_seen": 0, "seconds": 0.0, "wandb_id": None,
            "shuffle_state": self.shuffle.manual_seed(cfg["seed"]).get_state(), "streams": {}}
        self.shuffle.set_state(self.progress["shuffle_state"])
        if resume_point:
            for name, part in parts.items():
                if resume_point[f"{name}_state"]:  # an unused GradScaler saves nothing; there is nothing to load
                    part.load_state_dict(resume_point[f"{name}_state"])
            set_rng_states(resume_point["rng"])
        for name, stream in streams.items():
            if stream is not None and name in self.progress["streams"]:
                stream.generator.set_state(self.progress["streams"][name])
        self.started = time.time() - self.progress["seconds"]

    def attach(self, run):
        """The wandb run, once started: its id is kept, so that --resume logs to the same run."""
        self.run, self.progress["wandb_id"] = run, run.id
        done, planned = self.progress["epoch"], self.cfg["n_epochs"]
        if done == planned and done:
            print(f"Resuming after the last epoch ({done}): only evaluating and saving the results are left.")
        elif done or self.progress["batches_done"]:
            print(f"Resuming after epoch {done}, batch {self.progress['batches_done']} "
                  f"({self.progress['examples_seen']} examples seen).")
        return run

    @property
    def examples_seen(self):
        return self.progress["examples_seen"]

    def seconds(self):
        return time.time() - self.started

    def stop_requested(self):
        return self.stop.signal is not None

    def epochs(self):
        """The epoch numbers left to train."""
        if self.stop_requested():  # asked to stop while loading: there is nothing new to save
            self.run.finish(exit_code=128 + self.stop.signal)
            raise Stopped("stopped before training started; nothing new to save.", code=128 + self.stop.signal)
        return range(self.progress["epoch"] + 1, self.cfg["n_epochs"] + 1)

    def batches(self, draw):
        """The batches of this epoch still to train; draw(generator) gives a new epoch's batches."""
        if self.progress["batches"] is None:
            self.progress.update(batches=draw(self.shuffle), shuffle_state=self.shuffle.get_state(), batches_done=0)
        return self.progress["batches"][self.progress["batches_done"]:]

    def trained(self, epoch, examples_seen, batches):
        """After an epoch's training pass (whole, or cut short by a stop request)."""
        self.progress.update(examples_seen=examples_seen, batches_done=self.progress["batches_done"] + batches)
        if self.stop_requested():
            self._stop_and_save(f"epoch {epoch}, batch {self.progress['batches_done']}")

    def evaluated(self, epoch, train_loss, precision):
        """A training loss that is not a number after the epoch: the last update broke the weights."""
        if not math.isfinite(train_loss):
            self.diverged(Diverged(train_loss, self.examples_seen), epoch, precision)

    def epoch_done(self, epoch):
        self.progress.update(epoch=epoch, batches=None, batches_done=0)
        self.save()  # the last good state, should anything happen in the next epoch
        if self.stop_requested() and epoch < self.cfg["n_epochs"]:
            self._stop_and_save(f"the end of epoch {epoch}")

    def diverged(self, error, epoch, precision):
        """Stop the run: the loss became nan or infinite. The last good checkpoint stays."""
        self.run.finish(exit_code=1)
        kept = (f"The last good checkpoint (end of epoch {epoch - 1}) is kept in {self.path}." if epoch > 1
                else "No checkpoint was kept: it went wrong in the first epoch.")
        raise Stopped(f"error: the training loss became {error.value} in epoch {epoch}, after {error.examples_seen} "
                      f"examples: {divergence_cause(self.cfg, precision)} {kept}", code=1) from None

    def save(self):
        """Everything needed to carry on exactly: weights, optimiser, progress through the data and
        every random number generator; written whole, then renamed."""
        self.progress.update(seconds=self.seconds(), streams={
            name: stream.generator.get_state() for name, stream in self.streams.items() if stream is not None})
        atomic_save({"format": RESUME_FORMAT, "settings": self.cfg, "progress": self.progress, "rng": rng_states(),
                     **{f"{name}_state": part.state_dict() for name, part in self.parts.items()}, **self.extra},
                    self.path)

    def finished(self):
        self.path.unlink(missing_ok=True)  # nothing is left to resume

    def _stop_and_save(self, where):
        self.save()
        self.run.finish(exit_code=128 + self.stop.signal)
        raise Stopped(f"stopped at {where}; saved {self.path}. Continue with the same command plus --resume.",
                      code=128 + self.stop.signal)


def rng_states():
    numpy_state = np.random.get_state()
    states = {"torch": torch.get_rng_state(), "python": random.getstate(),
              "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]]}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states):
    torch.set_rng_state(states["torch"])
    random.setstate((states["python"][0], tuple(states["python"][1]), states["python"][2]))
    np.random.set_state((states["numpy"][0], np.array(states["numpy"][1], dtype=np.uint32), *states["numpy"][2:]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def read_resume_point(path):
    """The resume checkpoint at `path`, or a UserError saying why it cannot be used."""
    try:
        point = torch.load(path, map_location="cpu", weights_only=True)
        assert point["format"] == RESUME_FORMAT
        return point
    except Exception:
        raise UserError(f"{path} is not a resume checkpoint this version of {Path(__file__).name} can read: "
                        f"start the run again without --resume.") from None


def resume_settings(cfg, explicit, saved, progress):
    """The settings to carry on with: the run's own, except for the few flags given now that do
    not change the numbers (more epochs, another device, ...); a UserError for any other change,
    or when nothing would be left to train."""
    changed = sorted(k for k in explicit if k not in RESUMABLE and cfg[k] != saved.get(k))
    if changed:
        raise UserError("--resume carries on with the settings the run started with, but this command changes "
                        + ", ".join(f"{k.upper()} ({saved.get(k)!r} -> {cfg[k]!r})" for k in changed)
                        + ": drop those flags, or start a new run under another --run_name.")
    merged = dict(saved, **{k: cfg[k] for k in RESUMABLE if k in explicit or k in ("out_dir", "run_name")})
    done, planned, wanted = progress["epoch"], saved["n_epochs"], merged["n_epochs"]
    # Finished training but not the results (stopped while finishing): resuming finishes the run.
    if wanted < done or (wanted == done and done < planned):
        raise UserError(f"this run already finished epoch {done} of {planned}, so N_EPOCHS = {wanted} leaves "
                        f"nothing to train: pass --n_epochs {done + 1} or more to carry on, or start a new run "
                        f"without --resume.")
    return merged


def load_resume_point(cfg, explicit):
    """The settings and checkpoint of the interrupted run RUN_NAME, to carry on with."""
    path = Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth"
    if not path.is_file():
        raise UserError(f"nothing to resume at {path}: it is written after each epoch and when a run is "
                        f"stopped, and removed when the run finishes; check --run_name and --out_dir, or "
                        f"start a new run without --resume.")
    point = read_resume_point(path)
    return resume_settings(cfg, explicit, point["settings"], point["progress"]), point


def atomic_save(obj, path):
    """torch.save to a temporary file, then rename: a crash mid-write never spoils what was there,
    and the temporary name is unique, so two processes saving the same file never mix their bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        torch.save(obj, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


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


def check_reload(path, model, predictions):
    """Load the saved model as --predict will and compare its test predictions with the trained
    model's, measured the same way (`predictions(model)`: same device, layout and precision). A
    difference is a warning, never a lost run: the files are already written."""
    reloaded = load_checkpoint(path)[0]
    if not torch.equal(predictions(reloaded), predictions(model)):
        print(f"warning: {path}, reloaded, predicts some test examples differently from the model just trained; "
              f"the checkpoint may not hold what was trained.")


# ----------------------------------------------------------------------------- wandb without surprises


class Background:
    """Slow starts done while the data loads: torch._dynamo, which the first optimiser step
    imports (about two seconds), and, once the data checked out, starting wandb (mostly waiting)."""

    def __init__(self):
        threading.Thread(target=importlib.import_module, args=("torch._dynamo",), daemon=True).start()
        self.pool, self.future = ThreadPoolExecutor(max_workers=1), None

    def start_wandb(self, cfg, name, resume_point=None, **options):
        resume_id = resume_point["progress"]["wandb_id"] if resume_point else None
        self.future = self.pool.submit(start_wandb, cfg, name, resume_id=resume_id, **options)
        self.pool.shutdown(wait=False)

    def wandb_run(self):
        return self.future.result()


def start_wandb(cfg, name, group=None, job_type="train", resume_id=None, charts=None):
    """A wandb run that never blocks on a login prompt and never stops training.

    WANDB_MODE, when set, decides. Otherwise: online when this machine has wandb credentials,
    offline (files in ./wandb, uploaded later with `wandb sync`) when it has none. Online but
    the server cannot be reached: offline, with a warning. wandb cannot start at all: no
    wandb, with a warning (model.pth and summary.json are written all the same).
    `charts(run)` declares the run's charts.
    """
    import wandb  # imported here so that importing this file stays light

    mode = os.environ.get("WANDB_MODE") or ("online" if has_wandb_credentials(wandb) else "offline")
    if mode == "online":
        server = wandb_server(wandb)
        if not reachable(server):
            print(f"warning: cannot reach the wandb server at {server}; logging offline instead.")
            mode = "offline"
    run = None
    for attempt in [mode, "offline"] if mode == "online" else [mode]:
        try:
            run = wandb.init(project=cfg["wandb_project"], name=name, config=cfg, mode=attempt, group=group,
                             job_type=job_type, reinit="finish_previous", id=resume_id,
                             resume="allow" if resume_id else None)
            break
        except Exception as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            print(f"warning: wandb could not start in {attempt} mode ({reason}).")
    if run is None:
        print("warning: training without wandb; model.pth and summary.json are written as usual.")
        try:
            run = wandb.init(mode="disabled")
        except Exception:  # not even that (a setting in the environment it rejects, say)
            run = WithoutWandb()
    if run.settings.mode == "offline":
        print(f"wandb: logging offline. Upload later with: wandb sync {Path(run.dir).parent}")
    if charts:
        charts(run)
    return run


class WithoutWandb:
    """Stands in for a wandb run when wandb cannot start at all: training carries on, unlogged."""

    id, settings = None, argparse.Namespace(mode="disabled")

    def __init__(self):
        self.summary = {}

    def log(self, *args, **kwargs):
        pass

    def define_metric(self, *args, **kwargs):
        pass

    def finish(self, *args, **kwargs):
        pass


def has_wandb_credentials(wandb):
    """Whether an API key is configured (environment, settings file or .netrc): no prompt, no network."""
    try:
        return wandb.login(prompt=False, verify=False)
    except Exception:
        return False


def wandb_server(wandb):
    """The wandb server this machine would log to, as wandb resolves it: WANDB_BASE_URL, else the
    settings file (`wandb login --host ...`, a self-hosted server), else wandb's own default."""
    try:
        return wandb.setup().settings.base_url
    except Exception:
        return os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"


def reachable(url, timeout=3.0):
    """Whether a TCP connection to the server in `url` opens within `timeout` seconds."""
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)),
                                      timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
