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
import difflib
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchvision.transforms.functional as TF
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
# ----------------------------------------------------------------------------- end of settings

CHOICES = {"MODEL": ["mlp", "cnn"], "OPTIMIZER": ["sgd", "adam", "adadelta", "adamw"],
           "DEVICE": ["auto", "cuda", "mps", "cpu"]}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = ["LEARNING_RATE", "BATCH_SIZE", "EVAL_BATCH_SIZE", "N_EPOCHS", "IMG_SIZE"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601 luma, the weights torchvision's Grayscale uses
# The grayscale picture is a weighted sum of the channels, so its mean and spread are too.
GRAY_MEAN = (sum(w * m for w, m in zip(GRAY_WEIGHTS, IMAGENET_MEAN)),)
GRAY_STD = (sum(w * s for w, s in zip(GRAY_WEIGHTS, IMAGENET_STD)),)
CSV_COLUMNS = ["image", "label", "label_idx"]
CHECKPOINT_FORMAT = "img_classifier/1"


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


def load_image(path, img_size):
    """Decode one picture, resize its shorter side to img_size, centre-crop: uint8 (3, S, S)."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img = TF.resize(img, img_size, interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
        return TF.pil_to_tensor(TF.center_crop(img, img_size))


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
    """One split of a course CSV. Each picture is decoded once, here, and kept as uint8.

    Items are (uint8 image (3, S, S), label_idx). Normalising and grayscale happen per batch
    (see `to_model_input`), so one decoded copy serves every epoch and every setting.
    """

    def __init__(self, csv_file, img_size=IMG_SIZE):
        self.csv_file = Path(csv_file)
        frame = read_image_csv(self.csv_file)
        data_dir = self.csv_file.parent
        self.image_paths = [resolve_image_path(p, data_dir) for p in frame["image"]]
        self.labels = torch.tensor(frame["label_idx"].tolist(), dtype=torch.long)
        self.label_names = dict(zip(frame["label_idx"], frame["label"]))
        self.images = torch.stack([load_image(p, img_size) for p in self.image_paths])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.images[idx], self.labels[idx]


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


def build_optimizer(cfg, model):
    optimizer_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
                       "adadelta": torch.optim.Adadelta, "adamw": torch.optim.AdamW}[cfg["optimizer"]]
    return optimizer_class(model.parameters(), lr=cfg["learning_rate"])


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


def train_one_epoch(dataloader, model, loss_fn, optimizer, device, grayscale, examples_seen, log):
    """One pass over the training split; calls log(batch_loss, examples_seen) per batch."""
    model.train()
    # Redraw often on a terminal; when output goes to a log or notebook, now and then.
    progress = tqdm(dataloader, desc="  train", unit="batch", leave=False,
                    mininterval=0.5 if sys.stderr.isatty() else 15)
    started, running_loss = time.time(), 0.0
    for batch, (images, labels) in enumerate(progress, start=1):
        X, y = to_model_input(images.to(device), grayscale), labels.to(device)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        batch_loss = loss.item() / len(y)  # the summed loss, reported per example
        examples_seen += len(y)
        running_loss += (batch_loss - running_loss) / min(batch, 20)
        log(batch_loss, examples_seen)
        progress.set_postfix(loss=f"{running_loss:.3f}",
                             img_per_s=f"{batch * dataloader.batch_size / (time.time() - started):.0f}")
    return examples_seen


@torch.inference_mode()
def evaluate(dataloader, model, loss_fn, device, grayscale):
    """Accuracy (a fraction), mean loss, predictions, and the first batch's model inputs."""
    model.eval()
    total_loss, predictions, first_inputs = 0.0, [], None
    for images, labels in dataloader:
        X, y = to_model_input(images.to(device), grayscale), labels.to(device)
        logits = model(X)
        total_loss += loss_fn(logits, y).item()
        predictions.append(logits.argmax(dim=1).cpu())
        if first_inputs is None:
            first_inputs = X.cpu()
    predictions = torch.cat(predictions)
    targets = dataloader.dataset.labels
    accuracy = (predictions == targets).float().mean().item()
    return accuracy, total_loss / len(targets), predictions, first_inputs


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


def load_splits(cfg):
    data_dir = Path(cfg["data_dir"])
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder "
                        f"that holds img_train.csv, img_val.csv and img_test.csv.")
    started = time.time()
    splits = {split: CsvImageDataset(data_dir / f"img_{split}.csv", cfg["img_size"])
              for split in ("train", "val", "test")}
    print(f"Loaded {', '.join(f'{len(d)} {s}' for s, d in splits.items())} images "
          f"in {time.time() - started:.1f} s")
    return splits


def train(cfg):
    """Train and evaluate one model as `cfg` says; returns the final metrics."""
    seed_everything(cfg["seed"])
    device = pick_device(cfg["device"])
    splits = load_splits(cfg)
    class_names = class_names_of(*splits.values())
    generator = torch.Generator().manual_seed(cfg["seed"])
    train_loader = DataLoader(splits["train"], batch_size=cfg["batch_size"], shuffle=True, generator=generator)
    eval_loaders = {split: DataLoader(dataset, batch_size=cfg["eval_batch_size"])
                    for split, dataset in splits.items()}

    model = build_model(cfg, len(class_names)).to(device)
    num_parameters = count_parameters(model)
    print(f"Using {device}; {cfg['model']} with {num_parameters:,} parameters; classes: {', '.join(class_names)}")
    # Summed over the batch, as in the course starter, so LEARNING_RATE means what it means there.
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    optimizer = build_optimizer(cfg, model)
    if cfg["optimizer"] == "adadelta" and cfg["learning_rate"] < 0.1:
        print(f"note: Adadelta is usually run with learning rate 1.0; this run uses {cfg['learning_rate']}.")

    run = start_wandb(cfg)
    run.summary["num_parameters"] = num_parameters
    started, examples_seen = time.time(), 0
    for epoch in range(1, cfg["n_epochs"] + 1):
        examples_seen = train_one_epoch(
            train_loader, model, loss_fn, optimizer, device, cfg["grayscale"], examples_seen,
            lambda loss, seen: run.log({"batch_loss": loss, "examples_seen": seen}))
        metrics, log = {"epoch": epoch}, {}
        for split, loader in eval_loaders.items():
            accuracy, loss, predictions, first_inputs = evaluate(loader, model, loss_fn, device, cfg["grayscale"])
            metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
            if cfg["log_images"] and epoch == cfg["n_epochs"]:
                first_labels = loader.dataset.labels[:len(first_inputs)]
                log[f"predictions/{split}"] = captioned_images(first_inputs, predictions, first_labels, class_names)
        run.log({**metrics, **log})
        print(f"epoch {epoch}/{cfg['n_epochs']}: " + "  ".join(
            f"{s} acc {metrics[f'{s}_accuracy']:.1%} loss {metrics[f'{s}_loss']:.3f}" for s in eval_loaders))
    seconds = time.time() - started

    targets = splits["test"].labels
    per_class = per_class_accuracy(predictions, targets, class_names)
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    checkpoint_path = run_dir / "model.pth"
    save_checkpoint(checkpoint_path, model, cfg, class_names)
    check_reload(checkpoint_path, eval_loaders["test"], loss_fn, cfg, metrics["test_accuracy"])
    summary = {**metrics, "epochs": cfg["n_epochs"], "num_parameters": num_parameters,
               "seconds": round(seconds, 2), "examples_seen": examples_seen,
               "test_per_class_accuracy": per_class, "device": str(device), "settings": cfg}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    import wandb

    run.log({"test_confusion_matrix": wandb.plot.confusion_matrix(
        y_true=targets.tolist(), preds=predictions.tolist(), class_names=class_names)})
    run.summary.update({**metrics, "seconds": seconds,
                        **{f"test_accuracy/{name}": acc for name, acc in per_class.items()}})
    run.finish()
    print_report(cfg, metrics, num_parameters, seconds, per_class)
    print(f"Saved {checkpoint_path} and {run_dir / 'summary.json'}")
    return summary


def check_reload(path, loader, loss_fn, cfg, expected_accuracy):
    """Load the saved model as `--predict` will, and make sure it scores what was just measured."""
    model, _ = load_checkpoint(path)
    accuracy = evaluate(loader, model, loss_fn, torch.device("cpu"), cfg["grayscale"])[0]
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
            x = to_model_input(load_image(path, settings["img_size"])[None], settings["grayscale"])
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
