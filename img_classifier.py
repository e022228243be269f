"""Classify pictures of parrots, narwhals and axolotls: the course's MLP baseline against a small CNN.

    python img_classifier.py                                 # the baseline: MLP, SGD, 5 epochs
    python img_classifier.py --model cnn --run_name new-model
    python img_classifier.py --grayscale --run_name grayscale
    python img_classifier.py --predict data/parrot/parrot-1.jpg
    torchrun --standalone --nproc_per_node=2 img_classifier.py   # one run over two processes (BATCH_SIZE each)

Every UPPER_CASE setting below can be edited here or given on the command line by its lower-case name
(`--n_epochs 2`, `--grayscale`, `--grayscale=False`; `--help` lists them). Metrics go to wandb (offline
into ./wandb without an account: `wandb sync` uploads them later), the model and a summary to
OUT_DIR/RUN_NAME/. Ctrl-C stops a run; the same command plus --resume carries on from the last
finished epoch. Read from the top; below main(), a marked line starts machinery you can skip.
"""

import argparse
import ast
import contextlib
import difflib
import hashlib
import io
import json
import math
import os
import re
import shlex
import signal
import sys
import time
import tokenize
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
import wandb
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
BATCH_SIZE = 8  # training examples per optimiser step (per process, under torchrun)
EVAL_BATCH_SIZE = 64  # examples per batch when only measuring: no gradients, so larger is faster
N_EPOCHS = 5  # passes over the training split
SEED = 0  # same seed, same data, same machine: same numbers
IMG_SIZE = 256  # pictures are resized and centre-cropped to IMG_SIZE x IMG_SIZE
AUGMENT = False  # train on random-resized crops and mirror images of the pictures, new every epoch
LOG_IMAGES = True  # on the last epoch, log each split's first batch with captions
LOG_MODEL = False  # log model.pth to wandb as an artifact of type "model" (the MLP's is 400 MB)
RUN_NAME = "neural-the-narwhal"  # wandb run name, and the folder under OUT_DIR
WANDB_PROJECT = "img-classifier"  # wandb project the run is logged to
OUT_DIR = "./runs"  # model.pth, summary.json and the resume point go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks cuda, then mps, then cpu; or name one of them
MIXED_PRECISION = "auto"  # "auto" (on a CPU: bf16 only where it is faster), "off", "bf16" or "fp16"
COMPILE = False  # torch.compile the model: faster steps after a slow first one
FAST_DECODE = True  # let JPEG decoding skip detail a 256-pixel crop cannot show (about 2x faster)
MEMORY_BUDGET_GB = (
    4.0  # a split's decoded pictures are kept in memory up to this size, else decoded on every use
)
# ----------------------------------------------------------------------------- end of settings

# ----------------------------------------------------------------------------- data

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601 luma, what torchvision's Grayscale uses


def load_image(path, img_size=IMG_SIZE, fast_decode=FAST_DECODE):
    """One picture the course's way, as uint8 (3, S, S): upright, RGB, Resize(S), CenterCrop(S).
    The course's ToTensor scaling and Normalize come per batch, in `normalize`."""
    from torchvision.transforms import v2  # imported when needed: it takes a second

    with Image.open(path) as img:
        if fast_decode:
            # A JPEG decoder makes 1/2, 1/4 or 1/8 scale almost for free. Asking for twice the target
            # leaves the real work to the antialiased resize: 0.5/255 from a full decode, on average.
            img.draft("RGB", (2 * img_size, 2 * img_size))
        img = to_rgb(
            ImageOps.exif_transpose(img)
        )  # phones store portraits sideways, with a tag saying so
    return v2.Compose([v2.Resize(img_size), v2.CenterCrop(img_size), v2.PILToTensor()])(img)


def to_rgb(img):
    """Any picture as 8-bit RGB: transparency over white, 16-bit values scaled down, CMYK converted."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        values = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(
            np.clip(values / 257 if values.max() > 255 else values, 0, 255).astype(np.uint8)
        )
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    return img.convert("RGB")


def find_image(path_in_csv, data_dir):
    """The file a CSV row names (`./data/parrot/parrot-1.jpg`): from here, else from DATA_DIR's parent, else in it."""
    written = Path(path_in_csv)
    inside = data_dir.joinpath(
        *(written.parts[1:] if written.parts[:1] == ("data",) else written.parts)
    )
    return next(
        (path for path in (written, data_dir.parent / written, inside) if path.is_file()), written
    )


def try_load_image(path, img_size, fast_decode):
    """(picture, None), or (None, why it cannot be used)."""
    try:
        return load_image(path, img_size, fast_decode), None
    except FileNotFoundError:
        return None, "does not exist"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return (
            None,
            f"cannot be decoded ({str(error).splitlines()[0] if str(error) else type(error).__name__})",
        )


class CsvImageDataset(Dataset):
    """One split of a course CSV, as (uint8 picture (3, S, S), label_idx) pairs. Every picture is decoded once, here,
    in threads, and kept in memory for every epoch and evaluation (the course starter decodes it on every use); a
    split bigger than `memory_gb` is only checked here, and decoded on every use, by DataLoader workers."""

    def __init__(
        self, csv_file, img_size=IMG_SIZE, fast_decode=FAST_DECODE, memory_gb=MEMORY_BUDGET_GB
    ):
        with reading(
            csv_file
        ):  # a missing or malformed file stops with one line saying what to fix
            frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, index_col=False)
        self.csv_file, self.img_size, self.fast_decode = Path(csv_file), img_size, fast_decode
        self.labels, self.label_names = check_labels(self.csv_file, frame, "image")
        self.paths = [find_image(path, self.csv_file.parent) for path in frame["image"]]
        fits_in_memory = len(frame) * 3 * img_size**2 <= memory_gb * 2**30
        with ThreadPoolExecutor(
            os.cpu_count()
        ) as pool:  # decoding lets go of Python's lock: threads run at once
            decoded = [
                (image if fits_in_memory else None, problem)
                for image, problem in pool.map(
                    lambda path: try_load_image(path, img_size, fast_decode), self.paths
                )
            ]
        check_pictures(self.csv_file, frame["image"], [problem for _, problem in decoded])
        self.images = torch.stack([image for image, _ in decoded]) if fits_in_memory else None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        if self.images is None:  # too many to keep: decoded on every use
            return load_image(self.paths[idx], self.img_size, self.fast_decode), self.labels[idx]
        return self.images[idx], self.labels[idx]


def load_splits(cfg):
    """The three splits, decoded (or checked), and the class names; every problem in the data listed at once."""
    data_dir, started, splits, problems = Path(cfg["data_dir"]), time.time(), {}, []
    if not data_dir.is_dir():
        raise UserError(
            f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder that holds "
            f"img_train.csv, img_val.csv and img_test.csv."
        )
    for split in ("train", "val", "test"):
        try:
            splits[split] = CsvImageDataset(
                data_dir / f"img_{split}.csv",
                cfg["img_size"],
                cfg["fast_decode"],
                cfg["memory_budget_gb"],
            )
        except UserError as error:  # carry on, so that every split's problems are listed together
            problems.append(str(error))
    if problems:
        raise UserError("\n".join(problems))
    names, streamed = (
        class_names(splits),
        [split for split, data in splits.items() if data.images is None],
    )
    note = (
        f"; {', '.join(streamed)}: past MEMORY_BUDGET_GB, decoded on every use" if streamed else ""
    )
    sizes = ", ".join(f"{len(data)} {split}" for split, data in splits.items())
    print(f"Loaded {sizes} pictures in {time.time() - started:.1f} s{note}")
    return splits, names


def loader_options(dataset, device):
    """Pictures not kept in memory are decoded by worker processes, one per CPU core; pinned memory copies faster."""
    workers = 0 if dataset.images is not None else os.cpu_count()
    return {
        "num_workers": workers,
        "persistent_workers": workers > 0,
        "pin_memory": device.type == "cuda",
    }


def normalize(images, grayscale):
    """uint8 pictures (B, 3, S, S) -> the model's input: the course's ToTensor and Normalize (grayscale: luma)."""
    x = images.float() / 255
    mean, std = (
        torch.tensor(IMAGENET_MEAN, device=x.device),
        torch.tensor(IMAGENET_STD, device=x.device),
    )
    if grayscale:
        luma = torch.tensor(GRAY_WEIGHTS, device=x.device)
        x = (x * luma.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        mean, std = (mean * luma).sum(dim=0, keepdim=True), (std * luma).sum(dim=0, keepdim=True)
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def viewable(image, grayscale):
    """A uint8 picture (3, S, S) as the model sees it, to look at: in colour, or in luma ("L", the same weights)."""
    return Image.fromarray(image.permute(1, 2, 0).cpu().numpy()).convert(
        "L" if grayscale else "RGB"
    )


def augment(images, img_size):
    """AUGMENT: each training picture as a random-resized crop, mirrored half the time (torch's generator draws)."""
    from torchvision.transforms import v2

    transform = v2.Compose(
        [v2.RandomResizedCrop(img_size, antialias=True), v2.RandomHorizontalFlip()]
    )
    return torch.stack([transform(image) for image in images])


# ----------------------------------------------------------------------------- models


class MLP(nn.Module):
    """The course baseline: flatten, two hidden layers of 512 with ReLU, one logit per class."""

    def __init__(self, in_channels=3, num_classes=3, img_size=IMG_SIZE, hidden=512):
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
    return model_class(
        in_channels=1 if cfg["grayscale"] else 3, num_classes=num_classes, img_size=cfg["img_size"]
    )


def build_optimizer(cfg, model):
    optimizer_class = {
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adadelta": torch.optim.Adadelta,
        "adamw": torch.optim.AdamW,
    }[cfg["optimizer"]]
    return optimizer_class(model.parameters(), lr=cfg["learning_rate"])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(
    dataloader, model, loss_fn, optimizer, scaler, autocast, cfg, device, examples_seen, run
):
    """One pass over the training split, each batch's mean loss logged against the examples seen, returned."""
    world = processes()[1]  # under torchrun, the number of processes
    model.train()
    for X, y in tqdm(
        dataloader, desc="  train", leave=False, mininterval=1 if sys.stderr.isatty() else 30
    ):
        X, y = X.to(device), y.to(device)
        if cfg["augment"]:
            X = augment(X, cfg["img_size"])
        X = normalize(X, cfg["grayscale"])
        with autocast:  # mixed precision, where MIXED_PRECISION chose it
            loss = (
                loss_fn(model(X), y) * world
            )  # torchrun averages the processes' gradients: the course sums them
        optimizer.zero_grad()
        scaler.scale(
            loss
        ).backward()  # with MIXED_PRECISION off, these 3 lines are loss.backward(); optimizer.step()
        scaler.step(optimizer)
        scaler.update()
        examples_seen += len(y) * world
        batch_loss = (
            loss.item() / len(y) / world
        )  # the loss is summed over the batch, as in the course starter
        run.log({"batch_loss": batch_loss, "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(dataloader, model, loss_fn, autocast, cfg, device):
    """Accuracy (a fraction), mean loss and predictions on one split, and the split's first batch of inputs."""
    model.eval()
    total_loss, predictions, sample = 0.0, [], None
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        sample = X if sample is None else sample  # the first batch of pictures, to show in wandb
        with autocast:
            logits = model(normalize(X, cfg["grayscale"]))
        total_loss += loss_fn(logits.float(), y).item()
        predictions.append(logits.argmax(dim=1).cpu())
    predictions, labels = torch.cat(predictions), dataloader.dataset.labels
    return (
        (predictions == labels).float().mean().item(),
        total_loss / len(labels),
        predictions,
        sample,
    )


def evaluate_splits(eval_loaders, model, loss_fn, autocast, cfg, device):
    """{"train_accuracy": ..., "train_loss": ..., ...} over every split; each split's predictions and first batch."""
    metrics, predictions, samples = {}, {}, {}
    for split, loader in eval_loaders.items():
        accuracy, loss, predictions[split], samples[split] = evaluate(
            loader, model, loss_fn, autocast, cfg, device
        )
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
    return metrics, predictions, samples


def check_loss(loss, epoch, cfg, num_classes):
    """Stop a run whose training loss is not a number, or 1000 times guessing's (all processes, under torchrun)."""
    if not (math.isfinite(loss) and loss <= 1000 * math.log(num_classes)):
        rate, good = (
            cfg["learning_rate"],
            1.0 if cfg["optimizer"] == "adadelta" else 1e-3,
        )  # the course's rates
        raise Diverged(
            f"the training loss became {loss:.3g} in epoch {epoch}: {cfg['optimizer']} with learning rate "
            f"{rate:g} takes steps too large for this model",
            good if rate > good else rate / 10,
        )


def shuffle_epoch(seed, epoch, size, rank=0, world=1):
    """A new order of the training examples (this process's share: every `world`-th), and torch's generator seeded
    for the epoch's other draws, each from SEED, the stream's name and the epoch: --resume redoes an epoch exactly."""
    shuffle, other = (
        int.from_bytes(hashlib.sha256(f"{seed}/{name}/{epoch}".encode()).digest()[:8], "little")
        for name in ("shuffle", "global")
    )
    torch.manual_seed(other)
    shuffle = torch.Generator().manual_seed(shuffle)
    torch.empty((), dtype=torch.int64).random_(
        generator=shuffle
    )  # as DataLoader(shuffle=True) does: the same order
    order = torch.randperm(size, generator=shuffle).tolist()
    return (order + order[: -size % world])[
        rank::world
    ]  # as many for every process: they step together


def save_resume_point(cfg, epoch, examples_seen, run, model, optimizer, scaler):
    """What --resume needs after a finished epoch (the random numbers of the next come from SEED and its number)."""
    save_atomically(
        {
            "format": RESUME_FORMAT,
            "settings": cfg,
            "epoch": epoch,
            "examples_seen": examples_seen,
            "wandb_id": run.id,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
        },
        Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth",
    )


def start_or_resume(cfg, point, model, optimizer, scaler):
    """(wandb run, epochs done, examples seen): a new run, or the stopped one carried on from `point`."""
    if point is None:
        (Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth").unlink(
            missing_ok=True
        )  # an earlier run's
        return start_wandb(cfg), 0, 0
    model.load_state_dict(point["model"])
    optimizer.load_state_dict(point["optimizer"])
    scaler.load_state_dict(
        point["scaler"] or scaler.state_dict()
    )  # an unused GradScaler saved nothing
    print(f"Resuming after epoch {point['epoch']} ({point['examples_seen']} examples seen).")
    return start_wandb(cfg, point["wandb_id"]), point["epoch"], point["examples_seen"]


def train(cfg, resume_point=None):
    """Train, evaluate and log one model as `cfg` says (from `resume_point`, if given); save and return its summary."""
    device, (rank, world) = pick_device(cfg["device"]), processes()
    precision, memory_format = choose_precision(cfg, device)
    splits, class_names = load_splits(cfg)
    order = []  # this process's share of the epoch's order of the training examples: all of them, run alone
    train_loader = DataLoader(
        splits["train"],
        batch_size=cfg["batch_size"],
        sampler=order,
        **loader_options(splits["train"], device),
    )
    eval_loaders = {
        name: DataLoader(split, batch_size=cfg["eval_batch_size"], **loader_options(split, device))
        for name, split in splits.items()
    }
    torch.manual_seed(cfg["seed"])
    model = build_model(cfg, len(class_names)).to(device, memory_format=memory_format)
    loss_fn = nn.CrossEntropyLoss(
        reduction="sum"
    )  # summed over the batch, as in the course starter
    optimizer = build_optimizer(cfg, model)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    autocast = torch.autocast(
        device.type,
        torch.float16 if precision == "fp16" else torch.bfloat16,
        enabled=precision != "off",
    )
    step_model = (
        nn.parallel.DistributedDataParallel(model) if world > 1 else model
    )  # torchrun: one model, N processes
    step_model = (
        torch.compile(step_model) if cfg["compile"] else step_model
    )  # `model` keeps the weights to save
    run, done, examples_seen = start_or_resume(cfg, resume_point, model, optimizer, scaler)
    print(
        f"Using {device}; {cfg['model']}, {count_parameters(model):,} parameters; classes {', '.join(class_names)}"
    )
    started, metrics = time.time(), None
    for epoch in range(done + 1, cfg["n_epochs"] + 1):
        order[:] = shuffle_epoch(cfg["seed"], epoch, len(splits["train"]), rank, world)
        examples_seen = train_one_epoch(
            train_loader,
            step_model,
            loss_fn,
            optimizer,
            scaler,
            autocast,
            cfg,
            device,
            examples_seen,
            run,
        )
        metrics, predictions, samples = evaluate_splits(
            eval_loaders, step_model, loss_fn, autocast, cfg, device
        )
        check_loss(metrics["train_loss"], epoch, cfg, len(class_names))
        pictures = (
            captioned_batches(samples, predictions, splits, class_names, cfg["grayscale"])
            if (cfg["log_images"] and epoch == cfg["n_epochs"])
            else {}
        )
        run.log({"epoch": epoch, **metrics, **pictures})
        if rank == 0:  # under torchrun, the first process writes the files
            save_resume_point(cfg, epoch, examples_seen, run, model, optimizer, scaler)
        print(
            f"epoch {epoch}/{cfg['n_epochs']}: "
            + "  ".join(
                f"{split} acc {metrics[f'{split}_accuracy']:.1%} loss {metrics[f'{split}_loss']:.3f}"
                for split in splits
            )
        )
    if metrics is None:  # resumed after the last epoch: only the results are left to write
        metrics, predictions, _ = evaluate_splits(
            eval_loaders, step_model, loss_fn, autocast, cfg, device
        )
    return (
        finish(
            cfg,
            run,
            model,
            class_names,
            metrics,
            predictions["test"],
            splits["test"].labels,
            precision,
            time.time() - started,
            examples_seen,
        )
        if rank == 0
        else metrics
    )


# ----------------------------------------------------------------------------- logging / reporting


def captioned_batches(samples, predictions, splits, names, grayscale):
    """Each split's first batch as pictures for wandb, captioned `<predicted> / <true>`."""
    return {
        f"predictions/{split}": [
            wandb.Image(viewable(x, grayscale), caption=f"{names[p]} / {names[t]}")
            for x, p, t in zip(inputs, predictions[split].tolist(), splits[split].labels.tolist())
        ]
        for split, inputs in samples.items()
    }


def finish(
    cfg, run, model, class_names, metrics, predictions, labels, precision, seconds, examples_seen
):
    """Save the model and the summary, log the final figures and a confusion matrix, print the report."""
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    per_class = {
        name: (predictions[labels == i] == i).float().mean().item()  # classes the split shows
        for i, name in enumerate(class_names)
        if (labels == i).any()
    }
    save_atomically(
        {
            "format": CHECKPOINT_FORMAT,
            "model_state": model.state_dict(),
            "settings": cfg,
            "class_names": class_names,
        },
        run_dir / "model.pth",
    )
    summary = {
        **metrics,
        "epochs": cfg["n_epochs"],
        "num_parameters": count_parameters(model),
        "seconds": round(seconds, 2),
        "examples_seen": examples_seen,
        "test_per_class_accuracy": per_class,
        "mixed_precision": precision,
        "settings": cfg,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    run.log(
        {
            "test_confusion_matrix": wandb.plot.confusion_matrix(
                y_true=labels.tolist(), preds=predictions.tolist(), class_names=class_names
            )
        }
    )
    if cfg["log_model"]:  # offline, `wandb sync` uploads it with the run
        artifact = wandb.Artifact(
            re.sub(r"[^\w.-]", "-", cfg["run_name"]) + "-model", type="model", metadata=cfg
        )
        artifact.add_file(str(run_dir / "model.pth"))
        run.log_artifact(artifact)
    run.summary.update(
        {
            **metrics,
            "num_parameters": summary["num_parameters"],
            "seconds": seconds,
            **{f"test_accuracy/{name}": accuracy for name, accuracy in per_class.items()},
        }
    )
    run.finish()
    (run_dir / "resume.pth").unlink(missing_ok=True)  # finished: nothing is left to resume
    print(
        f"\n{cfg['run_name']}: {cfg['model']}, {summary['num_parameters']:,} parameters, "
        f"{cfg['n_epochs']} epochs in {seconds:.0f} s\n  {'split':<6}{'accuracy':>10}{'loss':>10}"
    )
    for split in ("train", "val", "test"):
        print(f"  {split:<6}{metrics[f'{split}_accuracy']:>10.1%}{metrics[f'{split}_loss']:>10.4f}")
    print(
        "  test accuracy per class: "
        + ", ".join(f"{name} {acc:.1%}" for name, acc in per_class.items())
    )
    print(f"Saved {run_dir / 'model.pth'} and {run_dir / 'summary.json'}")
    return summary


def start_wandb(cfg, resume_id=None):
    """A wandb run, never waiting at a login prompt: online with credentials, else (or if the server is silent for 15 s)
    offline into ./wandb, for `wandb sync` to upload; WANDB_MODE, when set, decides."""
    online = False
    with contextlib.suppress(Exception):  # credentials wandb cannot read are no credentials
        online = wandb.login(prompt=False, verify=False)
    mode = os.environ.get("WANDB_MODE") or ("online" if online else "offline")
    options = dict(
        project=cfg["wandb_project"],
        name=cfg["run_name"],
        config=cfg,
        id=resume_id,
        resume="allow" if resume_id else None,
    )
    try:
        run = wandb.init(mode=mode, settings=wandb.Settings(init_timeout=15), **options)
    except Exception as error:  # no answer, or the key was refused
        print(
            f"warning: wandb could not start {mode} ({str(error).strip().splitlines()[0]}); logging offline."
        )
        run = wandb.init(mode="offline", **options)
    if run.settings.mode == "offline":
        print(f"wandb: logging offline. Upload later with: wandb sync {Path(run.dir).parent}")
    run.define_metric("batch_loss", step_metric="examples_seen")  # the charts' x-axes
    for metric in [
        f"{split}_{kind}" for split in ("train", "val", "test") for kind in ("accuracy", "loss")
    ]:
        run.define_metric(metric, step_metric="epoch")
    return run


# ----------------------------------------------------------------------------- main


def load_checkpoint(path):
    if not path.is_file():
        raise UserError(
            f"no trained model at {path}: train one first (python {Path(__file__).name} --run_name NAME), "
            f"or pass the --run_name (and --out_dir) it was saved under."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(checkpoint["settings"], len(checkpoint["class_names"]))
        model.load_state_dict(checkpoint["model_state"])
    except Exception:
        raise UserError(
            f"{path} is not a checkpoint this script can read: point --run_name (and --out_dir) at a "
            f"model saved by {Path(__file__).name}, or train again."
        ) from None
    return model.eval(), checkpoint


def predict(cfg, paths):
    """Print the predicted class and the class probabilities of each picture."""
    model, checkpoint = load_checkpoint(Path(cfg["out_dir"]) / cfg["run_name"] / "model.pth")
    settings, class_names = checkpoint["settings"], checkpoint["class_names"]
    for path in paths:
        image, problem = try_load_image(Path(path), settings["img_size"], settings["fast_decode"])
        if problem:
            raise UserError(
                f"{path} {problem}: pass the path of a picture (JPEG, PNG, WebP, ...) to --predict."
            )
        with torch.inference_mode():
            probabilities = model(normalize(image[None], settings["grayscale"])).softmax(dim=1)[0]
        spread = ", ".join(
            f"{name} {p:.1%}" for name, p in zip(class_names, probabilities.tolist())
        )
        print(f"{path}: {class_names[probabilities.argmax()]} ({spread})")


def main(argv=None):
    argv, cfg = sys.argv[1:] if argv is None else argv, None
    signal.signal(
        signal.SIGTERM, signal.default_int_handler
    )  # a cluster's or a notebook's stop acts as Ctrl-C
    try:
        cfg, command = parse_settings(argv)
        if command.predict:
            predict(cfg, command.predict)
        else:  # the first process claims the folder: it stops at once if it cannot be written, or is in use
            with claim_run_folder(cfg) if join_torchrun(cfg) == 0 else contextlib.nullcontext():
                train(*load_resume_point(cfg, command.given) if command.resume else (cfg,))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Diverged as error:
        message, rate = error.args
        print(
            f"error: {message}. Start again with a smaller learning rate: "
            f"{command_line(argv, f'--learning_rate={rate:g}')}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        wandb.finish(exit_code=1)
        saved = cfg and (Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth").is_file()
        print(
            f"Stopped. Carry on from the last finished epoch with: {command_line(argv, '--resume')}"
            if saved
            else "Stopped before the first epoch finished; nothing was saved.",
            file=sys.stderr,
        )
        return 130
    finally:
        if dist.is_initialized():  # under torchrun
            dist.destroy_process_group()
    return 0


# ============================================================================= machinery
# Below this line: the command line, checks of the input, the choice of device and precision, stopping
# and resuming. The data, the models and the training steps are all above; you can stop reading here.

CHOICES = {
    "MODEL": ["mlp", "cnn"],
    "OPTIMIZER": ["sgd", "adam", "adadelta", "adamw"],
    "DEVICE": ["auto", "cuda", "mps", "cpu"],
    "MIXED_PRECISION": ["auto", "off", "bf16", "fp16"],
}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = [
    "LEARNING_RATE",
    "BATCH_SIZE",
    "EVAL_BATCH_SIZE",
    "N_EPOCHS",
    "IMG_SIZE",
    "MEMORY_BUDGET_GB",
]
CHECKPOINT_FORMAT, RESUME_FORMAT = "img_classifier/1", "img_classifier-resume/3"
# Settings --resume may change: where the run lives and runs, and what it logs; not what it trains.
RESUMABLE = {
    "n_epochs",
    "device",
    "log_images",
    "compile",
    "memory_budget_gb",
    "wandb_project",
    "out_dir",
    "run_name",
}


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported without a traceback, one line a problem."""


class Diverged(Exception):
    """The training loss is no longer a number, or far past guessing's: (message, a learning rate to try)."""


def settings_block():
    """[(NAME, default, comment)] for each setting at the top, read from this file: --help never drifts from it."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    start, settings = lines.index("# " + "-" * 77 + " settings"), []
    for number, line in enumerate(
        lines[start + 1 : lines.index("# " + "-" * 77 + " end of settings")], start + 2
    ):
        try:
            comments = [
                t
                for t in tokenize.generate_tokens(io.StringIO(line).readline)
                if t.type == tokenize.COMMENT
            ]
            code = line[: comments[0].start[1]] if comments else line
            if code.strip():  # not a blank line or a comment
                name, value = (part.strip() for part in code.split("=", 1))
                default = ast.literal_eval(value)
                assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and type(default) in (
                    bool,
                    int,
                    float,
                    str,
                )
                settings.append(
                    (
                        name,
                        default,
                        comments[0].string.lstrip("# ") if comments else "no description",
                    )
                )
        except (ValueError, SyntaxError, tokenize.TokenError, AssertionError):
            raise UserError(
                f"{Path(__file__).name} line {number}, in the settings block: {line.strip()!r} is not a "
                f"setting; write NAME = value  # what it does (an UPPER_CASE name; a number, a string, "
                f"True or False), or make the line a comment."
            ) from None
    return settings


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, naming the flag meant when one is misspelt
        known = [option for action in self._actions for option in action.option_strings]
        hints = "".join(
            f"; did you mean {close[0]}?"
            for flag in re.findall(r"--[\w-]+", message)
            if flag not in known and (close := difflib.get_close_matches(flag, known, n=1))
        )
        self.exit(2, f"{self.prog}: error: {message}{hints} (see --help)\n")


def true_or_false(
    text,
):  # a boolean flag's value, as a wandb sweep agent writes it: --grayscale=True
    return ("false", "true").index(
        text.lower()
    ) == 1  # anything else: "invalid true_or_false value"


def parse_settings(argv):
    """The settings {name: value} as the command line sets them; its predict, resume and `given` (settings it names)."""
    parser = Parser(
        prog=Path(__file__).name, description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    for name, default, comment in settings_block():
        flag, help = "--" + name.lower(), f"{comment} (default: {default})"
        if isinstance(default, bool):  # --grayscale, --grayscale=False, --no-grayscale
            parser.add_argument(
                flag,
                nargs="?",
                const=True,
                type=true_or_false,
                metavar="True|False",
                help=help,
                default=argparse.SUPPRESS,
            )  # a flag not given leaves no value: `given` is exact
            parser.add_argument(
                "--no-" + name.lower(),
                dest=name.lower(),
                action="store_false",
                help=argparse.SUPPRESS,
                default=argparse.SUPPRESS,
            )
        else:
            parser.add_argument(
                flag,
                *ALIASES.get(name, []),
                type=type(default),
                choices=CHOICES.get(name),
                metavar=None if name in CHOICES else name,
                help=help,
                default=argparse.SUPPRESS,
            )
    parser.add_argument(
        "--predict",
        nargs="+",
        metavar="FILE",
        help="classify each FILE with RUN_NAME's saved model",
    )
    parser.add_argument(
        "--resume", action="store_true", help="carry on with the stopped run RUN_NAME"
    )
    given = vars(parser.parse_args(argv))
    command = argparse.Namespace(
        predict=given.pop("predict"), resume=given.pop("resume"), given=set(given)
    )
    cfg = {name.lower(): default for name, default, _ in settings_block()} | given
    check_settings(cfg)
    return cfg, command


def check_settings(cfg):
    for name in [*POSITIVE, "SEED"]:
        value = cfg[name.lower()]
        if not (math.isfinite(value) and (value > 0 if name in POSITIVE else value >= 0)):
            raise UserError(
                f"{name} must be {'positive' if name in POSITIVE else '0 or more'}, got {value}: edit it "
                f"in {Path(__file__).name} or pass --{name.lower()} with such a value."
            )
    if cfg["model"] == "cnn" and cfg["img_size"] < 8:
        raise UserError(
            f"IMG_SIZE must be at least 8 for the CNN (it downsamples by 4, then 2), "
            f"got {cfg['img_size']}: try --img_size 256."
        )
    if not {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}.get(
        cfg["device"], lambda: True
    )():
        raise UserError(
            f"DEVICE is {cfg['device']}, but PyTorch finds no such device here: pass --device auto or cpu."
        )
    if os.environ.get("WANDB_MODE", "online") not in (
        "online",
        "offline",
        "disabled",
        "dryrun",
        "run",
        "shared",
    ):
        raise UserError(
            f"WANDB_MODE={os.environ['WANDB_MODE']} is not a mode wandb knows: set it to online, "
            f"offline or disabled, or unset it."
        )


def command_line(argv, *extra):
    """The command that ran, to paste: without --resume, with `extra` ("--name=value") replacing the same flags."""
    names = {"--resume"} | {flag.split("=")[0] for flag in extra}
    names |= {alias for name in names for alias in ALIASES.get(name[2:].upper(), [])}
    kept = [
        arg
        for arg, before in zip(argv, [None, *argv])
        if arg.split("=")[0] not in names and before not in names
    ]
    start = (
        ["torchrun", f"--nproc_per_node={os.environ.get('LOCAL_WORLD_SIZE')}"]
        if "WORLD_SIZE" in os.environ
        else []
    )
    return shlex.join([*(start or ["python"]), Path(__file__).name, *kept, *extra])


@contextlib.contextmanager
def reading(csv_file):
    """Turn a CSV that is missing, not UTF-8 or malformed into one line saying what to fix."""
    if not Path(csv_file).is_file():
        raise UserError(
            f"{csv_file} not found: set DATA_DIR (--data_dir) to the folder that holds "
            f"img_train.csv, img_val.csv and img_test.csv."
        )
    try:
        Path(csv_file).read_bytes().decode("utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter(
                "error", pd.errors.ParserWarning
            )  # a row with more fields than the header
            yield
    except UnicodeDecodeError as error:
        raise UserError(
            f"{csv_file} is not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}): "
            f"save it again with UTF-8 encoding."
        ) from None
    except pd.errors.ParserWarning:
        raise UserError(
            f"{csv_file} has rows with more fields than its header has columns: put each field that "
            f"holds a comma in double quotes, or name every column in the header."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UserError(
            f"{csv_file} cannot be read as CSV ({str(error).strip().splitlines()[-1]}): check that "
            f"every field with a comma, quote or line break is in double quotes."
        ) from None


def check_labels(csv_file, frame, data_column):
    """Each row's label_idx as a tensor, and {label_idx: label}; a UserError lists every problem with them."""
    missing = [
        column for column in (data_column, "label", "label_idx") if column not in frame.columns
    ]
    if missing or frame.empty:
        raise UserError(
            f"{csv_file} has no column {', '.join(missing)} (its header has {', '.join(frame.columns)}): "
            f"the header must name {data_column}, label and label_idx."
            if missing
            else f"{csv_file} has no rows: every split needs at least one example."
        )
    problems, names, numbers = [], {}, {}  # label_idx -> label, label -> label_idx
    for row, (label, index) in enumerate(
        zip(frame["label"].str.strip(), frame["label_idx"].str.strip()), start=1
    ):
        where, number = (
            f"{csv_file} row {row}",
            int(float(index)) if re.fullmatch(r"\d{1,9}(\.0*)?", index) else None,
        )
        if not label or number is None:
            problems.append(
                f"{where}, column label: empty; write the class name."
                if not label
                else f"{where}, column label_idx: {index or 'empty'!r} is not a class number; use 0, 1, 2, ... "
                f"one number per class."
            )
        elif (
            names.setdefault(number, label) != label or numbers.setdefault(label, number) != number
        ):
            problems.append(
                f"{where}: label {label!r} with label_idx {number} disagrees with an earlier row; one "
                f"class, one number."
            )
    if problems:
        raise UserError(listing(f"{len(problems)} problem(s) with labels", problems))
    return torch.tensor([int(float(index)) for index in frame["label_idx"]]), names


def class_names(splits):
    """The class names in label_idx order, once the splits agree on them and the numbers run 0, 1, 2, ..."""
    names, problems, train_file = splits["train"].label_names, [], splits["train"].csv_file
    for data in splits.values():
        for number, label in data.label_names.items():
            if names.get(number) != label:
                row = (data.labels == number).nonzero()[0].item() + 1
                problems.append(
                    f"{data.csv_file} row {row}: class {label!r} with label_idx {number} "
                    + ("disagrees with" if label in names.values() else "never appears in")
                    + f" {train_file}; one "
                    f"class, one number, in every split."
                )
    if not problems and sorted(names) != list(range(len(names))):
        problems.append(
            f"{train_file}, column label_idx: the class numbers are {sorted(names)}; with {len(names)} "
            f"classes they must be 0 to {len(names) - 1}."
        )
    if problems:
        raise UserError(listing(f"{len(problems)} problem(s) with labels", problems))
    return [names[number] for number in range(len(names))]


def check_pictures(csv_file, written, problems):
    problems = [
        f"{csv_file} row {row}, column image: {path} {problem}"
        for row, (path, problem) in enumerate(zip(written, problems), start=1)
        if problem
    ]
    if problems:
        raise UserError(
            listing(
                f"{len(problems)} picture(s) in {csv_file} cannot be used (fix the paths in the image "
                "column, or replace the files; PNG, WebP, CMYK and 16-bit are fine)",
                problems,
            )
        )


def listing(title, problems, limit=20):
    more = [f"... and {len(problems) - limit} more like these"] if len(problems) > limit else []
    return title + ":\n" + "\n".join(f"  {problem}" for problem in problems[:limit] + more)


def pick_device(name):  # "auto": cuda, then mps, then cpu
    return torch.device(
        name
        if name != "auto"
        else "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )


def choose_precision(cfg, device, cpu=None, gpu_capability=None):
    """(MIXED_PRECISION to use, the model's memory format), printed with the reason: on a GPU, bf16 where it is
    native (compute capability 8.0 and up, not a T4 or V100); on a CPU, as measured (bench/README.md)."""
    setting, model, cpu = cfg["mixed_precision"], cfg["model"], cpu or cpu_features()
    if device.type == "cuda" and setting == "auto":
        precision, why = (
            ("bf16", "this GPU has native bf16")
            if (gpu_capability or torch.cuda.get_device_capability(device)) >= (8, 0)
            else ("fp16", "this GPU has no native bf16; fp16 with loss scaling")
        )
    elif device.type != "cpu":
        precision, why = (
            (setting, "as set") if setting != "auto" else ("off", f"not used on {device.type}")
        )
    elif setting == "auto" and model == "mlp":
        precision, why = "off", "the MLP trains slower in bf16 on every CPU measured"
    elif setting == "auto":
        precision, why = (
            ("bf16", "this CPU has native bf16, and the CNN trains faster with it")
            if cpu["amx"] or (cpu["amd"] and cpu["avx512_bf16"])
            else ("off", "bf16 would make the CNN slower on this CPU")
        )
    elif setting == "bf16" and model == "mlp" and cpu["amx"]:
        precision, why = (
            "off",
            "not bf16: oneDNN's bf16 matrix multiply crashes (SIGFPE) on the MLP's shapes with AMX",
        )
    elif setting == "bf16" and not (cpu["amx"] or cpu["avx512_bf16"]):
        precision, why = (
            "bf16",
            (
                "as set; warning: this CPU has no native bf16, so it is emulated, about 20 times "
                "slower per CNN step than --mixed_precision off"
            ),
        )
    else:
        precision, why = setting, "as set"
    print(f"mixed precision: {precision} ({why})")
    # channels_last lets cuDNN use tensor cores for the CNN, and AMX run its bf16 convolutions 1.3x faster.
    fast = model == "cnn" and (
        device.type == "cuda" or device.type == "cpu" and precision == "bf16" and cpu["amx"]
    )
    return precision, torch.channels_last if fast else torch.preserve_format


def cpu_features(capabilities=None, onednn_isa=None):
    """{"amd", "avx512_bf16", "amx"} as torch reads them, less what ONEDNN_MAX_CPU_ISA caps (then bf16 is emulated)."""
    capabilities = (
        getattr(torch.cpu, "get_capabilities", dict)() if capabilities is None else capabilities
    )
    isa = (
        os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL") if onednn_isa is None else onednn_isa
    ).upper()
    bf16 = isa in ("", "ALL") or any(name in isa for name in ("BF16", "AMX", "FP16", "AVX10"))
    return {
        "amd": "AMD" in str(capabilities.get("cpu_name", "")).upper(),
        "avx512_bf16": bool(capabilities.get("avx512_bf16")) and bf16,
        "amx": bool(capabilities.get("amx_bf16")) and bf16 and (isa in ("", "ALL") or "AMX" in isa),
    }


def save_atomically(obj, path):
    """torch.save to a file of its own, then renamed: stopped or crashed while saving, what was there stays whole."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def load_resume_point(cfg, given):
    """(settings, resume point) of the stopped run RUN_NAME, or a UserError saying why it cannot carry on."""
    path = Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth"
    try:
        point = torch.load(path, map_location="cpu", weights_only=True)
        saved, done = point["settings"], point["epoch"]
        assert point["format"] == RESUME_FORMAT
    except Exception:
        raise UserError(
            f"nothing to resume at {path}: it is written after each epoch, and removed when the run ends; "
            f"check --run_name and --out_dir, or start a new run without --resume."
            if not path.is_file()
            else f"{path} is not a resume point: start the run again without --resume."
        ) from None
    changed = sorted(
        name for name in given if name not in RESUMABLE and cfg[name] != saved.get(name)
    )
    if changed:
        raise UserError(
            "--resume carries on with the settings the run started with, but this command changes "
            + ", ".join(
                f"{name.upper()} ({saved.get(name)!r} -> {cfg[name]!r})" for name in changed
            )
            + ": drop those flags, or start a new run under another --run_name."
        )
    cfg = saved | {
        name: cfg[name] for name in RESUMABLE if name in given or name in ("out_dir", "run_name")
    }
    if cfg["n_epochs"] < done or cfg["n_epochs"] == done < saved["n_epochs"]:
        raise UserError(
            f"this run already finished epoch {done} of {saved['n_epochs']}, so N_EPOCHS = "
            f"{cfg['n_epochs']} leaves nothing to train: pass --n_epochs {done + 1} or more."
        )
    return cfg, point


@contextlib.contextmanager
def claim_run_folder(cfg):
    """OUT_DIR/RUN_NAME, created and locked while this run lives; one it cannot write, or another run's, stops it."""
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = open(run_dir / "run.lock", "a+")
        if (
            os.name == "posix"
        ):  # lifted when this process ends, however it ends (Windows: runs are not locked)
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UserError(
            f"another run (process {(run_dir / 'run.lock').read_text().strip() or '?'}) is writing to "
            f"{run_dir}: wait for it to end, or give this one another --run_name."
        ) from None
    except OSError as error:
        raise UserError(
            f"cannot write to {run_dir} ({error.strerror or error}): pass --out_dir a folder you can "
            f"write to."
        ) from None
    with lock:
        lock.truncate(0)
        print(os.getpid(), file=lock, flush=True)
        try:
            yield
        finally:
            Path(lock.name).unlink(missing_ok=True)


def processes():
    """(this process's rank, the number of processes): (0, 1) unless under torchrun."""
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def join_torchrun(cfg):
    """Under torchrun, join the other processes (NCCL on GPUs, else gloo); only the first prints. Returns the rank."""
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():
        on_gpu = torch.cuda.is_available() and cfg["device"] in ("auto", "cuda")
        if on_gpu:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl" if on_gpu else "gloo")
        if dist.get_rank() > 0:
            sys.stdout, os.environ["WANDB_MODE"] = open(os.devnull, "w"), "disabled"
    return processes()[0]


if __name__ == "__main__":
    sys.exit(main())
