"""Classify pictures of parrots, narwhals and axolotls: the course's MLP baseline against a CNN.

    python img_classifier.py                                 # the baseline: MLP, SGD, 5 epochs
    python img_classifier.py --model cnn --run_name new-model
    python img_classifier.py --grayscale --run_name grayscale
    python img_classifier.py --predict data/parrot/parrot-1.jpg
    torchrun --standalone --nproc_per_node=2 img_classifier.py   # one run over two processes

Every UPPER_CASE setting below can be edited here or given on the command line by its lower-case
name (`--n_epochs 2`, `--grayscale`, `--grayscale=False`; `--help` lists them). Metrics go to
wandb (offline into ./wandb without an account), the model and a summary to OUT_DIR/RUN_NAME/.
Ctrl-C stops a run; the same command plus --resume carries on from the last finished epoch.
Read from the top; below main(), a marked line starts machinery you can skip.
"""

import argparse
import contextlib
import json
import math
import os
import re
import shlex
import signal
import sys
import time
import types
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
import wandb
from PIL import Image, ImageOps
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torchvision.transforms import v2
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
DEVICE = "auto"  # "auto" picks a GPU (cuda or mps) when there is one, else "cpu"; or name one
MIXED_PRECISION = "auto"  # "auto" (on a CPU: bf16 only where faster), "off", "bf16" or "fp16"
FAST_DECODE = True  # let JPEG decoding skip detail an IMG_SIZE crop cannot show (about 2x faster)
MEMORY_BUDGET_GB = 4.0  # decoded pictures of a split kept in memory up to this, else decoded anew
# ----------------------------------------------------------------------------- end of settings
SETTINGS = {name: value for name, value in globals().items() if name.isupper()}  # the block above

# ----------------------------------------------------------------------------- data

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
GRAY_MEAN = 0.458971  # the luma (0.299 R + 0.587 G + 0.114 B) of IMAGENET_MEAN
GRAY_STD = 0.225609  # and of IMAGENET_STD


def load_image(path, img_size=IMG_SIZE, fast_decode=FAST_DECODE):
    """One picture the course's way, as uint8 (3, S, S): upright, RGB, Resize(S), CenterCrop(S).
    The course's ToTensor scaling and Normalize come per batch, in `normalize`."""
    with Image.open(path) as img:
        if fast_decode:
            # A JPEG decoder makes 1/2, 1/4 or 1/8 scale almost for free. Asking for twice the
            # target leaves the real work to the antialiased resize: 0.5/255 from a full decode.
            img.draft("RGB", (2 * img_size, 2 * img_size))
        img = to_rgb(ImageOps.exif_transpose(img))  # phones store portraits sideways, and say so
    return v2.Compose([v2.Resize(img_size), v2.CenterCrop(img_size), v2.PILToTensor()])(img)


class CsvImageDataset(Dataset):
    """One split of a course CSV as (uint8 picture (3, S, S), label_idx) pairs. Every picture is
    decoded once, here, in threads, and kept in memory for every epoch and evaluation (the course
    starter decodes it on every use); a split past `memory_gb` is decoded on every use instead.
    `class_names` {label_idx: label}: the training split's, which every other split must match."""

    def __init__(
        self,
        csv_file,
        img_size=IMG_SIZE,
        fast_decode=FAST_DECODE,
        memory_gb=MEMORY_BUDGET_GB,
        class_names=None,
    ):
        # A file that is missing, not UTF-8 or not CSV stops the run with one line saying so.
        with reading(csv_file):
            frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, index_col=False)
        self.img_size = img_size
        self.fast_decode = fast_decode
        self.labels, self.class_names = check_labels(csv_file, frame, "image", class_names)
        # `./data/` in a row's path stands for the CSV's folder, DATA_DIR, wherever it is
        data_dir = Path(csv_file).parent
        self.paths = [
            data_dir / path.removeprefix("./").removeprefix("data/") for path in frame["image"]
        ]
        fits_in_memory = len(frame) * 3 * img_size**2 <= memory_gb * 2**30
        pictures = []
        problems = []
        with ThreadPoolExecutor(os.cpu_count()) as pool:  # decoders let go of Python's lock
            decoded = pool.map(lambda path: try_load(path, img_size, fast_decode), self.paths)
            for picture, problem in decoded:
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


def load_splits(cfg):
    """The three splits, decoded (or checked), and the class names."""
    data_dir = Path(cfg["data_dir"])
    splits = {}
    for split in ("train", "val", "test"):
        class_names = splits["train"].class_names if splits else None  # the training split's
        splits[split] = CsvImageDataset(
            data_dir / f"img_{split}.csv",
            cfg["img_size"],
            cfg["fast_decode"],
            cfg["memory_budget_gb"],
            class_names,
        )
    print(
        f"Loaded {len(splits['train'])} training, {len(splits['val'])} validation and "
        f"{len(splits['test'])} test pictures"
    )
    names = splits["train"].class_names
    return splits, [names[number] for number in range(len(names))]


def normalize(images, grayscale):
    """uint8 pictures (B, 3, S, S) -> the model's input: the course's ToTensor and Normalize."""
    x = images.float() / 255
    if grayscale:  # one channel: the luma, as torchvision's Grayscale computes it
        return v2.functional.normalize(v2.functional.rgb_to_grayscale(x), [GRAY_MEAN], [GRAY_STD])
    return v2.functional.normalize(x, IMAGENET_MEAN, IMAGENET_STD)


def augment(images, img_size):
    """AUGMENT: each training picture as a random-resized crop, mirrored half the time."""
    transform = v2.Compose([v2.RandomResizedCrop(img_size), v2.RandomHorizontalFlip()])
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


MODELS = {"mlp": MLP, "cnn": CNN}
OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adadelta": torch.optim.Adadelta,
    "adamw": torch.optim.AdamW,
}


def build_model(cfg, num_classes):
    in_channels = 1 if cfg["grayscale"] else 3
    return MODELS[cfg["model"]](in_channels, num_classes, cfg["img_size"])


def build_optimizer(cfg, model):
    return OPTIMIZERS[cfg["optimizer"]](model.parameters(), lr=cfg["learning_rate"])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(
    dataloader, model, loss_fn, optimizer, precision, cfg, device, examples_seen, run
):
    """One pass over the training split, each batch's mean loss logged against the examples seen."""
    rank, world = rank_and_world()  # under torchrun: this process's number, and how many there are
    epoch_end = examples_seen + len(dataloader.dataset)
    model.train()
    for X, y in tqdm(dataloader, desc="  train", leave=False, disable=None):  # a bar on terminals
        X, y = X.to(device), y.to(device)
        if cfg["augment"]:
            X = augment(X, cfg["img_size"])
        # The step's examples, over all processes; a few are drawn twice under torchrun (see
        # train()), so an epoch counts no more than the split holds.
        examples_seen = min(examples_seen + len(y), epoch_end)
        # Under torchrun every process loads the same batch and draws the same crops, then trains
        # on its share: together they take the step one process takes with the whole batch.
        X, y = X[rank::world], y[rank::world]
        with precision.autocast:  # mixed precision, where MIXED_PRECISION chose it
            loss = loss_fn(model(normalize(X, cfg["grayscale"])), y)
        optimizer.zero_grad()
        # The course sums the loss over the batch; torchrun averages the processes' gradients, so
        # `* world` makes that average the sum over the whole batch. Without fp16 the scaler does
        # nothing: these three lines are loss.backward(); optimizer.step().
        precision.scaler.scale(loss * world).backward()
        precision.scaler.step(optimizer)
        precision.scaler.update()
        run.log({"batch_loss": loss.item() / len(y), "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(eval_loaders, model, loss_fn, precision, cfg, device):
    """{"train_accuracy": ..., "train_loss": ..., ...} (fractions, mean losses), and each split's
    predictions."""
    model.eval()
    metrics = {}
    predictions = {}
    for split, dataloader in eval_loaders.items():
        total_loss = 0.0
        predicted = []
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            with precision.autocast:
                logits = model(normalize(X, cfg["grayscale"]))
            total_loss += loss_fn(logits.float(), y).item()
            predicted.append(logits.argmax(dim=1).cpu())
        predictions[split] = torch.cat(predicted)
        labels = dataloader.dataset.labels
        metrics[f"{split}_accuracy"] = (predictions[split] == labels).float().mean().item()
        metrics[f"{split}_loss"] = total_loss / len(labels)
    return metrics, predictions


def train(cfg, resume_point=None):
    """Train, evaluate and log one model as `cfg` says (from `resume_point`, if given); save it."""
    device = pick_device(cfg["device"])
    rank, world = rank_and_world()
    precision = choose_precision(cfg, device)
    splits, class_names = load_splits(cfg)
    # A step trains on BATCH_SIZE x processes pictures (one process: the course's shuffle=True).
    # Under torchrun an epoch draws a multiple of the processes, a few pictures twice, so that
    # every process's share of every step is as large, never empty.
    epoch_size = math.ceil(len(splits["train"]) / world) * world
    train_loader = DataLoader(
        splits["train"],
        cfg["batch_size"] * world,
        sampler=RandomSampler(splits["train"], num_samples=epoch_size),
        num_workers=workers(splits["train"]),
    )
    eval_loaders = {
        name: DataLoader(split, cfg["eval_batch_size"], num_workers=workers(split))
        for name, split in splits.items()
    }
    torch.manual_seed(cfg["seed"])
    model = build_model(cfg, len(class_names)).to(device, memory_format=precision.memory_format)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")  # summed over the batch, as the course starter
    optimizer = build_optimizer(cfg, model)
    # Under torchrun the model is wrapped to share gradients between the processes; the weights
    # are the same ones, saved from `model` itself.
    step_model = DistributedDataParallel(model) if world > 1 else model
    run, done, examples_seen = start_or_resume(cfg, resume_point, model, optimizer, precision)
    print(f"Using {device}; {cfg['model']}, {count_parameters(model):,} parameters; {class_names}")
    started = time.time()
    for epoch in range(done + 1, cfg["n_epochs"] + 1):
        # The epoch's order and crops come from SEED and the epoch alone: --resume redoes it.
        torch.manual_seed(1000 * cfg["seed"] + epoch)
        examples_seen = train_one_epoch(
            train_loader, step_model, loss_fn, optimizer, precision, cfg, device, examples_seen, run
        )
        metrics, predictions = evaluate(eval_loaders, step_model, loss_fn, precision, cfg, device)
        check_loss(metrics["train_loss"], epoch, cfg, len(class_names))
        logged = {"epoch": epoch, **metrics}
        if cfg["log_images"] and epoch == cfg["n_epochs"]:
            logged |= captioned(splits, predictions, class_names, cfg)
        run.log(logged)
        if rank == 0:  # under torchrun, the first process writes the files
            save_resume_point(cfg, epoch, examples_seen, run, model, optimizer, precision)
        print(
            f"epoch {epoch}/{cfg['n_epochs']}: accuracy (loss) "
            f"train {metrics['train_accuracy']:.1%} ({metrics['train_loss']:.3f}), "
            f"val {metrics['val_accuracy']:.1%} ({metrics['val_loss']:.3f}), "
            f"test {metrics['test_accuracy']:.1%} ({metrics['test_loss']:.3f})"
        )
    if done == cfg["n_epochs"]:  # resumed after the last epoch: only the results are left to write
        metrics, predictions = evaluate(eval_loaders, step_model, loss_fn, precision, cfg, device)
    seconds = round(time.time() - started, 2)
    extra = {"examples_seen": examples_seen, "seconds": seconds, "mixed_precision": precision.name}
    return finish(
        cfg, run, model, class_names, metrics | extra, predictions["test"], splits["test"]
    )


# ----------------------------------------------------------------------------- logging / reporting


def start_wandb(cfg, resume_id=None):
    """A wandb run that never waits at a login prompt: online with credentials, else offline into
    ./wandb (also when the server is silent for 15 s); WANDB_MODE, when set, decides."""
    has_credentials = False
    with contextlib.suppress(Exception):  # credentials wandb cannot read are no credentials
        has_credentials = wandb.login(prompt=False, verify=False)
    mode = os.environ.get("WANDB_MODE") or ("online" if has_credentials else "offline")
    options = {
        "project": cfg["wandb_project"],
        "name": cfg["run_name"],
        "config": cfg,
        "id": resume_id,  # None: a new run
        "resume": "allow",
    }
    try:
        run = wandb.init(mode=mode, settings=wandb.Settings(init_timeout=15), **options)
    except Exception as error:  # no answer, or the key was refused
        print(f"warning: wandb could not start {mode} ({str(error).strip().splitlines()[0]}).")
        run = wandb.init(mode="offline", **options)
    run.define_metric("batch_loss", step_metric="examples_seen")  # the charts' x-axes
    for split in ("train", "val", "test"):
        run.define_metric(f"{split}_accuracy", step_metric="epoch")
        run.define_metric(f"{split}_loss", step_metric="epoch")
    return run


def captioned(splits, predictions, class_names, cfg):
    """Each split's first batch as pictures for wandb, as the model sees them (in colour, or in
    luma), captioned `<predicted> / <true>`."""
    logged = {}
    for split, data in splits.items():
        pictures = []
        for i in range(min(len(data), cfg["eval_batch_size"])):
            image, label = data[i]
            picture = v2.functional.to_pil_image(image)
            caption = f"{class_names[predictions[split][i]]} / {class_names[label]}"
            pictures.append(
                wandb.Image(picture.convert("L" if cfg["grayscale"] else "RGB"), caption=caption)
            )
        logged[f"predictions/{split}"] = pictures
    return logged


def finish(cfg, run, model, class_names, metrics, predictions, test_split):
    """Save the model and a summary, log the final figures and the test split's confusion matrix
    (which classes are taken for which), report; return the summary."""
    folder = run_folder(cfg)
    summary = metrics | {
        "epochs": cfg["n_epochs"],
        "num_parameters": count_parameters(model),
        "settings": cfg,
    }
    if rank_and_world()[0] == 0:  # under torchrun, the first process writes the files
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "model_state": model.state_dict(),
            "settings": cfg,
            "class_names": class_names,
        }
        save_atomically(checkpoint, folder / "model.pth")
        (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    matrix = wandb.plot.confusion_matrix(
        y_true=test_split.labels.tolist(), preds=predictions.tolist(), class_names=class_names
    )
    run.log({"test_confusion_matrix": matrix})
    if cfg["log_model"]:  # an artifact of type "model"; offline, `wandb sync` uploads it
        run.log_model(folder / "model.pth", name=cfg["run_name"].replace("/", "-") + "-model")
    run.summary.update(summary)
    run.finish()
    (folder / "resume.pth").unlink(missing_ok=True)  # finished: nothing is left to resume
    print(
        f"{cfg['run_name']}: {summary['num_parameters']:,} parameters, {summary['seconds']:.0f} s, "
        f"test accuracy {summary['test_accuracy']:.1%}. Saved to {folder}"
    )
    return summary


# ----------------------------------------------------------------------------- main


def predict(cfg, paths):
    """Print the predicted class and the class probabilities of each picture."""
    model, checkpoint = load_checkpoint(run_folder(cfg) / "model.pth")
    settings = checkpoint["settings"]
    class_names = checkpoint["class_names"]
    for path in paths:
        image, problem = try_load(path, settings["img_size"], settings["fast_decode"])
        if problem:
            raise UserError(
                f"{path} {problem}: pass a picture (JPEG, PNG, WebP, ...) to --predict."
            )
        with torch.inference_mode():
            probabilities = model(normalize(image[None], settings["grayscale"])).softmax(dim=1)[0]
        shares = zip(class_names, probabilities.tolist(), strict=True)
        spread = ", ".join(f"{name} {p:.1%}" for name, p in shares)
        print(f"{path}: {class_names[probabilities.argmax()]} ({spread})")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a cluster's stop acts as Ctrl-C
    cfg = None
    try:
        cfg, command = parse_settings(argv)
        join_torchrun(cfg)  # under torchrun: only the first process prints, logs and writes
        if command.predict:
            predict(cfg, command.predict)
        else:
            with claim_run_folder(cfg):
                resume_point = load_resume_point(cfg) if command.resume else None
                train(cfg, resume_point)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        wandb.finish(exit_code=1)
        if cfg and (run_folder(cfg) / "resume.pth").is_file():
            carry_on = command_line(argv)
            print(
                f"Stopped. Carry on from the last finished epoch with: {carry_on}", file=sys.stderr
            )
        else:
            print("Stopped before the first epoch finished; nothing was saved.", file=sys.stderr)
        return 130
    finally:
        if dist.is_initialized():  # under torchrun
            dist.destroy_process_group()
    return 0


# ============================================================================= machinery
# Below this line: the command line, checks of the input, the choice of device and precision,
# stopping and resuming. The data, the models and the training steps are all above.

CHOICES = {
    "MODEL": list(MODELS),
    "OPTIMIZER": list(OPTIMIZERS),
    "DEVICE": ["auto", "cuda", "mps", "cpu"],
    "MIXED_PRECISION": ["auto", "off", "bf16", "fp16"],
}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
LEAST = {"LEARNING_RATE": 0, "BATCH_SIZE": 1, "EVAL_BATCH_SIZE": 1, "N_EPOCHS": 1, "IMG_SIZE": 8}
CHECKPOINT_FORMAT = "img_classifier/1"
RESUME_FORMAT = "img_classifier-resume/4"
# What --resume may change: where the run lives and runs, and what it logs; not what it trains.
RESUMABLE = [
    *["n_epochs", "device", "log_images", "log_model", "memory_budget_gb"],
    *["wandb_project", "out_dir", "run_name"],
]


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported without a traceback, one line for
    each problem."""


def true_or_false(text):  # a boolean flag's value, as a wandb sweep agent writes it: --augment=True
    return ("false", "true").index(text.lower()) == 1  # else "invalid true_or_false value"


def parse_settings(argv):
    """The settings {name: value} as the command line sets them, and its --predict and --resume."""
    source = Path(__file__).read_text(encoding="utf-8")
    comments = dict(re.findall(r"^([A-Z][A-Z0-9_]*) = .*?# (.*)$", source, re.MULTILINE))
    parser = argparse.ArgumentParser(
        prog=Path(__file__).name,
        description=__doc__.split("\n\n")[0],
        usage=argparse.SUPPRESS,  # an error is then one line, not a usage block and the error
        allow_abbrev=False,
    )
    for name, default in SETTINGS.items():
        kind = {"type": type(default)}
        if isinstance(default, bool):  # --grayscale, or --grayscale=True or False
            kind = {"type": true_or_false, "nargs": "?", "const": True}
        help = f"{comments.get(name, '')} (default: {default})".replace("%", "%%")  # argparse's %
        parser.add_argument(
            "--" + name.lower(), *ALIASES.get(name, []), default=default, help=help, **kind
        )
    parser.add_argument("--predict", nargs="+", metavar="FILE", help="classify each FILE")
    parser.add_argument("--resume", action="store_true", help="carry on with the stopped run")
    cfg = vars(parser.parse_args(argv))
    command = argparse.Namespace(predict=cfg.pop("predict"), resume=cfg.pop("resume"))
    check_settings(cfg)
    return cfg, command


def check_settings(cfg):
    for name, choices in CHOICES.items():  # argparse checks only what the command line gives
        if cfg[name.lower()] not in choices:
            raise UserError(
                f"{name} must be one of {', '.join(choices)}, got {cfg[name.lower()]!r}: edit it "
                f"in {Path(__file__).name} or pass --{name.lower()} with one of them."
            )
    for name, least in LEAST.items():
        if not cfg[name.lower()] >= least:  # nan is not either
            raise UserError(
                f"{name} must be at least {least}, got {cfg[name.lower()]}: edit it in "
                f"{Path(__file__).name} or pass --{name.lower()} with another value."
            )
    if cfg["device"] in ("cuda", "mps") and pick_device("auto").type != cfg["device"]:
        raise UserError(
            f"DEVICE is {cfg['device']}, but PyTorch finds no such device here: pass --device "
            f"auto or cpu."
        )
    wandb_modes = ["online", "offline", "disabled", "dryrun", "run", "shared"]
    if os.environ.get("WANDB_MODE", "online") not in wandb_modes:
        raise UserError(
            f"WANDB_MODE={os.environ['WANDB_MODE']} is not a mode wandb knows: set it to online, "
            f"offline or disabled, or unset it."
        )


def command_line(argv):
    """The command that started this run, with --resume, to paste. Under torchrun (on Linux, where
    its command can be read), torchrun's own command and options."""
    launcher = Path(f"/proc/{os.getppid()}/cmdline")
    if "LOCAL_RANK" in os.environ and launcher.is_file():
        command = launcher.read_text().split("\0")[:-1]
    else:
        command = ["python", Path(__file__).name, *argv]
    return shlex.join([arg for arg in command if arg != "--resume"] + ["--resume"])


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
            warnings.simplefilter("error", pd.errors.ParserWarning)  # more fields than the header
            yield
    except UnicodeDecodeError as error:
        raise UserError(
            f"{csv_file} is not UTF-8 text (byte {error.start} is "
            f"{error.object[error.start]:#04x}): save it again with UTF-8 encoding."
        ) from None
    except pd.errors.ParserWarning:
        raise UserError(
            f"{csv_file} has rows with more fields than its header has columns: put each field "
            f"that holds a comma in double quotes, or name every column in the header."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UserError(
            f"{csv_file} cannot be read as CSV ({str(error).strip().splitlines()[-1]}): check "
            f"that every field with a comma, quote or line break is in double quotes."
        ) from None


def check_labels(csv_file, frame, data_column, class_names=None):
    """Each row's label_idx as a tensor, and {label_idx: label}: the training split's own, or
    `class_names` (the training split's), which every row must then agree with."""
    if not {data_column, "label", "label_idx"} <= set(frame.columns):
        raise UserError(
            f"{csv_file} has the columns {', '.join(frame.columns)}: its header must name "
            f"{data_column}, label and label_idx."
        )
    if frame.empty:
        raise UserError(f"{csv_file} has no rows: every split needs at least one example.")
    training = class_names is None
    names = dict(class_names or {})  # label_idx -> label: the training split's, or these rows'
    problems = []
    rows = zip(frame["label"].str.strip(), frame["label_idx"].str.strip(), strict=True)
    for row, (label, index) in enumerate(rows, start=1):
        # a class number is 2, or 2.0 as spreadsheets write it
        number = int(float(index)) if re.fullmatch(r"\d{1,9}(\.0*)?", index) else None
        if not label or number is None:
            problems.append(
                f"{csv_file} row {row}: label {label!r} with label_idx {index!r}: each row needs a "
                f"class name and a class number, 0, 1, 2, ... one number per class."
            )
        elif training and number not in names and label not in names.values():
            names[number] = label
        elif names.get(number) != label:
            problems.append(
                f"{csv_file} row {row}: label {label!r} with label_idx {number} disagrees with the "
                f"classes of the training split and earlier rows, {names}; one class, one number."
            )
    if training and not problems and sorted(names) != list(range(len(names))):
        problems.append(
            f"{csv_file}, column label_idx: the class numbers are {sorted(names)}; with "
            f"{len(names)} classes they must be 0 to {len(names) - 1}."
        )
    if problems:
        raise UserError("\n  ".join([f"{len(problems)} problem(s) with labels:", *problems]))
    return torch.tensor([int(float(index)) for index in frame["label_idx"]]), names


def to_rgb(img):
    """Any picture as 8-bit RGB: transparency over white, 16-bit values scaled, CMYK converted."""
    if img.mode.startswith("I"):  # 16-bit (or 32-bit) integers
        img = img.convert("I").point(lambda value: value / 257)
    if img.has_transparency_data:
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA"))
    return img.convert("RGB")


def try_load(path, img_size, fast_decode=True):
    """(picture, None), or (None, why it cannot be used)."""
    try:
        return load_image(path, img_size, fast_decode), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return None, f"cannot be read ({str(error).splitlines()[0]})"


def check_pictures(csv_file, written_paths, problems):
    rows = enumerate(zip(written_paths, problems, strict=True), start=1)
    problems = [
        f"{csv_file} row {row}, column image: {path} {why}" for row, (path, why) in rows if why
    ]
    if problems:
        title = (
            f"{len(problems)} picture(s) in {csv_file} cannot be used (fix the paths in the image "
            f"column, or replace the files; PNG, WebP, CMYK and 16-bit are fine)"
        )
        raise UserError("\n  ".join([f"{title}:", *problems]))


def workers(dataset):
    """Pictures not kept in memory are decoded by worker processes, one per CPU core."""
    return 0 if dataset.images is not None else os.cpu_count()


def pick_device(name):  # "auto": a GPU (cuda or mps) when PyTorch finds one, else the CPU
    if name == "auto":
        return torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
    return torch.device(name)


def choose_precision(cfg, device, cpu=None, gpu_capability=None):
    """MIXED_PRECISION as used (.name: "off", "bf16" or "fp16"; .autocast, .scaler, the model's
    .memory_format). "auto": on an NVIDIA GPU, bf16 where it is native (compute capability 8.0
    and up), else fp16; on Apple's, off; on a CPU, bf16 only for the CNN and only where it was
    measured faster (AMX, or AMD's avx512_bf16; bench/README.md)."""
    cpu = cpu or cpu_features()
    name = cfg["mixed_precision"]
    cnn = cfg["model"] == "cnn"
    if name == "auto" and device.type == "cuda":
        name = (
            "bf16" if (gpu_capability or torch.cuda.get_device_capability()) >= (8, 0) else "fp16"
        )
    elif name == "auto":
        name = "bf16" if device.type == "cpu" and cnn and cpu["fast_bf16"] else "off"
    elif device.type == "cpu" and name == "bf16" and cpu["amx"] and not cnn:
        name = "off"
        print("warning: not bf16: oneDNN's bf16 matrix multiply crashes on the MLP with AMX.")
    elif device.type == "cpu" and name == "bf16" and not cpu["native_bf16"]:
        print("warning: this CPU has no native bf16, so it is emulated, about 20 times slower.")
    print(f"mixed precision: {name} (MIXED_PRECISION {cfg['mixed_precision']})")
    world = rank_and_world()[
        1
    ]  # the loss is multiplied by it, so fp16's loss scale is divided by it
    half = torch.float16 if name == "fp16" else torch.bfloat16
    # channels_last lets cuDNN use tensor cores for the CNN, and AMX run its bf16 convolutions
    # 1.3 times as fast.
    fast_layout = cnn and (device.type == "cuda" or name == "bf16" and cpu["amx"])
    return types.SimpleNamespace(
        name=name,
        autocast=torch.autocast(device.type, half, enabled=name != "off"),
        scaler=torch.amp.GradScaler(device.type, 2.0**16 / world, enabled=name == "fp16"),
        memory_format=torch.channels_last if fast_layout else torch.preserve_format,
    )


def cpu_features(capabilities=None, onednn_isa=None):
    """What the CPU computes natively, as torch reads it: "native_bf16", "amx", and "fast_bf16"
    (AMX, or AMD's avx512_bf16: measured faster for the CNN); less what ONEDNN_MAX_CPU_ISA caps."""
    capabilities = capabilities or torch.cpu.get_capabilities()
    if onednn_isa is None:
        onednn_isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL")
    isa = onednn_isa.upper()
    capped = isa not in ("", "ALL", "DEFAULT")  # below an instruction set, oneDNN emulates it
    amx = bool(capabilities.get("amx_bf16")) and (not capped or "AMX" in isa)
    avx512_bf16 = bool(capabilities.get("avx512_bf16")) and (not capped or "BF16" in isa or amx)
    amd = "AMD" in capabilities.get("cpu_name", "").upper()
    return {"native_bf16": amx or avx512_bf16, "amx": amx, "fast_bf16": amx or amd and avx512_bf16}


def check_loss(loss, epoch, cfg, num_classes):
    """Stop a run whose training loss is not a number, or a thousand times guessing's."""
    if math.isfinite(loss) and loss <= 1000 * math.log(num_classes):
        return
    good_rate = 1.0 if cfg["optimizer"] == "adadelta" else 1e-3  # the course's rates
    smaller_rate = min(good_rate, cfg["learning_rate"] / 10)
    raise UserError(
        f"the training loss became {loss:.3g} in epoch {epoch}: {cfg['optimizer']} with learning "
        f"rate {cfg['learning_rate']:g} takes steps too large for this model. Start again with a "
        f"smaller one: --learning_rate {smaller_rate:g}"
    )


def run_folder(cfg):
    return Path(cfg["out_dir"]) / cfg["run_name"]


def save_atomically(obj, path):
    """torch.save to a file of its own, then renamed: a run stopped while saving keeps the last."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def save_resume_point(cfg, epoch, examples_seen, run, model, optimizer, precision):
    """What --resume needs after a finished epoch (the next epoch's random numbers come from SEED
    and its number)."""
    point = {
        "format": RESUME_FORMAT,
        "settings": cfg
        | {"processes": rank_and_world()[1]},  # a step's batch: BATCH_SIZE x processes
        "epoch": epoch,
        "examples_seen": examples_seen,
        "wandb_id": run.id,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": precision.scaler.state_dict(),
    }
    save_atomically(point, run_folder(cfg) / "resume.pth")


def start_or_resume(cfg, point, model, optimizer, precision):
    """(wandb run, epochs done, examples seen): a new run, or the stopped one carried on."""
    if point is None:
        (run_folder(cfg) / "resume.pth").unlink(missing_ok=True)  # an earlier run's
        return start_wandb(cfg), 0, 0
    model.load_state_dict(point["model"])
    optimizer.load_state_dict(point["optimizer"])
    if point["scaler"]:  # an unused GradScaler saved nothing
        precision.scaler.load_state_dict(point["scaler"])
    print(f"Resuming after epoch {point['epoch']} ({point['examples_seen']} examples seen).")
    return start_wandb(cfg, point["wandb_id"]), point["epoch"], point["examples_seen"]


def load_resume_point(cfg):
    """The stopped run RUN_NAME's resume point, or a UserError saying why it cannot carry on."""
    path = run_folder(cfg) / "resume.pth"
    try:
        point = torch.load(path, map_location="cpu", weights_only=True)
        readable = point["format"] == RESUME_FORMAT
    except Exception:
        readable = False
    if not readable:
        raise UserError(
            f"nothing to resume at {path} (a run writes it after each epoch, and removes it when "
            f"it ends): check --run_name and --out_dir, or start a new run without --resume."
        )
    saved = point["settings"]
    current = cfg | {"processes": rank_and_world()[1]}
    changed = [n for n in current if n not in RESUMABLE and current[n] != saved.get(n)]
    if changed:
        described = ", ".join(f"{n.upper()} ({saved.get(n)!r} -> {current[n]!r})" for n in changed)
        raise UserError(
            f"--resume carries on with the settings the run started with, but these differ: "
            f"{described}. Use the command that started it, or start a new run under another "
            f"--run_name."
        )
    done = point["epoch"]
    if cfg["n_epochs"] < done or cfg["n_epochs"] == done < saved["n_epochs"]:
        raise UserError(
            f"this run already finished epoch {done} of {saved['n_epochs']}, so N_EPOCHS = "
            f"{cfg['n_epochs']} leaves nothing to train: pass --n_epochs {done + 1} or more."
        )
    return point


@contextlib.contextmanager
def claim_run_folder(cfg):
    """OUT_DIR/RUN_NAME, created and locked by the first process while the run lives; a folder it
    cannot write, or another run's, stops every process."""
    folder = run_folder(cfg)
    lock = None
    problem = None
    if rank_and_world()[0] == 0:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = open(folder / "run.lock", "w")  # held while the run lives
            if os.name == "posix":  # lifted when this process ends, however it ends
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            problem = (
                f"another run is writing to {folder} right now: wait for it to end, or give this "
                f"one another --run_name."
            )
        except OSError as error:
            problem = (
                f"cannot write to {folder} ({error.strerror or error}): pass --out_dir a folder "
                f"you can write to."
            )
    if dist.is_initialized():  # every process learns what the first one found
        shared = [problem]
        dist.broadcast_object_list(shared, src=0)
        problem = shared[0]
    if problem:
        raise UserError(problem)
    try:
        yield
    finally:
        if lock is not None:
            Path(lock.name).unlink(missing_ok=True)
            lock.close()


def rank_and_world():
    """(this process's rank, the number of processes): (0, 1) unless torchrun started it."""
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def join_torchrun(cfg):
    """Under torchrun, join the other processes (NCCL on GPUs, else gloo); only the first prints."""
    if "LOCAL_RANK" not in os.environ:
        return
    gpus = torch.cuda.device_count()
    on_gpu = pick_device(cfg["device"]).type == "cuda"
    if on_gpu and int(os.environ["LOCAL_WORLD_SIZE"]) > gpus:
        raise UserError(
            f"torchrun starts {os.environ['LOCAL_WORLD_SIZE']} processes on this machine, which "
            f"has {gpus} GPU(s): pass torchrun --nproc_per_node={gpus}, or --device cpu."
        )
    if on_gpu:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if on_gpu else "gloo")
    if dist.get_rank() > 0:
        sys.stdout = open(os.devnull, "w")
        os.environ["WANDB_MODE"] = "disabled"


def load_checkpoint(path):
    """(model, checkpoint) as a run saved them, or a UserError saying why they cannot be read."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(checkpoint["settings"], len(checkpoint["class_names"]))
        model.load_state_dict(checkpoint["model_state"])
    except Exception:
        raise UserError(
            f"no model {Path(__file__).name} can read at {path}: train one first, or pass the "
            f"--run_name (and --out_dir) it was trained under."
        ) from None
    return model.eval(), checkpoint


if __name__ == "__main__":
    sys.exit(main())
