"""Tell real local news from LLM-written imitations: a bag of words against an LSTM.

    python txt_classifier.py                          # the recommended start: bag of words, Adam
    python txt_classifier.py --optimizer sgd --lr 5   # the course's SGD baseline
    python txt_classifier.py --model lstm
    python txt_classifier.py --batch_size 1 --max_len -1 --length_histogram
    python txt_classifier.py --repeats 5              # five seeds: mean and spread of accuracy
    python txt_classifier.py --help                   # every setting with its default
    python txt_classifier.py --predict article.txt    # or --predict - to read standard input

Every UPPER_CASE setting below can be edited here or overridden on the command line by its
lower-case name. Metrics go to Weights & Biases (offline into ./wandb when you have no
account; `wandb sync` uploads them later) and the trained model and a summary to
OUT_DIR/RUN_NAME/.

Read from the top: settings, data, models, training, logging, main(). Below main() a marked
line starts the machinery (command line, input checks, resuming, wandb fallbacks), which you
can skip.
"""

import argparse
import ast
import collections
import contextlib
import difflib
import importlib
import io
import json
import math
import os
import random
import re
import signal
import socket
import statistics
import sys
import threading
import time
import tokenize
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data._utils.collate import default_collate
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR = "./data"  # folder holding txt_train.csv, txt_val.csv and txt_test.csv
MODEL = "bow"  # "bow" (bag of words, nn.EmbeddingBag) or "lstm"
OPTIMIZER = "adam"  # "adam", "sgd" (the course baseline runs it with learning rate 5) or "adamw"
LEARNING_RATE = 0.01  # optimiser step size (the course starts Adam at 0.001; the README says why 0.01)
BATCH_SIZE = 32  # articles per optimiser step
EVAL_BATCH_SIZE = 64  # articles per batch when only measuring
N_EPOCHS = 20  # passes over the training split
EMBED_DIM = 128  # size of each word's embedding vector
HIDDEN_DIM = 64  # LSTM hidden state size
NUM_LAYERS = 1  # stacked LSTM layers
BIDIRECTIONAL = False  # also read each article backwards (LSTM)
MAX_LEN = 1024  # tokens kept per article, padded up to this; -1 keeps all and pads nothing
MIN_FREQ = 1  # a word needs this many training occurrences to get its own embedding
UNK_DROPOUT = 0.1  # share of training tokens replaced by <unk> each batch, so <unk> learns what an unknown word means
BUCKET_BY_LENGTH = True  # batch articles of similar length together, so the LSTM skips most padding
LENGTH_HISTOGRAM = False  # save and log a histogram of training article lengths
REPEATS = 1  # train with seeds SEED .. SEED+REPEATS-1 and report mean and spread
SEED = 0  # same seed, same data, same machine: same numbers
RUN_NAME = "txt-classifier"  # wandb run name, and the folder under OUT_DIR
WANDB_PROJECT = "txt-classifier"  # wandb project the run is logged to
OUT_DIR = "./runs"  # model.pth and summary.json go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks cuda, then mps, then cpu; or name one of them
# ----------------------------------------------------------------------------- end of settings

# ----------------------------------------------------------------------------- data

PAD, UNK = "<pad>", "<unk>"
PAD_IDX, UNK_IDX = 0, 1


class SimpleTokenizer:
    """Spaces around . , : ; ! ? ( ), then split on whitespace. Case and everything else are kept."""

    PUNCTUATION = re.compile(r"([.,:;!?()])")

    def __call__(self, text):
        return self.PUNCTUATION.sub(r" \1 ", text).split()


class Vocab:
    """Token <-> id. Id 0 is padding, id 1 stands for every word not seen in training."""

    def __init__(self, token_counts, min_freq=1):
        kept = sorted((t for t, n in token_counts.items() if n >= min_freq),
                      key=lambda t: (-token_counts[t], t))  # most frequent first; ties alphabetical
        self.itos = [PAD, UNK] + kept
        self.stoi = {token: i for i, token in enumerate(self.itos)}
        self.pad_idx, self.unk_idx = PAD_IDX, UNK_IDX

    def __len__(self):
        return len(self.itos)

    def __call__(self, tokens):
        return [self.stoi.get(token, self.unk_idx) for token in tokens]


class CorpusInfo:
    """What the training split tells us: the vocabulary, the classes and how often each occurs."""

    def __init__(self, train_frame, tokenizer, min_freq=1):
        counts = collections.Counter()
        for article in train_frame["article"]:
            counts.update(tokenizer(article))
        self.vocab = Vocab(counts, min_freq)
        names = {int(float(i)): str(label).strip() for i, label in zip(train_frame["label_idx"], train_frame["label"])}
        self.class_names = [names.get(i, f"class {i}") for i in range(max(names) + 1)]
        self.label_counts = collections.Counter(train_frame["label"])
        self.num_classes = len(self.class_names)
        self.pad_idx = self.vocab.pad_idx


class TextTransform:
    """Article text -> list of token ids."""

    def __init__(self, tokenizer, vocab):
        self.tokenizer, self.vocab = tokenizer, vocab

    def __call__(self, text):
        return self.vocab(self.tokenizer(text))


class TruncateToMaxLen:
    def __init__(self, max_len):
        self.max_len = max_len

    def __call__(self, ids):
        return ids if self.max_len == -1 else ids[:self.max_len]


class PadToMaxLen:
    def __init__(self, max_len, pad_idx):
        self.max_len, self.pad_idx = max_len, pad_idx

    def __call__(self, ids):
        return ids if self.max_len == -1 else ids + [self.pad_idx] * (self.max_len - len(ids))


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, value):
        for transform in self.transforms:
            value = transform(value)
        return value


class CsvTextDataset(Dataset):
    """One split of a course CSV. Each article is tokenised once, here, not once per epoch."""

    def __init__(self, frame, transform):
        self.articles = list(frame["article"])
        self.labels = torch.tensor([int(float(i)) for i in frame["label_idx"]], dtype=torch.long)
        self.token_ids = [torch.tensor(transform(article), dtype=torch.long) for article in self.articles]
        self.lengths = [int((ids != PAD_IDX).sum()) for ids in self.token_ids]  # real tokens, padding excluded

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.token_ids[idx], self.labels[idx]


class Corpus:
    """The three splits, tokenised once per invocation and shared by every repeat: the
    vocabulary comes from the training split only; each article becomes token ids, cut to
    MAX_LEN and padded up to it."""

    def __init__(self, cfg):
        started, frames = time.time(), read_splits(cfg)
        self.tokenizer = SimpleTokenizer()
        self.info = CorpusInfo(frames["train"], self.tokenizer, cfg["min_freq"])
        transform = Compose([TextTransform(self.tokenizer, self.info.vocab), TruncateToMaxLen(cfg["max_len"]),
                             PadToMaxLen(cfg["max_len"], self.info.pad_idx)])
        self.splits = {split: CsvTextDataset(frame, transform) for split, frame in frames.items()}
        self.train_lengths = [len(self.tokenizer(article)) for article in frames["train"]["article"]]
        print(f"Loaded {', '.join(f'{len(d)} {s}' for s, d in self.splits.items())} articles; "
              f"vocabulary of {len(self.info.vocab):,} tokens from training; labels "
              f"{dict(self.info.label_counts)}; in {time.time() - started:.1f} s")


def collate_batch(batch):
    """Stack a batch; with MAX_LEN = -1 articles differ in length, and that cannot be stacked."""
    try:
        return default_collate(batch)
    except RuntimeError as error:
        lengths = sorted({len(ids) for ids, _ in batch})
        raise UserError(
            f"cannot stack a batch of articles with {len(lengths)} different lengths "
            f"({lengths[0]} to {lengths[-1]} tokens): a tensor batch needs equal lengths, and "
            f"MAX_LEN = -1 turns padding off. Set --max_len (e.g. 1024) to pad, or --batch_size 1. "
            f"(PyTorch said: {str(error).splitlines()[0]})") from None


class UnkDropout:
    """UNK_DROPOUT: in every training batch, this share of the real tokens becomes <unk>.

    Every word of the training split has its own embedding (with MIN_FREQ = 1), so without
    this the <unk> embedding never trains, while about a tenth of a real test article is words
    the training split lacked, all mapped to <unk>. Its random numbers come from a stream of its
    own (`generator`, seeded by SEED and kept in resume checkpoints), so runs repeat and resume exactly.
    """

    def __init__(self, share, seed, unk_idx=UNK_IDX, pad_idx=PAD_IDX):
        self.share, self.unk_idx, self.pad_idx = share, unk_idx, pad_idx
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, token_ids):
        drop = (torch.rand(token_ids.shape, generator=self.generator) < self.share) & (token_ids != self.pad_idx)
        return token_ids.masked_fill(drop, self.unk_idx)


class LengthBuckets(Sampler):
    """Batches of articles of similar length: less padding, so less work for the LSTM.

    Training (shuffle=True): articles are sorted by length times a random factor between 0.7
    and 1.3, cut into batches, and the batches shuffled, so an article meets different
    neighbours every epoch. Evaluation (shuffle=False): sorted by length, in order.
    """

    def __init__(self, lengths, batch_size, generator=None, shuffle=True):
        self.lengths, self.batch_size, self.generator, self.shuffle = lengths, batch_size, generator, shuffle

    def __iter__(self):
        lengths = torch.tensor(self.lengths, dtype=torch.float)
        if self.shuffle:
            lengths = lengths * (0.7 + 0.6 * torch.rand(len(lengths), generator=self.generator))
        order = lengths.argsort(stable=True).tolist()
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator).tolist()]
        return iter(batches)

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)


def epoch_batches(cfg, dataset, generator):
    """One epoch's batches of training indices: shuffled, and in length buckets if asked."""
    if cfg["bucket_by_length"]:
        return list(LengthBuckets(dataset.lengths, cfg["batch_size"], generator))
    order = torch.randperm(len(dataset), generator=generator).tolist()
    return [order[i:i + cfg["batch_size"]] for i in range(0, len(order), cfg["batch_size"])]


# ----------------------------------------------------------------------------- models


class BagOfWords(nn.Module):
    """Mean of the article's word embeddings, then a linear layer. Padding is left out of the mean."""

    def __init__(self, vocab_size, embed_dim, num_classes, pad_idx=0):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=pad_idx)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, token_ids):
        return self.fc(self.embedding(token_ids))


class LSTMClassifier(nn.Module):
    """Embedding, LSTM, max over time of the outputs at real words, then a small linear head.

    Padding cannot change a prediction: it comes after an article's last word, so reading
    forwards, the outputs at the real words never see it, and the mask keeps padded steps out
    of the max. Reading backwards (BIDIRECTIONAL), a second LSTM reads each article reversed
    within its own length, so it too meets the real words before any padding; its outputs are
    put back in reading order and joined to the forward ones. (The two directions are separate
    stacks, as in ELMo; one nn.LSTM(bidirectional=True) would read the padding first backwards
    unless the batch were packed, and packed sequences train about 20x slower on a CPU.)
    """

    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes, pad_idx=0, num_layers=1,
                 bidirectional=False):
        super().__init__()
        self.pad_idx = pad_idx
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.lstm_backward = (nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
                              if bidirectional else None)
        features = hidden_dim * (2 if bidirectional else 1)
        self.head = nn.Sequential(nn.Linear(features, features), nn.ReLU(), nn.Linear(features, num_classes))

    def forward(self, token_ids):
        lengths = (token_ids != self.pad_idx).sum(dim=1).clamp(min=1)
        steps = int(lengths.max())
        embedded = self.embedding(token_ids[:, :steps])  # columns of nothing but padding: dropped
        outputs = self.lstm(embedded)[0]
        if self.lstm_backward is not None:
            backwards = reverse_within_length(embedded, lengths)
            outputs = torch.cat([outputs, reverse_within_length(self.lstm_backward(backwards)[0], lengths)], dim=2)
        is_real = torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]
        outputs = outputs.masked_fill(~is_real[..., None], float("-inf"))
        return self.head(outputs.max(dim=1).values)


def reverse_within_length(x, lengths):
    """Each sequence of a batch (B, T, F) reversed within its own length; padding stays where it
    is. Its own inverse: applied twice, it gives back x."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    mirrored = lengths[:, None] - 1 - steps
    order = torch.where(mirrored >= 0, mirrored, steps)
    return x.gather(1, order[..., None].expand(-1, -1, x.shape[2]))


def build_model(cfg, vocab_size, num_classes, pad_idx):
    if cfg["model"] == "bow":
        return BagOfWords(vocab_size, cfg["embed_dim"], num_classes, pad_idx)
    return LSTMClassifier(vocab_size, cfg["embed_dim"], cfg["hidden_dim"], num_classes, pad_idx,
                          cfg["num_layers"], cfg["bidirectional"])


def build_optimizer(cfg, model):
    optimizer_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
                       "adamw": torch.optim.AdamW}[cfg["optimizer"]]
    return optimizer_class(model.parameters(), lr=cfg["learning_rate"])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(dataloader, model, loss_fn, optimizer, device, examples_seen, log, should_stop=lambda: False,
                    unk_dropout=None):
    """One pass over `dataloader`, or until should_stop(); returns (examples_seen, batches done).
    With `unk_dropout` (UnkDropout), some tokens of each batch are replaced by <unk> first.

    Batch losses stay on the device and are read back in groups (a GPU is not stopped after
    every batch just to print a number), passed to log(losses, examples_seen_after_each) and
    checked: a loss that is not a finite number raises Diverged.
    """
    model.train()
    # Redraw often on a terminal; when output goes to a log or notebook, now and then.
    progress = tqdm(dataloader, desc="  train", unit="batch", leave=False,
                    mininterval=0.5 if sys.stderr.isatty() else 15)
    pending, batch = [], 0
    for batch, (token_ids, labels) in enumerate(progress, start=1):
        if unk_dropout:
            token_ids = unk_dropout(token_ids)
        token_ids, labels = token_ids.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        loss = loss_fn(model(token_ids), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        examples_seen += len(labels)
        pending.append((loss.detach(), examples_seen))
        stop = should_stop()
        if len(pending) == 25 or batch == len(dataloader) or stop:
            losses = torch.stack([loss for loss, _ in pending]).tolist()
            bad = next((i for i, value in enumerate(losses) if not math.isfinite(value)), None)
            if bad is not None:
                raise Diverged(losses[bad], pending[bad][1])
            log(losses, [seen for _, seen in pending])
            pending = []
            progress.set_postfix(loss=f"{losses[-1]:.3f}")
        if stop:
            break
    progress.close()
    return examples_seen, batch


@torch.inference_mode()
def evaluate(dataloader, model, loss_fn, device):
    """Accuracy (a fraction), mean loss, and each article's class probabilities."""
    model.eval()
    total_loss, probabilities = 0.0, []
    for token_ids, labels in dataloader:
        logits = model(token_ids.to(device))
        total_loss += loss_fn(logits, labels.to(device)).item() * len(labels)
        probabilities.append(logits.softmax(dim=1).cpu())
    # Back to the dataset's order, whatever order the batches came in (length buckets).
    order = torch.tensor([i for batch in dataloader.batch_sampler for i in batch])
    probabilities = torch.cat(probabilities)[order.argsort()]
    targets = dataloader.dataset.labels
    accuracy = (probabilities.argmax(dim=1) == targets).float().mean().item()
    return accuracy, total_loss / len(targets), probabilities


def evaluate_splits(eval_loaders, model, loss_fn, device):
    """Accuracy and loss on every split, and the test articles' class probabilities."""
    metrics = {}
    for split, loader in eval_loaders.items():
        accuracy, loss, probabilities = evaluate(loader, model, loss_fn, device)
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
    return metrics, probabilities


def train(cfg, corpus, stop, run_dir, run_name, group=None, resume_point=None, invocation=None):
    """Train and evaluate one model as `cfg` says, from scratch or from `resume_point`; returns the
    summary it writes. With REPEATS, `cfg` is one repeat's settings and `invocation` the whole
    command's, kept in checkpoints for --resume. `stop` (StopRequests) says when to stop."""
    seed_everything(cfg["seed"])
    background = Background()  # slow starts (an import, wandb) overlap with getting ready
    device, info, splits = pick_device(cfg["device"]), corpus.info, corpus.splits
    check_batches_stack(splits["train"], cfg["batch_size"])
    train_loader, eval_loaders = make_loaders(cfg, splits)
    background.start_wandb(cfg, run_name, resume_point, group=group, charts=define_charts)
    model = build_model(cfg, len(info.vocab), info.num_classes, info.pad_idx).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = build_optimizer(cfg, model)
    unk_dropout = UnkDropout(cfg["unk_dropout"], cfg["seed"]) if cfg["unk_dropout"] else None
    state = TrainingState(cfg, {"model": model, "optimizer": optimizer}, {"unk_dropout": unk_dropout},
                          {"vocab": info.vocab.itos, "invocation": invocation or cfg}, stop, resume_point,
                          path=run_dir / "resume.pth")
    run = state.attach(background.wandb_run())
    num_parameters = count_parameters(model)
    run.summary.update({"num_parameters": num_parameters, "optimizer": cfg["optimizer"]})
    print(f"Using {device}; {cfg['model']} with {num_parameters:,} parameters; seed {cfg['seed']}")
    if cfg["length_histogram"]:
        log_length_histogram(run, corpus, cfg, run_dir)
    metrics = None
    for epoch in state.epochs():
        epoch_started = time.time()
        batches = state.batches(lambda generator: epoch_batches(cfg, splits["train"], generator))
        try:
            seen, done = train_one_epoch(train_loader(batches), model, loss_fn, optimizer, device, state.examples_seen,
                                         log_batches(run), should_stop=state.stop_requested, unk_dropout=unk_dropout)
        except Diverged as error:
            state.diverged(error, epoch, None)
        state.trained(epoch, seen, done)
        metrics, probabilities = evaluate_splits(eval_loaders, model, loss_fn, device)
        state.evaluated(epoch, metrics["train_loss"], None)
        metrics["epoch_seconds"] = time.time() - epoch_started
        run.log({"epoch": epoch, **metrics})
        print(f"epoch {epoch}/{cfg['n_epochs']} ({metrics['epoch_seconds']:.1f} s): " + "  ".join(
            f"{s} acc {metrics[f'{s}_accuracy']:.1%} loss {metrics[f'{s}_loss']:.3f}" for s in eval_loaders))
        state.epoch_done(epoch)
    if metrics is None:  # resumed after the last epoch (stopped while finishing): only the results are left
        metrics, probabilities = evaluate_splits(eval_loaders, model, loss_fn, device)
    # A stop request from here on lets the run finish: saving the results is the quickest way out.
    summary = finish(cfg, run, model, info, run_dir, eval_loaders["test"], loss_fn, metrics, probabilities,
                     num_parameters, state.seconds(), state.examples_seen)
    state.finished()
    return summary


# ----------------------------------------------------------------------------- logging / reporting


def define_charts(run):
    """Batch loss against examples seen, and every epoch metric against the epoch number."""
    run.define_metric("examples_seen", hidden=True)
    run.define_metric("batch_loss", step_metric="examples_seen")
    run.define_metric("epoch", hidden=True)
    for metric in ("train_accuracy", "train_loss", "val_accuracy", "val_loss", "test_accuracy", "test_loss",
                   "epoch_seconds"):
        run.define_metric(metric, step_metric="epoch")


def log_batches(run):
    """A function logging each batch's loss against the examples seen so far."""
    def log(losses, examples_seen):
        for loss, seen in zip(losses, examples_seen):
            run.log({"batch_loss": loss, "examples_seen": seen})
    return log


def length_histogram(lengths, max_len, path):
    """Save a histogram of article lengths (in tokens) to path; return the figures printed with it."""
    import matplotlib

    matplotlib.use("Agg")  # files only: works with no screen
    import matplotlib.pyplot as plt

    # With MAX_LEN = -1 (nothing cut), show where the default MAX_LEN would cut.
    cut, cut_name = (max_len, "MAX_LEN") if max_len > 0 else (MAX_LEN, "the default MAX_LEN")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=40, color="#4c72b0")
    ax.axvline(cut, color="#c44e52", linestyle="--", label=f"{cut_name} = {cut}")
    ax.legend()
    ax.set_xlabel("tokens per training article (no truncation, no padding)")
    ax.set_ylabel("articles")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    stats = {"min": min(lengths), "median": statistics.median(lengths), "mean": statistics.mean(lengths),
             "max": max(lengths)}
    stats["longer_than"] = {"tokens": cut, "name": cut_name, "share": sum(n > cut for n in lengths) / len(lengths)}
    return stats


def log_length_histogram(run, corpus, cfg, run_dir):
    import wandb

    path = run_dir / "length_histogram.png"
    stats = length_histogram(corpus.train_lengths, cfg["max_len"], path)
    longer = stats.pop("longer_than")
    print("Training article lengths in tokens: " + ", ".join(f"{k} {v:.0f}" for k, v in stats.items())
          + f"; {longer['share']:.1%} longer than {longer['name']} = {longer['tokens']}. Histogram: {path}")
    run.log({"length_histogram": wandb.Image(str(path))})
    run.summary.update({**{f"length_{k}": v for k, v in stats.items()}, "length_share_cut": longer["share"]})


def misclassified_rows(articles, probabilities, targets, class_names, limit=20):
    """(title, true, predicted, confidence) of wrongly classified articles, most confident first."""
    predicted = probabilities.argmax(dim=1)
    wrong = [i for i in range(len(targets)) if predicted[i] != targets[i]]
    wrong.sort(key=lambda i: -probabilities[i].max().item())
    return [[articles[i].strip().split("\n")[0][:120], class_names[targets[i]], class_names[predicted[i]],
             round(probabilities[i].max().item(), 4)] for i in wrong[:limit]]


def print_report(cfg, metrics, num_parameters, seconds):
    print(f"\n{cfg['run_name']}: {cfg['model']}, {cfg['optimizer']} lr {cfg['learning_rate']}, "
          f"{num_parameters:,} parameters, {cfg['n_epochs']} epochs in {seconds:.1f} s")
    print(f"  {'split':<6}{'accuracy':>10}{'loss':>10}")
    for split in ("train", "val", "test"):
        print(f"  {split:<6}{metrics[f'{split}_accuracy']:>10.1%}{metrics[f'{split}_loss']:>10.4f}")


def finish(cfg, run, model, info, run_dir, test_loader, loss_fn, metrics, test_probabilities, num_parameters,
           seconds, examples_seen):
    """Save the model and summary, check the saved model, log the final figures, print the report."""
    device = next(model.parameters()).device
    checkpoint_path = run_dir / "model.pth"
    save_checkpoint(checkpoint_path, model, cfg, info)
    check_reload(checkpoint_path, model,
                 lambda m: evaluate(test_loader, m.to(device), loss_fn, device)[2].argmax(dim=1))
    summary = {**metrics, "epochs": cfg["n_epochs"], "num_parameters": num_parameters,
               "seconds": round(seconds, 2), "examples_seen": examples_seen, "device": str(device),
               "settings": cfg}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log_final(run, metrics, test_probabilities, test_loader.dataset, info.class_names, seconds)
    print_report(cfg, metrics, num_parameters, seconds)
    print(f"Saved {checkpoint_path} and {run_dir / 'summary.json'}")
    return summary


def log_final(run, metrics, test_probabilities, test_split, class_names, seconds):
    import wandb

    targets = test_split.labels
    rows = misclassified_rows(test_split.articles, test_probabilities, targets, class_names)
    run.log({"misclassified_test_articles": wandb.Table(columns=["title", "true", "predicted", "confidence"],
                                                        data=rows),
             "test_confusion_matrix": wandb.plot.confusion_matrix(
                 y_true=targets.tolist(), preds=test_probabilities.argmax(dim=1).tolist(),
                 class_names=class_names)})
    run.summary.update({**metrics, "seconds": seconds})
    run.finish()


def save_checkpoint(path, model, cfg, corpus):
    atomic_save({"format": CHECKPOINT_FORMAT, "model_state": model.state_dict(), "settings": cfg,
                 "vocab": corpus.vocab.itos, "class_names": corpus.class_names}, path)


# ----------------------------------------------------------------------------- main


def train_repeats(cfg, stop, resume=False):
    """Train REPEATS times with consecutive seeds and report the spread of validation and test
    accuracy (one repeat: just train). With `resume`, repeats that finished are not trained
    again and the stopped one carries on from its checkpoint."""
    Background()  # starts importing torch._dynamo now, while the articles are read and tokenised
    corpus = Corpus(cfg)
    base_dir, single = Path(cfg["out_dir"]) / cfg["run_name"], cfg["repeats"] == 1
    summaries = []
    for k in range(cfg["repeats"]):
        seed = cfg["seed"] + k
        run_cfg, run_dir = dict(cfg, seed=seed), base_dir if k == 0 else base_dir / f"seed-{seed}"
        name, group = (cfg["run_name"], None) if single else (f"{cfg['run_name']}-seed{seed}", cfg["run_name"])
        point = read_resume_point(run_dir / "resume.pth") if resume and (run_dir / "resume.pth").is_file() else None
        finished = finished_summary(run_dir, run_cfg) if resume and point is None else None
        if finished:
            print(f"repeat {k + 1}/{cfg['repeats']} (seed {seed}) finished before; using its results.")
            summaries.append(finished)
            continue
        if stop.signal is not None:
            raise Stopped(f"stopped after {k} of {cfg['repeats']} repeats; their results are saved, and the same "
                          f"command plus --resume trains the rest.", code=128 + stop.signal)
        if not single:
            print(f"\n=== repeat {k + 1}/{cfg['repeats']}: seed {seed}")
        summaries.append(train(run_cfg, corpus, stop, run_dir, name, group, point, invocation=cfg))
    if single:
        return summaries[0]
    spread = report_repeats(cfg, summaries)
    first = summaries[0]
    (base_dir / "summary.json").write_text(json.dumps({**first, **spread}, indent=2) + "\n", encoding="utf-8")
    return {**first, **spread}


def report_repeats(cfg, summaries):
    import wandb

    spread = {"repeats": [{k: s[k] for k in ("val_accuracy", "test_accuracy", "seconds")} | {"seed": s["settings"]["seed"]}
                          for s in summaries]}
    for split in ("val", "test"):
        values = [s[f"{split}_accuracy"] for s in summaries]
        spread[f"{split}_accuracy_mean"] = statistics.mean(values)
        spread[f"{split}_accuracy_std"] = statistics.stdev(values)
    print(f"\n{cfg['repeats']} seeds: validation accuracy {spread['val_accuracy_mean']:.1%} "
          f"± {spread['val_accuracy_std']:.1%}, test accuracy {spread['test_accuracy_mean']:.1%} "
          f"± {spread['test_accuracy_std']:.1%} (mean ± standard deviation)")
    run = start_wandb(cfg, f"{cfg['run_name']}-summary", group=cfg["run_name"], job_type="summary")
    table = wandb.Table(columns=["seed", "val_accuracy", "test_accuracy", "seconds"],
                        data=[[r["seed"], r["val_accuracy"], r["test_accuracy"], r["seconds"]] for r in spread["repeats"]])
    run.log({"repeats": table})
    run.summary.update({k: v for k, v in spread.items() if k != "repeats"})
    run.finish()
    return spread


def predict(cfg, files):
    """Print whether each file reads as real or fake, with the model's probability."""
    model, vocab, checkpoint = load_checkpoint(Path(cfg["out_dir"]) / cfg["run_name"] / "model.pth")
    settings, class_names = checkpoint["settings"], checkpoint["class_names"]
    tokenizer = SimpleTokenizer()
    for name in files:
        label = "standard input" if name == "-" else name
        if name != "-" and not Path(name).is_file():
            raise UserError(f"{name} not found: pass a text file (or - for standard input) to --predict.")
        tokens = read_tokens(sys.stdin if name == "-" else Path(name), tokenizer, settings["max_len"])
        if not tokens:
            raise UserError(f"{label} has no text to classify: pass a file (or standard input) holding an article.")
        ids = vocab(tokens)
        with torch.inference_mode():
            probabilities = model(torch.tensor([ids])).softmax(dim=1)[0]
        best = probabilities.argmax().item()
        known = sum(i != vocab.unk_idx for i in ids)
        caveat = "" if known else "; no word of it is in the model's vocabulary, so this is only the prior"
        print(f"{label}: {class_names[best]} (probability {probabilities[best]:.1%}{caveat})")


def main(argv=None):
    try:
        cfg, command = parse_settings(argv)
        if command["predict"]:
            predict(cfg, command["predict"])
        else:
            with StopRequests() as stop:  # from here on, Ctrl-C and SIGTERM stop cleanly
                if command["resume"]:
                    train_repeats(load_resume_point(cfg, command["explicit"]), stop, resume=True)
                else:
                    train_repeats(cfg, stop)
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
# Below this line: command line, input checks, resuming and stopping, wandb fallbacks.
# Nothing here changes what is learned; you can stop reading.

CHOICES = {"MODEL": ["bow", "lstm"], "OPTIMIZER": ["adam", "sgd", "adamw"],
           "DEVICE": ["auto", "cuda", "mps", "cpu"]}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = ["LEARNING_RATE", "BATCH_SIZE", "EVAL_BATCH_SIZE", "N_EPOCHS", "EMBED_DIM", "HIDDEN_DIM",
            "NUM_LAYERS", "MIN_FREQ", "REPEATS"]
CSV_COLUMNS = ["article", "label", "label_idx"]
CHECKPOINT_FORMAT = "txt_classifier/2"  # 2: the bidirectional LSTM reads backwards with a module of its own
RESUME_FORMAT = "txt_classifier-resume/3"  # 3: progress keeps random streams by name, and the command's settings
# Settings --resume may change: they do not change the numbers (or say where the run lives).
RESUMABLE = {"n_epochs", "device", "length_histogram", "wandb_project", "out_dir", "run_name"}


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
                            f"edit it in txt_classifier.py or pass --{name.lower()} with a positive value.")
    if cfg["max_len"] == 0 or cfg["max_len"] < -1:
        raise UserError(f"MAX_LEN must be a positive number of tokens, or -1 for no truncation and "
                        f"no padding; got {cfg['max_len']}: try --max_len 1024.")
    if not 0 <= cfg["unk_dropout"] < 1:
        raise UserError(f"UNK_DROPOUT is a share of tokens, from 0 up to (not including) 1; got {cfg['unk_dropout']}: "
                        f"try --unk_dropout 0.05.")


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


def check_articles(frames):
    """Every row needs some text in its article column."""
    problems = [f"{csv_file} row {row}, column article: empty; give the article's text or remove the row."
                for csv_file, frame in frames.items()
                for row, article in enumerate(frame["article"], start=1) if not article.strip()]
    if problems:
        raise UserError(listing(f"{len(problems)} empty article(s)", problems))


def listing(title, problems, limit=20):
    """A title line and one indented line per problem (at most `limit` of them)."""
    more = [f"... and {len(problems) - limit} more like these"] if len(problems) > limit else []
    return title + ":\n" + "\n".join(f"  {p}" for p in problems[:limit] + more)


def read_splits(cfg):
    """{split: frame} for the three CSVs in DATA_DIR, checked; every problem reported together."""
    data_dir = Path(cfg["data_dir"])
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder "
                        f"that holds txt_train.csv, txt_val.csv and txt_test.csv.")
    files, problems = {}, []
    for split in ("train", "val", "test"):
        try:
            files[split] = (data_dir / f"txt_{split}.csv", read_csv_checked(data_dir / f"txt_{split}.csv", CSV_COLUMNS))
        except UserError as error:  # carry on, so that every file's problems are listed together
            problems.append(str(error))
    if problems:
        raise UserError("\n".join(problems))
    check_labels(dict(files.values()))
    check_articles(dict(files.values()))
    return {split: frame for split, (_, frame) in files.items()}


def read_tokens(source, tokenizer, max_len, chunk=1 << 16):
    """The first MAX_LEN tokens of a file or stream (all of them with MAX_LEN = -1), reading and
    tokenising only as much as that takes: a huge file is not read whole."""
    with contextlib.ExitStack() as stack:
        stream = source if hasattr(source, "read") else stack.enter_context(
            open(source, encoding="utf-8", errors="replace"))
        text, tokens = "", []
        while True:
            piece = stream.read(chunk)
            text += piece
            # A token cut by the end of this piece may go on in the next: hold back the last one.
            tokens = tokenizer(text)
            enough = max_len != -1 and len(tokens) > max_len
            if enough or not piece:
                return tokens[:max_len] if max_len != -1 else tokens
            chunk *= 2


def check_batches_stack(dataset, batch_size):
    """Fail before training, not mid-epoch, when batches of unpadded articles cannot be stacked."""
    if batch_size == 1:
        return
    by_length = {len(ids): i for i, (ids, _) in enumerate(dataset)}
    if len(by_length) > 1:
        collate_batch([dataset[i] for i in list(by_length.values())[:batch_size]])


def make_loaders(cfg, splits):
    """A function giving a training loader over given batches, and the evaluation loaders
    (in length order with BUCKET_BY_LENGTH)."""
    eval_batch = cfg["eval_batch_size"] if cfg["max_len"] != -1 else 1  # unpadded: one at a time

    def train_loader(batches):
        return DataLoader(splits["train"], batch_sampler=batches, collate_fn=collate_batch)

    if cfg["bucket_by_length"]:
        return train_loader, {split: DataLoader(dataset, collate_fn=collate_batch,
                                                batch_sampler=LengthBuckets(dataset.lengths, eval_batch, shuffle=False))
                              for split, dataset in splits.items()}
    return train_loader, {split: DataLoader(dataset, batch_size=eval_batch, collate_fn=collate_batch)
                          for split, dataset in splits.items()}


# ----------------------------------------------------------------------------- devices


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


def divergence_cause(cfg, precision):
    """The likely reason a training loss stopped being a number, and what to try."""
    lr, optimizer = cfg["learning_rate"], cfg["optimizer"]
    if optimizer == "sgd" and lr > 10:
        return f"SGD with learning rate {lr} takes steps too large (the course baseline uses 5): try --lr 5 or less."
    if optimizer in ("adam", "adamw") and lr >= 0.05:
        return f"{optimizer} with learning rate {lr} is likely too large: try --lr 0.01."
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
    """The settings of the stopped run RUN_NAME (with REPEATS, of the whole command), to carry on
    with; each repeat's own checkpoint is read when its turn comes."""
    run_dir = Path(cfg["out_dir"]) / cfg["run_name"]
    paths = sorted(run_dir.glob("**/resume.pth"))
    first = finished_summary(run_dir, None) or {}
    if paths:
        point = read_resume_point(paths[0])
        return resume_settings(cfg, explicit, point["invocation"], point["progress"])
    if first.get("settings", {}).get("repeats", 1) > 1 and "repeats" not in first:  # stopped between repeats
        return resume_settings(cfg, explicit, first["settings"], {"epoch": 0})
    raise UserError(f"nothing to resume in {run_dir}: resume.pth is written after each epoch and when a run "
                    f"is stopped, and removed when the run finishes; check --run_name and --out_dir, or start "
                    f"a new run without --resume.")


def finished_summary(run_dir, run_cfg):
    """The summary of a run that already finished with these very settings (any settings, if
    `run_cfg` is None), else None."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if run_cfg is None or summary.get("settings") == run_cfg else None


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
    """The saved model, its vocabulary and class names, and its settings."""
    if not path.is_file():
        raise UserError(f"no trained model at {path}: train one first (python txt_classifier.py "
                        f"--run_name NAME), or pass the --run_name (and --out_dir) it was saved under.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"{path} is not a checkpoint this script can read ({type(error).__name__}): "
                        f"train again to recreate it.") from None
    if isinstance(checkpoint, dict) and str(checkpoint.get("format", "")).startswith("txt_classifier/") \
            and checkpoint["format"] != CHECKPOINT_FORMAT:
        raise UserError(f"{path} was written by another version of txt_classifier.py ({checkpoint['format']}, this "
                        f"one reads {CHECKPOINT_FORMAT}): train the model again with this version.")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} was not written by txt_classifier.py: point --run_name/--out_dir at one that was.")
    vocab = Vocab({})
    vocab.itos = checkpoint["vocab"]
    vocab.stoi = {token: i for i, token in enumerate(vocab.itos)}
    model = build_model(checkpoint["settings"], len(vocab), len(checkpoint["class_names"]), vocab.pad_idx)
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), vocab, checkpoint


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
