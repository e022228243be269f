"""Tell real local news from LLM-written imitations: a bag of words, a linear model and an LSTM.

    python txt_classifier.py                          # bag of words, Adam (the defaults)
    python txt_classifier.py --optimizer sgd --lr 5   # the course's SGD baseline
    python txt_classifier.py --model lstm --run_name lstm
    python txt_classifier.py --batch_size 1 --max_len -1 --length_histogram
    python txt_classifier.py --repeats 3              # three seeds: mean and spread of accuracy
    python txt_classifier.py --run_name lstm --predict article.txt   # or --predict - (stdin)
    torchrun --standalone --nproc_per_node=2 txt_classifier.py   # one run over two processes

Every setting below can be edited here or given on the command line by its lower-case name
(`--n_epochs 2`, `--bidirectional=False`; `--help` lists them). Each run gets a folder of its
own, OUT_DIR/RUN_NAME (RUN_NAME-2, -3, ... when that name is taken), where checkpoint.pth and
summary.json are written after every epoch; metrics go to wandb (offline into ./wandb without an
account). A stopped run carries on with the same command plus --resume and its --run_name.
Read from the top; below main(), a marked line starts machinery you can skip.
"""

import argparse
import collections
import contextlib
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Literal, get_args

import pandas as pd
import torch
import torch.distributed as dist
import wandb
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR: str = "./data"  # folder holding txt_train.csv, txt_val.csv and txt_test.csv
MODEL: Literal["bow", "linear", "lstm"] = "bow"  # bag of words, words present, or the LSTM
OPTIMIZER: Literal["adam", "sgd", "adamw"] = "adam"  # the course baseline runs SGD at rate 5
LEARNING_RATE: float = 0.01  # optimiser step size (the course starts Adam at 0.001: README)
BATCH_SIZE: int = 32  # articles per optimiser step (per process, under torchrun)
EVAL_BATCH_SIZE: int = 64  # articles per batch when only measuring
N_EPOCHS: int = 20  # passes over the training split
EMBED_DIM: int = 128  # size of each word's embedding vector
HIDDEN_DIM: int = 64  # LSTM hidden state size
NUM_LAYERS: int = 1  # stacked LSTM layers
BIDIRECTIONAL: bool = False  # also read each article backwards (LSTM)
MAX_LEN: int = 1024  # tokens kept per article, padded up to this; -1 keeps all and pads nothing
MIN_FREQ: int = 1  # a word needs this many training occurrences to get its own embedding
UNK_DROPOUT: float = 0.1  # share of training words made <unk> each batch, so <unk> trains too
LENGTH_HISTOGRAM: bool = False  # save and log a histogram of training article lengths
LOG_MODEL: bool = False  # log checkpoint.pth to wandb as an artifact of type "model"
REPEATS: int = 1  # train with seeds SEED .. SEED+REPEATS-1 and report mean and spread
SEED: int = 0  # same seed, same data, same machine: same numbers
RUN_NAME: str = "txt-classifier"  # wandb run name and folder in OUT_DIR (-2, -3, ... if taken)
WANDB_PROJECT: str = "txt-classifier"  # wandb project the run is logged to
OUT_DIR: str = "./runs"  # where each run's folder goes
DEVICE: Literal["auto", "cuda", "mps", "cpu"] = "auto"  # "auto": a GPU if there is one, else CPU
# ----------------------------------------------------------------------------- end of settings
DEFAULTS = {name: value for name, value in globals().items() if name.isupper()}  # the block above

# ----------------------------------------------------------------------------- data

PAD_IDX = 0  # the id of padding
UNK_IDX = 1  # <unk>: the id of every word training showed fewer than MIN_FREQ times, or never


def tokenize(text):
    """The course's tokeniser: spaces around . , : ; ! ? ( ), then split on whitespace."""
    return re.sub(r"([.,:;!?()])", r" \1 ", text).split()


def build_vocab(articles, min_freq=1):
    """{token: id} for every token the training articles hold `min_freq` times or more, the most
    frequent first (ties in the order they first appear), from id 2: ids 0 and 1 are padding and
    <unk>, which no text can reach (an article that writes "<pad>" has a word "<pad>")."""
    counts = collections.Counter(token for article in articles for token in tokenize(article))
    kept = [token for token, count in counts.most_common() if count >= min_freq]
    return {token: i for i, token in enumerate(kept, start=2)}


def text_transform(text, vocab, max_len):
    """The course's transforms: tokenise and map to ids, truncate to MAX_LEN, pad up to it (-1:
    neither)."""
    ids = [vocab.get(token, UNK_IDX) for token in tokenize(text)]
    if max_len == -1:
        return ids
    ids = ids[:max_len]
    return ids + [PAD_IDX] * (max_len - len(ids))


class CsvTextDataset(Dataset):
    """One split of a course CSV as (token ids, label_idx), tokenised once, here. The training
    split builds the vocabulary; the others are given it. Its rows must agree with `class_names`
    (label_idx -> label), if given."""

    def __init__(self, csv_file, vocab=None, class_names=None):
        frame = read_csv(
            csv_file, "article"
        )  # a file that cannot be used stops the run, in one line
        self.labels, self.class_names = read_labels(csv_file, frame, class_names)
        self.articles = list(frame["article"])
        self.vocab = build_vocab(self.articles, MIN_FREQ) if vocab is None else vocab
        self.token_ids = [
            torch.tensor(text_transform(a, self.vocab, MAX_LEN)) for a in self.articles
        ]
        self.lengths = [int((ids != PAD_IDX).sum()) for ids in self.token_ids]  # padding left out

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.token_ids[idx], self.labels[idx]


def load_splits(checkpoint=None):
    """The three splits, tokenised with the training split's vocabulary and classes (when
    resuming, the run's own)."""
    train = CsvTextDataset(Path(DATA_DIR) / "txt_train.csv")
    check_unchanged(train, checkpoint)
    splits = {"train": train}
    for split in ("val", "test"):
        csv_file = Path(DATA_DIR) / f"txt_{split}.csv"
        splits[split] = CsvTextDataset(csv_file, train.vocab, train.class_names)
    check_stackable(train)
    print(
        f"Loaded {len(splits['train'])} training, {len(splits['val'])} validation and "
        f"{len(splits['test'])} test articles; a vocabulary of {len(train.vocab):,} words from "
        f"the training split"
    )
    return splits


def unk_dropout(token_ids, share):
    """UNK_DROPOUT: this share of a batch's words becomes <unk>, which would otherwise never train
    (MIN_FREQ 1 gives every training word its own id)."""
    drop = (torch.rand(token_ids.shape, device=token_ids.device) < share) & (token_ids != PAD_IDX)
    return token_ids.masked_fill(drop, UNK_IDX)


# ----------------------------------------------------------------------------- models


class BagOfWords(nn.Module):
    """Mean of the article's word embeddings, then a linear layer; padding left out of the mean."""

    def __init__(self, vocab_size, embed_dim, num_classes):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=PAD_IDX)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, token_ids):
        return self.fc(self.embedding(token_ids))


class WordPresence(nn.Module):
    """Logistic regression on which words an article holds: a 0/1 vector over the vocabulary
    (padding and <unk> left out: they are no word of it), one weight per word and class, and a
    bias. A word counts once, however often it is repeated."""

    def __init__(self, vocab_size, num_classes):
        super().__init__()
        self.linear = nn.Linear(vocab_size, num_classes)

    def forward(self, token_ids):
        present = torch.zeros(len(token_ids), self.linear.in_features, device=token_ids.device)
        present.scatter_(1, token_ids, 1.0)  # however often a word is repeated
        present[:, [PAD_IDX, UNK_IDX]] = 0  # padding is no word, <unk> no word in particular
        return self.linear(present)


class LSTMClassifier(nn.Module):
    """Embedding, LSTM, max over time of the outputs at real words, a small MLP head. Padding
    cannot change a prediction: it comes after the last word, and a mask keeps it out of the max.
    BIDIRECTIONAL adds an LSTM reading each article reversed within its own length (PyTorch's
    bidirectional LSTM would read the padding first unless the batch were packed, about 20 times
    slower on a CPU), its outputs put back in order and joined to the forward ones. With
    NUM_LAYERS above 1, each direction is a stack of its own, joined at the top (PyTorch's joins
    them after every layer)."""

    def __init__(
        self, vocab_size, embed_dim, hidden_dim, num_classes, num_layers=1, bidirectional=False
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_IDX)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.lstm_backward = None  # BIDIRECTIONAL: the same again, for the reversed articles
        if bidirectional:
            self.lstm_backward = nn.LSTM(
                embed_dim, hidden_dim, num_layers=num_layers, batch_first=True
            )
        features = hidden_dim * (2 if bidirectional else 1)
        self.head = nn.Sequential(
            nn.Linear(features, features), nn.ReLU(), nn.Linear(features, num_classes)
        )

    def forward(self, token_ids):
        lengths = (token_ids != PAD_IDX).sum(dim=1).clamp(min=1)
        steps = int(lengths.max())
        embedded = self.embedding(token_ids[:, :steps])  # columns of nothing but padding: dropped
        outputs = self.lstm(embedded)[0]
        if self.lstm_backward is not None:
            backwards = self.lstm_backward(reverse_within_length(embedded, lengths))[0]
            outputs = torch.cat([outputs, reverse_within_length(backwards, lengths)], dim=2)
        is_word = torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]
        outputs = outputs.masked_fill(~is_word[..., None], float("-inf"))
        return self.head(outputs.max(dim=1).values)


def reverse_within_length(x, lengths):
    """Each sequence of a batch (B, T, F) reversed within its own length; padding stays where it
    is. Its own inverse: applied twice, it gives back x."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    mirrored = lengths[:, None] - 1 - steps
    order = torch.where(mirrored >= 0, mirrored, steps)
    return x.gather(1, order[..., None].expand(-1, -1, x.shape[2]))


def build_model(vocab, num_classes):
    vocab_size = len(vocab) + 2  # its words, padding and <unk>
    if MODEL == "linear":
        return WordPresence(vocab_size, num_classes)
    if MODEL == "bow":
        return BagOfWords(vocab_size, EMBED_DIM, num_classes)
    return LSTMClassifier(vocab_size, EMBED_DIM, HIDDEN_DIM, num_classes, NUM_LAYERS, BIDIRECTIONAL)


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(dataloader, model, loss_fn, optimizer, examples_seen):
    """One pass over the training split, each batch's loss logged against the examples seen (by
    this process); returns their number."""
    device = next(model.parameters()).device  # where the model is
    model.train()
    for X, y in tqdm(dataloader, desc="  train", leave=False, disable=None):  # a bar on terminals
        X, y = X.to(device), y.to(device)
        if UNK_DROPOUT:
            X = unk_dropout(X, UNK_DROPOUT)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        examples_seen += len(y)
        wandb.log({"batch_loss": loss.item(), "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(eval_loaders, model, loss_fn):
    """{"train_accuracy": ..., "train_loss": ..., ...} (fractions, mean losses), and each split's
    (labels, predictions), in the order evaluated (by length)."""
    device = next(model.parameters()).device
    model.eval()
    metrics = {}
    outcomes = {}
    for split, dataloader in eval_loaders.items():
        total_loss = 0.0
        labels = []
        predicted = []
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            logits = model(X)
            total_loss += loss_fn(logits, y).item() * len(y)
            labels.append(y.cpu())
            predicted.append(logits.argmax(dim=1).cpu())
        labels = torch.cat(labels)
        predicted = torch.cat(predicted)
        outcomes[split] = (labels, predicted)
        metrics[f"{split}_accuracy"] = (predicted == labels).float().mean().item()
        metrics[f"{split}_loss"] = total_loss / len(dataloader.dataset)
    return metrics, outcomes


def train(folder, seed, checkpoint=None):
    """Train, evaluate and log the model the settings describe with `seed`, saved in `folder`
    after every epoch; with a `checkpoint`, carry on from it. Returns the summary."""
    device = pick_device()
    rank, world = rank_and_world()  # (0, 1), unless torchrun started several processes
    splits = load_splits(checkpoint)
    vocab = splits["train"].vocab
    class_names = splits["train"].class_names
    eval_batch_size = EVAL_BATCH_SIZE if MAX_LEN != -1 else 1  # unpadded: one by one
    eval_loaders = {
        name: DataLoader(split, batch_sampler=by_length(split.lengths, eval_batch_size))
        for name, split in splits.items()
    }
    torch.manual_seed(seed)
    model = build_model(vocab, len(class_names)).to(device)
    loss_fn = nn.CrossEntropyLoss()  # the batch's mean, as in the course's text starter
    optimizer = OPTIMIZERS[OPTIMIZER](model.parameters(), lr=LEARNING_RATE)
    done = restore(checkpoint, model, optimizer)  # epoch 0, or where the run stopped
    # Under torchrun, the processes average their gradients at every step.
    ddp_model = DistributedDataParallel(model) if world > 1 else model
    start_wandb(folder, done["wandb_id"], seed)
    num_parameters = sum(p.numel() for p in model.parameters())
    print(f"Using {device}; {MODEL}, {num_parameters:,} parameters; seed {seed}")
    if LENGTH_HISTOGRAM and rank == 0:  # under torchrun, once
        log_length_histogram(folder, splits["train"].articles)
    started = time.time() - done["seconds"]  # the run's clock counts the time before a stop
    examples_seen = done["examples_seen"]
    for epoch in range(done["epoch"] + 1, N_EPOCHS + 1):
        epoch_started = time.time()
        # Batches of similar length, in a new order every epoch (under torchrun, each process
        # takes its share of them).
        batches = epoch_batches(splits["train"].lengths, seed, epoch)
        train_loader = DataLoader(splits["train"], batch_sampler=batches)
        # The epoch's <unk>s come from the seed, the epoch and the process, so --resume draws them
        # again.
        torch.manual_seed(seed_for(seed, epoch, rank))
        examples_seen = train_one_epoch(train_loader, ddp_model, loss_fn, optimizer, examples_seen)
        # Each process measures the whole splits with its own copy of the model (the same).
        metrics, outcomes = evaluate(eval_loaders, model, loss_fn)
        check_loss(metrics["train_loss"], epoch, len(class_names))
        metrics["epoch_seconds"] = time.time() - epoch_started  # training and measuring
        wandb.log({"epoch": epoch, **metrics})
        summary = {"epoch": epoch, **metrics, "examples_seen": examples_seen, "seed": seed}
        summary |= {"seconds": round(time.time() - started, 2), "num_parameters": num_parameters}
        if rank == 0:  # under torchrun, the first process writes the files
            save(folder, summary, model, optimizer, vocab, class_names)
        print(
            f"epoch {epoch}/{N_EPOCHS} ({metrics['epoch_seconds']:.1f} s): "
            f"train acc {metrics['train_accuracy']:.1%} loss {metrics['train_loss']:.3f}  "
            f"val acc {metrics['val_accuracy']:.1%} loss {metrics['val_loss']:.3f}  "
            f"test acc {metrics['test_accuracy']:.1%} loss {metrics['test_loss']:.3f}"
        )
    return finish(folder, summary, *outcomes["test"], class_names)


# ----------------------------------------------------------------------------- logging / reporting


def log_length_histogram(folder, articles):
    """Save, log and describe a histogram of the training articles' lengths in tokens (no
    truncation, no padding)."""
    import matplotlib.pyplot as plt  # imported only here: most runs draw nothing

    lengths = [len(tokenize(article)) for article in articles]
    plt.hist(lengths, bins=40)
    plt.xlabel("tokens per training article (no truncation, no padding)")
    plt.ylabel("articles")
    folder.mkdir(exist_ok=True)  # a seed's, under --repeats, is not made until it saves
    plt.savefig(folder / "length_histogram.png", dpi=100)
    plt.close()
    longer = sum(length > 1024 for length in lengths) / len(lengths)  # cut by the course's MAX_LEN
    print(
        f"Training article lengths in tokens: min {min(lengths)}, median "
        f"{statistics.median(lengths):.0f}, max {max(lengths)}; {longer:.1%} longer than 1,024 "
        f"(the course's MAX_LEN). Histogram: {folder / 'length_histogram.png'}"
    )
    wandb.log({"length_histogram": wandb.Image(str(folder / "length_histogram.png"))})


def finish(folder, summary, labels, predicted, class_names):
    """Log the test split's confusion matrix (which class is taken for which; also printed) and
    the model; report the final figures, and return them."""
    true = labels.tolist()
    predicted = predicted.tolist()
    matrix = wandb.plot.confusion_matrix(y_true=true, preds=predicted, class_names=class_names)
    wandb.log({"test_confusion_matrix": matrix})
    if LOG_MODEL:
        log_model(folder)
    wandb.run.summary.update(summary)
    wandb.finish()
    print(confusion_table(true, predicted, class_names))
    print(
        f"{folder}: {MODEL}, {OPTIMIZER} at {LEARNING_RATE:g}, {summary['num_parameters']:,} "
        f"parameters, {summary['seconds']:.1f} s; test accuracy {summary['test_accuracy']:.1%}"
    )
    return summary


# ----------------------------------------------------------------------------- main


def main(argv=None):
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a cluster's stop acts as Ctrl-C
    folder = None
    try:
        files, resume = parse_settings(sys.argv[1:] if argv is None else argv)
        if files:
            predict(files)
        else:
            join_torchrun()  # under torchrun: only the first process prints, logs and writes
            # A folder of its own: RUN_NAME, or RUN_NAME-2, ... (RUN_NAME becomes that name).
            with claim_run_folder(resume) as folder:
                train_repeats(folder, resume)
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
# Below this line: --repeats, the command line and checks of the settings, --predict, wandb's start,
# reading the CSVs, the device, torchrun, run folders and checkpoints.


def train_repeats(folder, resume):
    """Train once, in `folder`; or REPEATS times, seeds SEED, SEED+1, ..., each in a folder of its
    own, seed-N, and report their mean and spread. With --resume, a stopped run carries on, and a
    seed that has trained N_EPOCHS counts as it is."""
    if REPEATS == 1:
        return train(folder, SEED, read_checkpoint(folder) if resume else None)
    summaries = []
    for seed in range(SEED, SEED + REPEATS):
        seed_folder = folder / f"seed-{seed}"
        checkpoint = None
        if resume and (seed_folder / "checkpoint.pth").is_file():
            checkpoint = read_checkpoint(seed_folder)
        if checkpoint and checkpoint["summary"]["epoch"] >= N_EPOCHS:  # this seed is done
            summaries.append(checkpoint["summary"])
        else:
            summaries.append(train(seed_folder, seed, checkpoint))
    summary = {"settings": settings(), "repeats": summaries}
    for split in ("val", "test"):
        accuracies = [s[f"{split}_accuracy"] for s in summaries]
        summary[f"{split}_accuracy_mean"] = statistics.mean(accuracies)
        summary[f"{split}_accuracy_std"] = statistics.stdev(accuracies)
    print(
        f"{REPEATS} seeds, mean ± standard deviation: val accuracy "
        f"{summary['val_accuracy_mean']:.1%} ± {summary['val_accuracy_std']:.1%}, test accuracy "
        f"{summary['test_accuracy_mean']:.1%} ± {summary['test_accuracy_std']:.1%}"
    )
    if rank_and_world()[0] == 0:  # under torchrun, the first process writes the files
        text = json.dumps(summary, indent=2) + "\n"
        (folder / "summary.json").write_text(text, encoding="utf-8")
    return summary


ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
LEAST = {"LEARNING_RATE": 0, "BATCH_SIZE": 1, "EVAL_BATCH_SIZE": 1, "N_EPOCHS": 1, "EMBED_DIM": 1}
LEAST |= {"HIDDEN_DIM": 1, "NUM_LAYERS": 1, "MAX_LEN": -1, "MIN_FREQ": 1, "UNK_DROPOUT": 0}
LEAST |= {"REPEATS": 1, "SEED": 0}
# What a flag may change in a run carried on with --resume: where it lives and runs, what it logs.
# (--predict, too, reads a run's own settings.)
CHANGEABLE = ["N_EPOCHS", "DEVICE", "LENGTH_HISTOGRAM", "LOG_MODEL", "WANDB_PROJECT", "OUT_DIR"]
CHANGEABLE += ["RUN_NAME"]


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported in one line, without a traceback."""


def true_or_false(text):
    """A boolean flag's value: --bidirectional=True, as a sweep agent writes it; also 1 or 0."""
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
        if kind is bool:  # --bidirectional, or --bidirectional=True or False
            options = {"type": true_or_false, "nargs": "?", "const": True}
        help = f"{comments.get(name, '')} (default: {default})".replace("%", "%%")  # argparse's %
        parser.add_argument(
            "--" + name.lower(), *ALIASES.get(name, []), dest=name, help=help, **options
        )
    parser.add_argument(
        "--predict",
        nargs="+",
        default=[],
        metavar="FILE",
        help="classify FILEs (- for standard input)",
    )
    parser.add_argument(
        "--resume", action="store_true", default=False, help="carry on with the run RUN_NAME"
    )
    given = vars(parser.parse_args(argv))  # the flags given
    settings = vars(parser.parse_args([f"--{n.lower()}={v}" for n, v in DEFAULTS.items()] + argv))
    files = settings.pop("predict")  # the file's settings, checked as flags, and those given
    resume = settings.pop("resume")
    if files or resume:  # the run's settings, from its summary
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
    if MAX_LEN == 0:
        raise UserError("MAX_LEN must be a number of tokens, or -1 for no truncation and padding.")
    if UNK_DROPOUT >= 1:
        raise UserError("UNK_DROPOUT is a share of the words, below 1: try --unk_dropout 0.1.")
    return files, resume


def settings():
    """The settings as this run uses them: {NAME: value}."""
    return {name: globals()[name] for name in DEFAULTS}


def predict(files):
    """Print which run's model answers, then whether each file (or standard input, "-") reads as
    real or fake, with the model's probability (under torchrun, once)."""
    if os.environ.get("RANK", "0") != "0":
        return
    checkpoint = read_checkpoint(Path(OUT_DIR) / RUN_NAME)
    model = build_model(checkpoint["vocab"], len(checkpoint["class_names"]))
    load_weights(model, checkpoint)
    model.eval()
    done = checkpoint["summary"]
    print(
        f"{RUN_NAME}: {MODEL}, {done['epoch']} epoch(s), test accuracy {done['test_accuracy']:.1%}"
    )
    for name in files:
        source = "standard input" if name == "-" else name
        try:
            if name == "-":
                text = sys.stdin.read()
            else:
                text = Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise UserError(
                f"{name} cannot be read ({error.strerror}): pass a text file, or - for standard "
                f"input."
            ) from None
        if not tokenize(text):
            raise UserError(
                f"{source} has no text to classify: pass a file (or standard input) holding an "
                f"article."
            )
        ids = text_transform(text, checkpoint["vocab"], MAX_LEN)
        with torch.inference_mode():
            probabilities = model(torch.tensor([ids])).softmax(dim=1)[0]
        best = probabilities.argmax().item()
        print(
            f"{source}: {checkpoint['class_names'][best]} (probability {probabilities[best]:.1%})"
        )


def start_wandb(folder, run_id, seed):
    """A wandb run named after `folder` (the stopped one, given its id) that never waits at a login
    prompt: online with credentials, else offline into ./wandb (also when the server is silent
    for 15 s); WANDB_MODE, when set, decides."""
    has_credentials = False
    with contextlib.suppress(Exception):  # credentials wandb cannot read are no credentials
        has_credentials = wandb.login(prompt=False, verify=False)
    mode = os.environ.get("WANDB_MODE") or ("online" if has_credentials else "offline")
    if mode not in ("online", "offline", "disabled", "dryrun", "run", "shared"):
        raise UserError(
            f"WANDB_MODE={mode} is not a mode wandb knows: set it to offline, or unset it."
        )
    name = str(folder.relative_to(OUT_DIR))
    options = {
        "project": WANDB_PROJECT,
        "name": name,
        "config": settings() | {"seed": seed},
        "id": run_id,
    }
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
    """The summary.json a run of this script wrote in `folder` (for a group of seeds, the first
    seed's, until the group's own is written), or a UserError saying there is none."""
    for path in [folder / "summary.json", *sorted(folder.glob("seed-*/summary.json"))]:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(path.read_text(encoding="utf-8"))
    raise UserError(
        f"no run of {Path(__file__).name} in {folder}: check --run_name and --out_dir (a run's "
        f"folder is named when it starts), or train one first."
    )


def read_checkpoint(folder):
    """The checkpoint.pth this script wrote in `folder`, or a UserError saying why there is none
    (for a group of seeds, naming them)."""
    try:
        checkpoint = torch.load(folder / "checkpoint.pth", map_location="cpu", weights_only=True)
        is_ours = "model" in checkpoint and "vocab" in checkpoint
    except Exception:  # no file, or none torch can read
        is_ours = False
    if not is_ours:
        seeds = [str(path.relative_to(OUT_DIR)) for path in sorted(folder.glob("seed-*"))]
        raise UserError(
            f"no model {Path(__file__).name} can read in {folder}: train one first, or pass the "
            f"--run_name it was trained under (here: {', '.join(seeds) or 'none'})."
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


def restore(checkpoint, model, optimizer):
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
    print(f"Resuming {RUN_NAME}, seed {done['seed']}, after epoch {done['epoch']}.")
    return done


def save(folder, summary, model, optimizer, vocab, class_names):
    """checkpoint.pth, then summary.json (with the settings and the wandb run's id), each written
    whole to a file of its own, then renamed: a run stopped while saving keeps the epoch before,
    and the summary never tells of more than the checkpoint holds."""
    summary = summary | {"wandb_id": wandb.run.id, "settings": settings()}
    checkpoint = {
        "summary": summary,
        "vocab": vocab,
        "class_names": class_names,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    folder.mkdir(exist_ok=True)  # a seed's, under --repeats, is made when it first saves
    torch.save(checkpoint, folder / "checkpoint.pth.tmp")
    (folder / "checkpoint.pth.tmp").replace(folder / "checkpoint.pth")
    text = json.dumps(summary, indent=2) + "\n"
    (folder / "summary.json.tmp").write_text(text, encoding="utf-8")
    (folder / "summary.json.tmp").replace(folder / "summary.json")


def stopped(folder):
    """What a stop leaves on disk (for a group of seeds, each seed's), and how to carry on."""
    if folder is None:  # before the run had a folder, or in --predict
        return "Stopped."
    paths = sorted(folder.glob("seed-*/summary.json")) if REPEATS > 1 else [folder / "summary.json"]
    epochs = {
        p.parent: json.loads(p.read_text(encoding="utf-8"))["epoch"] for p in paths if p.is_file()
    }
    if not epochs:
        return "Stopped before the first epoch finished; nothing was saved."
    saved = "; ".join(f"{path} after epoch {epoch} of {N_EPOCHS}" for path, epoch in epochs.items())
    if len(epochs) == REPEATS and min(epochs.values()) == N_EPOCHS:
        return f"Stopped while finishing. Saved: {saved}."
    return (
        f"Stopped. Saved: {saved}. Carry on with the same command plus --resume --run_name "
        f"{RUN_NAME}"
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
    """A seed of its own for each (seed, epoch, process): numbers as close as seed 0 in epoch 2
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


def read_csv(csv_file, data_column):
    """A course CSV's rows as text, or a UserError saying in one line what is wrong with it."""
    if not Path(csv_file).is_file():
        raise UserError(
            f"{csv_file} not found: set DATA_DIR (--data_dir) to the folder that holds "
            f"txt_train.csv, txt_val.csv and txt_test.csv."
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
    numbers = numbers.where(numbers.between(0, 1e6) & (numbers % 1 == 0))  # no class number: nan
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


def check_unchanged(train, checkpoint):
    """When resuming, the training split must give the vocabulary and classes the run started
    with: word ids must mean what they meant."""
    if checkpoint and (train.vocab, train.class_names) != (
        checkpoint["vocab"],
        checkpoint["class_names"],
    ):
        raise UserError(
            f"{Path(DATA_DIR) / 'txt_train.csv'} has changed since {RUN_NAME} started (its words "
            f"or classes differ): resume with the data it started with, or start a new run."
        )


def check_stackable(dataset):
    """Fail before training, not in it, when a batch of articles of their own lengths (MAX_LEN -1)
    cannot be stacked into one tensor."""
    one_of_each_length = {len(ids): ids for ids in dataset.token_ids}
    try:
        torch.stack(list(one_of_each_length.values())[:BATCH_SIZE])
    except RuntimeError as error:
        raise UserError(
            f"cannot stack a batch of articles of {len(one_of_each_length)} different lengths "
            f"({min(one_of_each_length)} to {max(one_of_each_length)} tokens): a tensor batch "
            f"needs equal lengths, and MAX_LEN = -1 turns padding off. Set --max_len (e.g. 1024) "
            f"to pad, or --batch_size 1. (PyTorch said: {str(error).splitlines()[0]})"
        ) from None


def epoch_batches(lengths, seed, epoch):
    """A training epoch's batches of article numbers, of similar length so that the LSTM reads
    little padding: the articles sorted by their length times 0.7 to 1.3 (new neighbours every
    epoch; the same in every process), cut into batches, and the batches shuffled (by the
    DistributedSampler, from the seed and the epoch). Under torchrun, this process's share of
    them."""
    generator = torch.Generator().manual_seed(seed_for(seed, epoch))
    noisy_lengths = torch.tensor(lengths) * (
        0.7 + 0.6 * torch.rand(len(lengths), generator=generator)
    )
    batches = noisy_lengths.argsort().split(BATCH_SIZE)
    rank, world = rank_and_world()
    sampler = DistributedSampler(batches, world, rank, seed=seed_for(seed))
    sampler.set_epoch(epoch)
    return [batches[i].tolist() for i in sampler]


def by_length(lengths, batch_size):
    """Evaluation batches: the articles in order of length, so the LSTM reads little padding."""
    order = torch.tensor(lengths).argsort(stable=True)
    return [batch.tolist() for batch in order.split(batch_size)]


def check_loss(loss, epoch, num_classes):
    """Stop a run whose training loss is not a number, or a thousand times guessing's."""
    if math.isfinite(loss) and loss <= 1000 * math.log(num_classes):
        return
    good_rate = 5.0 if OPTIMIZER == "sgd" else 0.01  # rates that work here
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
    """The test split's confusion matrix as text: articles of each class (rows) taken for which."""
    true_names = pd.Categorical.from_codes(true, class_names)
    predicted_names = pd.Categorical.from_codes(predicted, class_names)
    table = pd.crosstab(
        true_names, predicted_names, rownames=["true"], colnames=["predicted"], dropna=False
    )
    return f"Test articles, true class (rows) and predicted class (columns):\n{table}"


if __name__ == "__main__":
    sys.exit(main())
