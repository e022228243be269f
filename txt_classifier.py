"""Tell real local news from LLM-written imitations: a bag of words against an LSTM.

    python txt_classifier.py                          # bag of words, Adam (the defaults)
    python txt_classifier.py --optimizer sgd --lr 5   # the course's SGD baseline
    python txt_classifier.py --model lstm
    python txt_classifier.py --batch_size 1 --max_len -1 --length_histogram
    python txt_classifier.py --repeats 3              # three seeds: mean and spread of accuracy
    python txt_classifier.py --predict article.txt    # or --predict - to read standard input
    torchrun --standalone --nproc_per_node=2 txt_classifier.py   # one run over two processes (BATCH_SIZE each)

Every UPPER_CASE setting below can be edited here or given on the command line by its lower-case
name (`--n_epochs 2`, `--bidirectional=False`; `--help` lists them). Metrics go to Weights & Biases
(offline into ./wandb without an account: `wandb sync` uploads them later), the model and a summary
to OUT_DIR/RUN_NAME/. Ctrl-C stops a run; the same command plus --resume carries on from the last
finished epoch. Read from the top; below main(), a marked line starts machinery you can skip.
"""

import argparse
import ast
import collections
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
import statistics
import sys
import time
import warnings
from pathlib import Path
from tokenize import (
    COMMENT,
    TokenError,
    generate_tokens,
)  # read the settings block; `tokenize` is ours

import pandas as pd
import torch
import torch.distributed as dist
import wandb
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR = "./data"  # folder holding txt_train.csv, txt_val.csv and txt_test.csv
MODEL = "bow"  # "bow" (bag of words, nn.EmbeddingBag) or "lstm"
OPTIMIZER = "adam"  # "adam", "sgd" (the course baseline runs it with learning rate 5) or "adamw"
LEARNING_RATE = (
    0.01  # optimiser step size (the course starts Adam at 0.001; the README says why 0.01)
)
BATCH_SIZE = 32  # articles per optimiser step (per process, under torchrun)
EVAL_BATCH_SIZE = 64  # articles per batch when only measuring
N_EPOCHS = 20  # passes over the training split
EMBED_DIM = 128  # size of each word's embedding vector
HIDDEN_DIM = 64  # LSTM hidden state size
NUM_LAYERS = 1  # stacked LSTM layers
BIDIRECTIONAL = False  # also read each article backwards (LSTM)
MAX_LEN = 1024  # tokens kept per article, padded up to this; -1 keeps all and pads nothing
MIN_FREQ = 1  # a word needs this many training occurrences to get its own embedding
UNK_DROPOUT = 0.1  # share of training tokens turned into <unk> each batch, so <unk> learns what an unknown word means
BUCKET_BY_LENGTH = True  # batch articles of similar length together, so the LSTM skips most padding
LENGTH_HISTOGRAM = False  # save and log a histogram of training article lengths
LOG_MODEL = False  # log model.pth to wandb as an artifact of type "model"
REPEATS = 1  # train with seeds SEED .. SEED+REPEATS-1 and report mean and spread
SEED = 0  # same seed, same data, same machine: same numbers
RUN_NAME = "txt-classifier"  # wandb run name, and the folder under OUT_DIR
WANDB_PROJECT = "txt-classifier"  # wandb project the run is logged to
OUT_DIR = "./runs"  # model.pth, summary.json and the resume point go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks cuda, then mps, then cpu; or name one of them
# ----------------------------------------------------------------------------- end of settings

# ----------------------------------------------------------------------------- data

PAD, UNK = "<pad>", "<unk>"
PAD_IDX, UNK_IDX = 0, 1


def tokenize(text):
    """The course's tokeniser: spaces around . , : ; ! ? ( ), then split on whitespace; case and all else kept."""
    return re.sub(r"([.,:;!?()])", r" \1 ", text).split()


class Vocab:
    """Token <-> id: 0 is padding, 1 any word training never saw; no text reaches either ("<pad>" in text is a word)."""

    def __init__(self, itos):
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos) if i > UNK_IDX}

    @classmethod
    def build(cls, articles, min_freq=1):
        """From the training articles: every token seen at least `min_freq` times, most frequent first."""
        counts = collections.Counter(token for article in articles for token in tokenize(article))
        return cls(
            [PAD, UNK]
            + sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        )

    def __call__(self, tokens):
        return [self.stoi.get(token, UNK_IDX) for token in tokens]


def text_transform(text, vocab, max_len):
    """The course's transforms: tokenise and map to ids, truncate to MAX_LEN, pad up to it (-1: neither)."""
    ids = vocab(tokenize(text))
    return ids if max_len == -1 else ids[:max_len] + [PAD_IDX] * (max_len - len(ids))


class CsvTextDataset(Dataset):
    """One split of a course CSV as (token ids, label_idx), tokenised once, here; training builds the vocabulary."""

    def __init__(self, csv_file, vocab=None, max_len=MAX_LEN, min_freq=MIN_FREQ):
        with reading(
            csv_file
        ):  # a missing or malformed file stops with one line saying what to fix
            frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, index_col=False)
        self.csv_file = Path(csv_file)
        self.labels, self.label_names = check_labels(self.csv_file, frame, "article")
        self.articles = check_articles(self.csv_file, list(frame["article"]))
        self.vocab = vocab or Vocab.build(self.articles, min_freq)
        self.token_ids = [
            torch.tensor(text_transform(article, self.vocab, max_len)) for article in self.articles
        ]
        self.lengths = [int((ids != PAD_IDX).sum()) for ids in self.token_ids]  # padding left out

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.token_ids[idx], self.labels[idx]


def by_length(lengths, batch_size):
    """Evaluation batches: the articles in order of length, so that the LSTM reads little padding."""
    order = torch.tensor(lengths).argsort(stable=True).tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def epoch_batches(cfg, lengths, epoch, rank=0, world=1):
    """This process's training batches for an epoch, drawn from SEED and the epoch (so --resume redoes it exactly;
    torch's generator, seeded from a stream of its own, draws UNK_DROPOUT). BUCKET_BY_LENGTH: articles sorted by
    length times 0.7 to 1.3, batched, batches shuffled. Under torchrun each BATCH_SIZE x processes is shared out."""
    shuffle, other = (
        int.from_bytes(
            hashlib.sha256(f"{cfg['seed']}/{name}/{epoch}".encode()).digest()[:8], "little"
        )
        for name in ("shuffle", "global")
    )
    torch.manual_seed(other)
    generator, size = torch.Generator().manual_seed(shuffle), cfg["batch_size"] * world
    if cfg["bucket_by_length"]:
        noise = 0.7 + 0.6 * torch.rand(len(lengths), generator=generator)
        order = (torch.tensor(lengths, dtype=torch.float) * noise).argsort(stable=True).tolist()
    else:
        order = torch.randperm(len(lengths), generator=generator).tolist()
    order += order[: -len(order) % world]  # as many for every process: they step together
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    if cfg["bucket_by_length"]:  # not from the shortest to the longest
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return [batch[rank::world] for batch in batches]


def load_splits(cfg):
    """The three splits, tokenised, and the class names; every problem in the data listed at once."""
    data_dir, started, splits, problems = Path(cfg["data_dir"]), time.time(), {}, []
    if not data_dir.is_dir():
        raise UserError(
            f"data folder {data_dir} not found: set DATA_DIR (--data_dir) to the folder that holds "
            f"txt_train.csv, txt_val.csv and txt_test.csv."
        )
    for split in ("train", "val", "test"):
        try:  # the vocabulary comes from the training split only
            vocab = splits["train"].vocab if "train" in splits else None
            splits[split] = CsvTextDataset(
                data_dir / f"txt_{split}.csv", vocab, cfg["max_len"], cfg["min_freq"]
            )
        except UserError as error:  # carry on, so that every split's problems are listed together
            problems.append(str(error))
    if problems:
        raise UserError("\n".join(problems))
    check_stackable(splits["train"], cfg["batch_size"])
    print(
        f"Loaded {', '.join(f'{len(data)} {split}' for split, data in splits.items())} articles in "
        f"{time.time() - started:.1f} s; a vocabulary of {len(splits['train'].vocab.itos):,} tokens from training"
    )
    return splits, class_names(splits)


def unk_dropout(token_ids, share):
    """UNK_DROPOUT: this share of a batch's real tokens becomes <unk>, which would never train otherwise."""
    drop = (torch.rand(token_ids.shape, device=token_ids.device) < share) & (token_ids != PAD_IDX)
    return token_ids.masked_fill(drop, UNK_IDX)


# ----------------------------------------------------------------------------- models


class BagOfWords(nn.Module):
    """Mean of the article's word embeddings, then a linear layer. Padding is left out of the mean."""

    def __init__(self, vocab_size, embed_dim, num_classes, pad_idx=PAD_IDX):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=pad_idx)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, token_ids):
        return self.fc(self.embedding(token_ids))


class LSTMClassifier(nn.Module):
    """Embedding, LSTM, max over time of the outputs at real words, then a small linear head. Padding cannot change
    a prediction: it comes after the last word, and the mask keeps it out of the max. BIDIRECTIONAL adds an LSTM
    reading each article reversed within its own length (PyTorch's bidirectional LSTM would read the padding first
    unless the batch were packed, about 20x slower on a CPU), its outputs put back in order and joined."""

    def __init__(
        self,
        vocab_size,
        embed_dim,
        hidden_dim,
        num_classes,
        pad_idx=PAD_IDX,
        num_layers=1,
        bidirectional=False,
    ):
        super().__init__()
        self.pad_idx = pad_idx
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.lstm_backward = (
            nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
            if bidirectional
            else None
        )
        features = hidden_dim * (2 if bidirectional else 1)
        self.head = nn.Sequential(
            nn.Linear(features, features), nn.ReLU(), nn.Linear(features, num_classes)
        )

    def forward(self, token_ids):
        lengths = (token_ids != self.pad_idx).sum(dim=1).clamp(min=1)
        steps = int(lengths.max())
        embedded = self.embedding(token_ids[:, :steps])  # columns of nothing but padding: dropped
        outputs = self.lstm(embedded)[0]
        if self.lstm_backward is not None:
            backwards = reverse_within_length(embedded, lengths)
            outputs = torch.cat(
                [outputs, reverse_within_length(self.lstm_backward(backwards)[0], lengths)], dim=2
            )
        is_real = torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]
        outputs = outputs.masked_fill(~is_real[..., None], float("-inf"))
        return self.head(outputs.max(dim=1).values)


def reverse_within_length(x, lengths):
    """Each sequence of a batch (B, T, F) reversed within its own length; padding stays where it is. Its
    own inverse: applied twice, it gives back x."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    mirrored = lengths[:, None] - 1 - steps
    order = torch.where(mirrored >= 0, mirrored, steps)
    return x.gather(1, order[..., None].expand(-1, -1, x.shape[2]))


def build_model(cfg, vocab_size, num_classes):
    if cfg["model"] == "bow":
        return BagOfWords(vocab_size, cfg["embed_dim"], num_classes)
    return LSTMClassifier(
        vocab_size,
        cfg["embed_dim"],
        cfg["hidden_dim"],
        num_classes,
        num_layers=cfg["num_layers"],
        bidirectional=cfg["bidirectional"],
    )


def build_optimizer(cfg, model):
    optimizer_class = {
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }[cfg["optimizer"]]
    return optimizer_class(model.parameters(), lr=cfg["learning_rate"])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(dataloader, model, loss_fn, optimizer, cfg, device, examples_seen, run):
    """One pass over the training split, each batch's loss logged against the examples seen, returned."""
    world = processes()[1]  # under torchrun, the number of processes
    model.train()
    for X, y in tqdm(
        dataloader, desc="  train", leave=False, mininterval=1 if sys.stderr.isatty() else 30
    ):
        X, y = X.to(device), y.to(device)
        if cfg["unk_dropout"]:
            X = unk_dropout(X, cfg["unk_dropout"])
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        examples_seen += len(y) * world
        run.log({"batch_loss": loss.item(), "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(dataloader, model, loss_fn, device):
    """Accuracy (a fraction), mean loss, and each article's class probabilities, in the split's order."""
    model.eval()
    total_loss, probabilities = 0.0, []
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        total_loss += loss_fn(logits, y).item() * len(y)
        probabilities.append(logits.softmax(dim=1).cpu())
    order = torch.tensor(
        [i for batch in dataloader.batch_sampler for i in batch]
    )  # the batches came sorted by length
    probabilities, labels = torch.cat(probabilities)[order.argsort()], dataloader.dataset.labels
    return (
        (probabilities.argmax(dim=1) == labels).float().mean().item(),
        total_loss / len(labels),
        probabilities,
    )


def evaluate_splits(eval_loaders, model, loss_fn, device):
    """{"train_accuracy": ..., "train_loss": ..., ...} over every split, and each split's class probabilities."""
    metrics, probabilities = {}, {}
    for split, loader in eval_loaders.items():
        accuracy, loss, probabilities[split] = evaluate(loader, model, loss_fn, device)
        metrics.update({f"{split}_accuracy": accuracy, f"{split}_loss": loss})
    return metrics, probabilities


def check_loss(loss, epoch, cfg):
    """Stop a run whose training loss is no longer a number (the same on every process, under torchrun)."""
    if not math.isfinite(loss):
        rate, good = (
            cfg["learning_rate"],
            5.0 if cfg["optimizer"] == "sgd" else 0.01,
        )  # the rates that work here
        raise Diverged(
            f"the training loss became {loss} in epoch {epoch}: {cfg['optimizer']} with learning rate "
            f"{rate:g} takes steps too large for this model",
            good if rate > good else rate / 10,
        )


def save_resume_point(cfg, epoch, examples_seen, run, model, optimizer):
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
        },
        Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth",
    )


def start_or_resume(cfg, point, model, optimizer):
    """(wandb run, epochs done, examples seen): a new run, or the stopped one carried on from `point`."""
    (Path(cfg["out_dir"]) / cfg["run_name"]).mkdir(
        parents=True, exist_ok=True
    )  # a repeat's folder is new
    if point is None:
        (Path(cfg["out_dir"]) / cfg["run_name"] / "resume.pth").unlink(
            missing_ok=True
        )  # an earlier run's
        return start_wandb(cfg), 0, 0
    model.load_state_dict(point["model"])
    optimizer.load_state_dict(point["optimizer"])
    print(f"Resuming after epoch {point['epoch']} ({point['examples_seen']} examples seen).")
    return start_wandb(cfg, point["wandb_id"]), point["epoch"], point["examples_seen"]


def train(cfg, resume_point=None):
    """Train, evaluate and log one model as `cfg` says (from `resume_point`, if given); save and return its summary."""
    device, (splits, class_names) = pick_device(cfg["device"]), load_splits(cfg)
    vocab, (rank, world) = splits["train"].vocab, processes()
    batches = []  # this process's batches of the training split, drawn anew every epoch
    train_loader = DataLoader(splits["train"], batch_sampler=batches)
    eval_batch = (
        cfg["eval_batch_size"] if cfg["max_len"] != -1 else 1
    )  # articles of their own lengths: one by one
    eval_loaders = {
        name: DataLoader(split, batch_sampler=by_length(split.lengths, eval_batch))
        for name, split in splits.items()
    }
    torch.manual_seed(cfg["seed"])
    model = build_model(cfg, len(vocab.itos), len(class_names)).to(device)
    loss_fn = nn.CrossEntropyLoss()  # the batch's mean, as in the course's text starter
    optimizer = build_optimizer(cfg, model)
    step_model = (
        DistributedDataParallel(model) if world > 1 else model
    )  # torchrun: one model over the processes
    run, done, examples_seen = start_or_resume(cfg, resume_point, model, optimizer)
    print(
        f"Using {device}; {cfg['model']}, {count_parameters(model):,} parameters; seed {cfg['seed']}"
    )
    if cfg["length_histogram"] and rank == 0:
        log_length_histogram(run, splits["train"].articles, cfg)
    started, metrics = time.time(), None
    for epoch in range(done + 1, cfg["n_epochs"] + 1):
        epoch_started = time.time()
        batches[:] = epoch_batches(cfg, splits["train"].lengths, epoch, rank, world)
        examples_seen = train_one_epoch(
            train_loader, step_model, loss_fn, optimizer, cfg, device, examples_seen, run
        )
        metrics, probabilities = evaluate_splits(eval_loaders, model, loss_fn, device)
        check_loss(metrics["train_loss"], epoch, cfg)
        metrics["epoch_seconds"] = time.time() - epoch_started
        run.log({"epoch": epoch, **metrics})
        if rank == 0:  # under torchrun, the first process writes the files
            save_resume_point(cfg, epoch, examples_seen, run, model, optimizer)
        print(
            f"epoch {epoch}/{cfg['n_epochs']} ({metrics['epoch_seconds']:.1f} s): "
            + "  ".join(
                f"{split} acc {metrics[f'{split}_accuracy']:.1%} loss {metrics[f'{split}_loss']:.3f}"
                for split in splits
            )
        )
    if metrics is None:  # resumed after the last epoch: only the results are left to write
        metrics, probabilities = evaluate_splits(eval_loaders, model, loss_fn, device)
    return (
        finish(
            cfg,
            run,
            model,
            vocab,
            class_names,
            metrics,
            probabilities["test"],
            splits["test"],
            time.time() - started,
            examples_seen,
        )
        if rank == 0
        else metrics
    )


def train_repeats(cfg, given=None):
    """Train REPEATS times, seeds SEED, SEED+1, ... in OUT_DIR/RUN_NAME/seed-N, and report the mean and spread of
    accuracy. With `given` (--resume), finished repeats are not trained again and the stopped one carries on."""
    if cfg["repeats"] == 1:
        return train(*load_resume_point(cfg, given) if given is not None else (cfg,))
    summaries = []
    for seed in range(cfg["seed"], cfg["seed"] + cfg["repeats"]):
        repeat = dict(cfg, seed=seed, run_name=f"{cfg['run_name']}/seed-{seed}")
        folder = Path(cfg["out_dir"]) / repeat["run_name"]
        resuming = given is not None and (folder / "resume.pth").is_file()
        if (
            given is not None and not resuming and (folder / "summary.json").is_file()
        ):  # finished before
            summaries.append(json.loads((folder / "summary.json").read_text(encoding="utf-8")))
        else:
            summaries.append(train(*load_resume_point(repeat, given) if resuming else (repeat,)))
    accuracies = {split: [s[f"{split}_accuracy"] for s in summaries] for split in ("val", "test")}
    spread = {
        f"{split}_accuracy_{name}": function(values)
        for split, values in accuracies.items()
        for name, function in (("mean", statistics.mean), ("std", statistics.stdev))
    }
    print(
        f"\n{cfg['repeats']} seeds, mean ± standard deviation: "
        + ", ".join(
            f"{split} accuracy {statistics.mean(v):.1%} ± {statistics.stdev(v):.1%}"
            for split, v in accuracies.items()
        )
    )
    summary = {
        **spread,
        "repeats": [
            {key: s[key] for key in ("val_accuracy", "test_accuracy", "seconds")}
            | {"seed": s["settings"]["seed"]}
            for s in summaries
        ],
        "settings": cfg,
    }
    (Path(cfg["out_dir"]) / cfg["run_name"] / "summary.json").write_text(
        json.dumps(summary, indent=2) + "\n", "utf-8"
    )
    return summary


# ----------------------------------------------------------------------------- logging / reporting


def start_wandb(cfg, resume_id=None):
    """A wandb run, never waiting at a login prompt: online with credentials, else (or if the server is silent for 15 s)
    offline into ./wandb, for `wandb sync` to upload; WANDB_MODE, when set, decides."""
    online = False
    with contextlib.suppress(Exception):  # credentials wandb cannot read are no credentials
        online = wandb.login(prompt=False, verify=False)
    mode = os.environ.get("WANDB_MODE") or ("online" if online else "offline")
    options = dict(
        project=cfg["wandb_project"],
        name=cfg["run_name"].replace("/", "-"),
        config=cfg,
        id=resume_id,
        group=cfg["run_name"].split("/")[0] if cfg["repeats"] > 1 else None,
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
    run.define_metric("epoch_seconds", step_metric="epoch")
    return run


def log_length_histogram(run, articles, cfg):
    """Save, log and describe a histogram of the training articles' lengths in tokens (no truncation, no padding)."""
    import matplotlib.pyplot as plt  # imported only here: most runs draw nothing

    lengths, cut = (
        [len(tokenize(article)) for article in articles],
        cfg["max_len"] if cfg["max_len"] > 0 else MAX_LEN,
    )
    name = "MAX_LEN" if cfg["max_len"] > 0 else "the default MAX_LEN"  # this run cuts nothing
    path = Path(cfg["out_dir"]) / cfg["run_name"] / "length_histogram.png"
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=40, color="#4c72b0")
    ax.axvline(cut, color="#c44e52", linestyle="--", label=f"{name} = {cut}")
    ax.set(xlabel="tokens per training article (no truncation, no padding)", ylabel="articles")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    longer = sum(n > cut for n in lengths) / len(lengths)
    print(
        f"Training article lengths in tokens: min {min(lengths)}, median {statistics.median(lengths):.0f}, mean "
        f"{statistics.mean(lengths):.0f}, max {max(lengths)}; {longer:.1%} longer than {name} = {cut}. "
        f"Histogram: {path}"
    )
    run.log({"length_histogram": wandb.Image(str(path))})


def finish(
    cfg, run, model, vocab, class_names, metrics, probabilities, test_split, seconds, examples_seen
):
    """Save the model and summary; log the final figures, misclassified test articles, confusion matrix; report."""
    run_dir, predictions = Path(cfg["out_dir"]) / cfg["run_name"], probabilities.argmax(dim=1)
    save_atomically(
        {
            "format": CHECKPOINT_FORMAT,
            "model_state": model.state_dict(),
            "settings": cfg,
            "vocab": vocab.itos,
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
        "settings": cfg,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    wrong = sorted(
        (i for i, label in enumerate(test_split.labels) if predictions[i] != label),
        key=lambda i: -probabilities[i].max().item(),
    )  # the most confident mistakes first
    if cfg["log_model"]:  # offline, `wandb sync` uploads it with the run
        artifact = wandb.Artifact(
            re.sub(r"[^\w.-]", "-", cfg["run_name"]) + "-model", type="model", metadata=cfg
        )
        artifact.add_file(str(run_dir / "model.pth"))
        run.log_artifact(artifact)
    run.log(
        {
            "misclassified_test_articles": wandb.Table(
                columns=["title", "true", "predicted", "confidence"],
                data=[
                    [
                        test_split.articles[i].strip().split("\n")[0][:120],
                        class_names[test_split.labels[i]],
                        class_names[predictions[i]],
                        round(probabilities[i].max().item(), 4),
                    ]
                    for i in wrong[:20]
                ],
            ),
            "test_confusion_matrix": wandb.plot.confusion_matrix(
                y_true=test_split.labels.tolist(),
                preds=predictions.tolist(),
                class_names=class_names,
            ),
        }
    )
    run.summary.update(
        {k: v for k, v in summary.items() if k != "settings"} | {"optimizer": cfg["optimizer"]}
    )
    run.finish()
    (run_dir / "resume.pth").unlink(missing_ok=True)  # finished: nothing is left to resume
    print(
        f"\n{cfg['run_name']}: {cfg['model']}, {cfg['optimizer']} learning rate {cfg['learning_rate']}, "
        f"{summary['num_parameters']:,} parameters, {cfg['n_epochs']} epochs in {seconds:.1f} s\n"
        f"  {'split':<6}{'accuracy':>10}{'loss':>10}"
    )
    for split in ("train", "val", "test"):
        print(f"  {split:<6}{metrics[f'{split}_accuracy']:>10.1%}{metrics[f'{split}_loss']:>10.4f}")
    print(f"Saved {run_dir / 'model.pth'} and {run_dir / 'summary.json'}")
    return summary


# ----------------------------------------------------------------------------- main


def load_checkpoint(path):
    if not path.is_file():
        raise UserError(
            f"no trained model at {path}: train one first (python {Path(__file__).name} --run_name NAME), "
            f"or pass the --run_name (and --out_dir) it was saved under."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(
            checkpoint["settings"], len(checkpoint["vocab"]), len(checkpoint["class_names"])
        )
        model.load_state_dict(checkpoint["model_state"])
    except Exception:
        raise UserError(
            f"{path} is not a checkpoint this script can read: point --run_name (and --out_dir) at a "
            f"model saved by {Path(__file__).name}, or train again."
        ) from None
    return model.eval(), Vocab(checkpoint["vocab"]), checkpoint


def predict(cfg, files):
    """Print whether each file (or standard input, "-") reads as real or fake, with the model's probability."""
    model, vocab, checkpoint = load_checkpoint(Path(cfg["out_dir"]) / cfg["run_name"] / "model.pth")
    for name in files:
        label = "standard input" if name == "-" else name
        try:
            text = (
                sys.stdin.read()
                if name == "-"
                else Path(name).read_text(encoding="utf-8", errors="replace")
            )
        except OSError as error:
            raise UserError(
                f"{name} cannot be read ({error.strerror}): pass a text file, or - for standard input."
            )
        if not tokenize(text):
            raise UserError(
                f"{label} has no text to classify: pass a file (or standard input) holding an article."
            )
        ids = text_transform(text, vocab, checkpoint["settings"]["max_len"])
        with torch.inference_mode():
            probabilities = model(torch.tensor([ids])).softmax(dim=1)[0]
        best, known = probabilities.argmax().item(), any(i not in (PAD_IDX, UNK_IDX) for i in ids)
        print(
            f"{label}: {checkpoint['class_names'][best]} (probability "
            f"{probabilities[best]:.1%}"
            + (
                ""
                if known
                else "; no word of it is in the model's vocabulary, so this is only the prior"
            )
            + ")"
        )


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
                train_repeats(cfg, command.given if command.resume else None)
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
        saved = cfg and any(
            (Path(cfg["out_dir"]) / cfg["run_name"]).rglob("resume.pth")
        )  # repeats: in seed-N/
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
# Below this line: the command line, checks of the input, stopping and resuming. The data, the models and
# the training steps are all above; you can stop reading here.

CHOICES = {
    "MODEL": ["bow", "lstm"],
    "OPTIMIZER": ["adam", "sgd", "adamw"],
    "DEVICE": ["auto", "cuda", "mps", "cpu"],
}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = [
    "LEARNING_RATE",
    "BATCH_SIZE",
    "EVAL_BATCH_SIZE",
    "N_EPOCHS",
    "EMBED_DIM",
    "HIDDEN_DIM",
    "NUM_LAYERS",
    "MIN_FREQ",
    "REPEATS",
]
CHECKPOINT_FORMAT, RESUME_FORMAT = "txt_classifier/2", "txt_classifier-resume/4"
# Settings --resume may change: where the run lives and runs, and what it logs; not what it trains.
RESUMABLE = {"n_epochs", "device", "length_histogram", "wandb_project", "out_dir", "run_name"}


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported without a traceback, one line a problem."""


class Diverged(Exception):
    """The training loss is no longer a number: (message, a learning rate to try)."""


def settings_block():
    """[(NAME, default, comment)] for each setting at the top, read from this file: --help never drifts from it."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    start, settings = lines.index("# " + "-" * 77 + " settings"), []
    for number, line in enumerate(
        lines[start + 1 : lines.index("# " + "-" * 77 + " end of settings")], start + 2
    ):
        try:
            comments = [t for t in generate_tokens(io.StringIO(line).readline) if t.type == COMMENT]
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
        except (ValueError, SyntaxError, TokenError, AssertionError):
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
):  # a boolean flag's value, as a wandb sweep agent writes it: --bidirectional=True
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
        if isinstance(default, bool):  # --bidirectional, --bidirectional=False, --no-bidirectional
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
    if cfg["max_len"] == 0 or cfg["max_len"] < -1:
        raise UserError(
            f"MAX_LEN must be a positive number of tokens, or -1 for no truncation and no padding; got "
            f"{cfg['max_len']}: try --max_len 1024."
        )
    if not 0 <= cfg["unk_dropout"] < 1:
        raise UserError(
            f"UNK_DROPOUT is a share of tokens, from 0 up to (not including) 1; got {cfg['unk_dropout']}: "
            f"try --unk_dropout 0.1."
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
            f"txt_train.csv, txt_val.csv and txt_test.csv."
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


def check_articles(csv_file, articles):
    problems = [
        f"{csv_file} row {row}, column article: empty; give the article's text or remove the row."
        for row, article in enumerate(articles, start=1)
        if not article.strip()
    ]
    if problems:
        raise UserError(listing(f"{len(problems)} empty article(s)", problems))
    return articles


def check_stackable(dataset, batch_size):
    """Fail before training, not in it, when batches of articles of their own lengths (MAX_LEN -1) cannot be stacked."""
    by_length = {len(ids): i for i, ids in enumerate(dataset.token_ids)}
    try:
        default_collate([dataset[i] for i in list(by_length.values())[:batch_size]])
    except RuntimeError as error:
        lengths = sorted(by_length)
        raise UserError(
            f"cannot stack a batch of articles of {len(lengths)} different lengths ({lengths[0]} to "
            f"{lengths[-1]} tokens): a tensor batch needs equal lengths, and MAX_LEN = -1 turns padding "
            f"off. Set --max_len (e.g. 1024) to pad, or --batch_size 1. (PyTorch said: "
            f"{str(error).splitlines()[0]})"
        ) from None


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
