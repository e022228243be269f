"""Tell real local news from LLM-written imitations: a bag of words against an LSTM.

    python txt_classifier.py                          # bag of words, Adam (the defaults)
    python txt_classifier.py --optimizer sgd --lr 5   # the course's SGD baseline
    python txt_classifier.py --model lstm
    python txt_classifier.py --batch_size 1 --max_len -1 --length_histogram
    python txt_classifier.py --repeats 3              # three seeds: mean and spread of accuracy
    python txt_classifier.py --predict article.txt    # or --predict - to read standard input
    torchrun --standalone --nproc_per_node=2 txt_classifier.py   # one run over two processes

Every UPPER_CASE setting below can be edited here or given on the command line by its lower-case
name (`--n_epochs 2`, `--bidirectional=False`; `--help` lists them). Metrics go to wandb (offline
into ./wandb without an account), the model and a summary to OUT_DIR/RUN_NAME/. Ctrl-C stops a
run; the same command plus --resume carries on from the last finished epoch. Read from the top;
below main(), a marked line starts machinery you can skip.
"""

import argparse
import collections
import contextlib
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

import pandas as pd
import torch
import torch.distributed as dist
import wandb
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

# ----------------------------------------------------------------------------- settings
DATA_DIR = "./data"  # folder holding txt_train.csv, txt_val.csv and txt_test.csv
MODEL = "bow"  # "bow" (bag of words, nn.EmbeddingBag), "linear" (on which words occur) or "lstm"
OPTIMIZER = "adam"  # "adam", "sgd" (the course baseline runs it with learning rate 5) or "adamw"
LEARNING_RATE = 0.01  # optimiser step size (the course starts Adam at 0.001; README: why 0.01)
BATCH_SIZE = 32  # articles per optimiser step (per process, under torchrun)
EVAL_BATCH_SIZE = 64  # articles per batch when only measuring
N_EPOCHS = 20  # passes over the training split
EMBED_DIM = 128  # size of each word's embedding vector
HIDDEN_DIM = 64  # LSTM hidden state size
NUM_LAYERS = 1  # stacked LSTM layers
BIDIRECTIONAL = False  # also read each article backwards (LSTM)
MAX_LEN = 1024  # tokens kept per article, padded up to this; -1 keeps all and pads nothing
MIN_FREQ = 1  # a word needs this many training occurrences to get its own embedding
UNK_DROPOUT = 0.1  # share of training tokens made <unk> each batch, so that <unk> learns too
BUCKET_BY_LENGTH = True  # batch articles of similar length together: the LSTM skips most padding
LENGTH_HISTOGRAM = False  # save and log a histogram of training article lengths
LOG_MODEL = False  # log model.pth to wandb as an artifact of type "model"
REPEATS = 1  # train with seeds SEED .. SEED+REPEATS-1 and report mean and spread
SEED = 0  # same seed, same data, same machine: same numbers
RUN_NAME = "txt-classifier"  # wandb run name, and the folder under OUT_DIR
WANDB_PROJECT = "txt-classifier"  # wandb project the run is logged to
OUT_DIR = "./runs"  # model.pth, summary.json and the resume point go to OUT_DIR/RUN_NAME/
DEVICE = "auto"  # "auto" picks a GPU (cuda or mps) when there is one, else "cpu"; or name one
# ----------------------------------------------------------------------------- end of settings
SETTINGS = {name: value for name, value in globals().items() if name.isupper()}  # the block above

# ----------------------------------------------------------------------------- data

PAD_IDX = 0  # the id of padding
UNK_IDX = 1  # the id of any word without its own: training never showed it (MIN_FREQ times)


def tokenize(text):
    """The course's tokeniser: spaces around . , : ; ! ? ( ), then split on whitespace."""
    return re.sub(r"([.,:;!?()])", r" \1 ", text).split()


def build_vocab(articles, min_freq=1):
    """{token: id} for every token the training articles hold `min_freq` times or more, the most
    frequent first (ties in the order they first appear), from id 2: 0 is padding and 1 any word
    training never saw (<unk>), and no text reaches either ("<pad>" in an article is a word)."""
    counts = collections.Counter(token for article in articles for token in tokenize(article))
    kept = [token for token, count in counts.most_common() if count >= min_freq]
    return {token: i for i, token in enumerate(kept, start=2)}


def text_transform(text, vocab, max_len):
    """The course's transforms: tokenise and map to ids, truncate to MAX_LEN, pad up to it (-1:
    neither)."""
    ids = [vocab.get(token, UNK_IDX) for token in tokenize(text)]
    if max_len == -1:
        return ids
    return ids[:max_len] + [PAD_IDX] * (max_len - len(ids))


class CsvTextDataset(Dataset):
    """One split of a course CSV as (token ids, label_idx), tokenised once, here. The training
    split builds the vocabulary and the class names {label_idx: label}; others are given them."""

    def __init__(self, csv_file, max_len=MAX_LEN, vocab=None, min_freq=1, class_names=None):
        # A file that is missing, not UTF-8 or not CSV stops the run with one line saying so.
        with reading(csv_file):
            frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, index_col=False)
        self.labels, self.class_names = check_rows(csv_file, frame, class_names)
        self.articles = list(frame["article"])
        self.vocab = build_vocab(self.articles, min_freq) if vocab is None else vocab
        self.token_ids = [
            torch.tensor(text_transform(a, self.vocab, max_len)) for a in self.articles
        ]
        self.lengths = [int((ids != PAD_IDX).sum()) for ids in self.token_ids]  # padding left out

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.token_ids[idx], self.labels[idx]


def load_splits(cfg):
    """The three splits, tokenised, and the class names."""
    data_dir = Path(cfg["data_dir"])
    train = CsvTextDataset(data_dir / "txt_train.csv", cfg["max_len"], min_freq=cfg["min_freq"])
    splits = {"train": train}
    for split in ("val", "test"):  # with the training split's vocabulary and classes
        splits[split] = CsvTextDataset(
            data_dir / f"txt_{split}.csv",
            cfg["max_len"],
            train.vocab,
            class_names=train.class_names,
        )
    check_stackable(splits["train"], cfg["batch_size"] * rank_and_world()[1])
    print(
        f"Loaded {len(splits['train'])} training, {len(splits['val'])} validation and "
        f"{len(splits['test'])} test articles; a vocabulary of "
        f"{len(splits['train'].vocab):,} words from the training split"
    )
    names = splits["train"].class_names
    return splits, [names[number] for number in range(len(names))]


def epoch_batches(lengths, batch_size, bucket_by_length, world=1):
    """An epoch's batches of article numbers, drawn from torch's generator. BUCKET_BY_LENGTH:
    articles sorted by length times 0.7 to 1.3, cut into batches, the batches shuffled. Under
    torchrun (`world` processes) the epoch draws a multiple of the processes, a few articles
    twice, so that every batch shares out evenly: each process's share as large, never empty."""
    if bucket_by_length:
        noisy_lengths = torch.tensor(lengths) * (0.7 + 0.6 * torch.rand(len(lengths)))
        order = noisy_lengths.argsort()
    else:
        order = torch.randperm(len(lengths))
    epoch_size = math.ceil(len(order) / world) * world
    order = order[torch.arange(epoch_size) % len(order)]  # the first ones again, at the end
    batches = list(order.split(batch_size))
    if bucket_by_length:  # not from the shortest to the longest
        batches = [batches[i] for i in torch.randperm(len(batches))]
    return [batch.tolist() for batch in batches]


def unk_dropout(token_ids, share):
    """UNK_DROPOUT: this share of a batch's words becomes <unk>, which would never train else."""
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
    """Embedding, LSTM, max over time of the outputs at real words, a small linear head. Padding
    cannot change a prediction: it comes after the last word, and a mask keeps it out of the max.
    BIDIRECTIONAL adds an LSTM reading each article reversed within its own length (PyTorch's
    bidirectional LSTM would read the padding first unless the batch were packed, about 20 times
    slower on a CPU), its outputs put back in order and joined."""

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


def build_model(cfg, vocab, num_classes):
    vocab_size = len(vocab) + 2  # its words, padding and <unk>
    if cfg["model"] == "linear":
        return WordPresence(vocab_size, num_classes)
    if cfg["model"] == "bow":
        return BagOfWords(vocab_size, cfg["embed_dim"], num_classes)
    return LSTMClassifier(
        vocab_size,
        cfg["embed_dim"],
        cfg["hidden_dim"],
        num_classes,
        cfg["num_layers"],
        cfg["bidirectional"],
    )


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def build_optimizer(cfg, model):
    return OPTIMIZERS[cfg["optimizer"]](model.parameters(), lr=cfg["learning_rate"])


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- train / eval


def train_one_epoch(dataloader, model, loss_fn, optimizer, cfg, device, examples_seen, run):
    """One pass over the training split, each batch's loss logged against the examples seen."""
    rank, world = rank_and_world()  # under torchrun: this process's number, and how many there are
    epoch_end = examples_seen + len(dataloader.dataset)
    model.train()
    for X, y in tqdm(dataloader, desc="  train", leave=False, disable=None):  # a bar on terminals
        X, y = X.to(device), y.to(device)
        if cfg["unk_dropout"]:
            X = unk_dropout(X, cfg["unk_dropout"])
        # The step's articles, over all processes; a few are drawn twice under torchrun (see
        # epoch_batches), so an epoch counts no more than the split holds.
        examples_seen = min(examples_seen + len(y), epoch_end)
        # Under torchrun every process loads the same batch and draws the same <unk>s, then trains
        # on its share (of the same size): the mean of their gradients is the whole batch's.
        X, y = X[rank::world], y[rank::world]
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.log({"batch_loss": loss.item(), "examples_seen": examples_seen})
    return examples_seen


@torch.inference_mode()
def evaluate(eval_loaders, model, loss_fn, device):
    """{"train_accuracy": ..., "train_loss": ..., ...} (fractions, mean losses), and each split's
    predictions, in the split's order."""
    model.eval()
    metrics = {}
    predictions = {}
    for split, dataloader in eval_loaders.items():
        total_loss = 0.0
        batches = []
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            logits = model(X)
            total_loss += loss_fn(logits, y).item() * len(y)
            batches.append(logits.argmax(dim=1).cpu())
        order = torch.tensor([i for batch in dataloader.batch_sampler for i in batch])  # by length
        predictions[split] = torch.cat(batches)[order.argsort()]
        labels = dataloader.dataset.labels
        metrics[f"{split}_accuracy"] = (predictions[split] == labels).float().mean().item()
        metrics[f"{split}_loss"] = total_loss / len(labels)
    return metrics, predictions


def train(cfg, resume_point=None):
    """Train, evaluate and log one model as `cfg` says (from `resume_point`, if given); save it."""
    device = pick_device(cfg["device"])
    rank, world = rank_and_world()
    splits, class_names = load_splits(cfg)
    vocab = splits["train"].vocab
    eval_batch_size = cfg["eval_batch_size"] if cfg["max_len"] != -1 else 1  # unpadded: one by one
    eval_loaders = {
        name: DataLoader(split, batch_sampler=by_length(split.lengths, eval_batch_size))
        for name, split in splits.items()
    }
    torch.manual_seed(cfg["seed"])
    model = build_model(cfg, vocab, len(class_names)).to(device)
    loss_fn = nn.CrossEntropyLoss()  # the batch's mean, as in the course's text starter
    optimizer = build_optimizer(cfg, model)
    # Under torchrun the model is wrapped to share gradients between the processes.
    step_model = DistributedDataParallel(model) if world > 1 else model
    run, done, examples_seen = start_or_resume(cfg, resume_point, model, optimizer)
    print(
        f"Using {device}; {cfg['model']}, {count_parameters(model):,} parameters; "
        f"seed {cfg['seed']}"
    )
    if cfg["length_histogram"] and rank == 0:
        log_length_histogram(run, splits["train"].articles, cfg)
    started = time.time()
    for epoch in range(done + 1, cfg["n_epochs"] + 1):
        epoch_started = time.time()
        # The epoch's order and <unk>s come from SEED and the epoch alone: --resume redoes it.
        torch.manual_seed(1000 * cfg["seed"] + epoch)
        # A step trains on BATCH_SIZE x processes articles.
        batches = epoch_batches(
            splits["train"].lengths, cfg["batch_size"] * world, cfg["bucket_by_length"], world
        )
        train_loader = DataLoader(splits["train"], batch_sampler=batches)
        examples_seen = train_one_epoch(
            train_loader, step_model, loss_fn, optimizer, cfg, device, examples_seen, run
        )
        metrics, predictions = evaluate(eval_loaders, model, loss_fn, device)
        check_loss(metrics["train_loss"], epoch, cfg)
        metrics["epoch_seconds"] = time.time() - epoch_started
        run.log({"epoch": epoch, **metrics})
        if rank == 0:  # under torchrun, the first process writes the files
            save_resume_point(cfg, epoch, examples_seen, run, model, optimizer)
        print(
            f"epoch {epoch}/{cfg['n_epochs']} ({metrics['epoch_seconds']:.1f} s): "
            f"train acc {metrics['train_accuracy']:.1%} loss {metrics['train_loss']:.3f}  "
            f"val acc {metrics['val_accuracy']:.1%} loss {metrics['val_loss']:.3f}  "
            f"test acc {metrics['test_accuracy']:.1%} loss {metrics['test_loss']:.3f}"
        )
    if done == cfg["n_epochs"]:  # resumed after the last epoch: only the results are left to write
        metrics, predictions = evaluate(eval_loaders, model, loss_fn, device)
    extra = {"examples_seen": examples_seen, "seconds": round(time.time() - started, 2)}
    return finish(
        cfg, run, model, vocab, class_names, metrics | extra, predictions["test"], splits["test"]
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
    run.define_metric("epoch_seconds", step_metric="epoch")
    return run


def log_length_histogram(run, articles, cfg):
    """Save, log and describe a histogram of the training articles' lengths in tokens (no
    truncation, no padding)."""
    import matplotlib.pyplot as plt  # imported only here: most runs draw nothing

    lengths = [len(tokenize(article)) for article in articles]
    path = run_folder(cfg) / "length_histogram.png"
    plt.hist(lengths, bins=40)
    plt.xlabel("tokens per training article (no truncation, no padding)")
    plt.ylabel("articles")
    plt.savefig(path, dpi=100)
    plt.close()
    longer = sum(length > 1024 for length in lengths) / len(lengths)
    print(
        f"Training article lengths in tokens: min {min(lengths)}, median "
        f"{statistics.median(lengths):.0f}, max {max(lengths)}; {longer:.1%} longer than 1,024 "
        f"(the course's MAX_LEN). Histogram: {path}"
    )
    run.log({"length_histogram": wandb.Image(str(path))})


def finish(cfg, run, model, vocab, class_names, metrics, predictions, test_split):
    """Save the model and a summary, log the final figures and the test split's confusion matrix,
    report; return the summary."""
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
            "vocab": vocab,
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
        f"{cfg['run_name']}: {cfg['model']}, {cfg['optimizer']} at {cfg['learning_rate']:g}, "
        f"{summary['num_parameters']:,} parameters, {summary['seconds']:.1f} s; test accuracy "
        f"{summary['test_accuracy']:.1%}. Saved to {folder}"
    )
    return summary


# ----------------------------------------------------------------------------- main


def predict(cfg, files):
    """Print whether each file (or standard input, "-") reads as real or fake, with the model's
    probability."""
    model, vocab, checkpoint = load_checkpoint(run_folder(cfg) / "model.pth")
    for name in files:
        source = "standard input" if name == "-" else name
        try:
            text = (
                sys.stdin.read()
                if name == "-"
                else Path(name).read_text(encoding="utf-8", errors="replace")
            )
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
        ids = text_transform(text, vocab, checkpoint["settings"]["max_len"])
        with torch.inference_mode():
            probabilities = model(torch.tensor([ids])).softmax(dim=1)[0]
        best = probabilities.argmax().item()
        print(
            f"{source}: {checkpoint['class_names'][best]} (probability {probabilities[best]:.1%})"
        )


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
                train_repeats(cfg, command.resume)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        wandb.finish(exit_code=1)
        if cfg and any(run_folder(cfg).rglob("resume.pth")):  # repeats: in seed-N/
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
# Below this line: the command line, checks of the input, stopping and resuming. The data, the
# models and the training steps are all above.


def train_repeats(cfg, resume=False):
    """Train REPEATS times, seeds SEED, SEED+1, ..., in OUT_DIR/RUN_NAME/seed-N, and report the mean
    and spread of accuracy. With --resume, a stopped seed carries on, and a finished one counts."""
    if cfg["repeats"] == 1:
        return train(cfg, load_resume_point(cfg) if resume else None)
    summaries = []
    for seed in range(cfg["seed"], cfg["seed"] + cfg["repeats"]):
        repeat = dict(cfg, seed=seed, run_name=f"{cfg['run_name']}/seed-{seed}")
        finished = run_folder(repeat) / "summary.json"
        if resume and (run_folder(repeat) / "resume.pth").is_file():
            summaries.append(train(repeat, load_resume_point(repeat)))
        elif (
            resume and finished.is_file() and json.loads(finished.read_text())["settings"] == repeat
        ):
            summaries.append(json.loads(finished.read_text()))  # trained with these very settings
        else:
            summaries.append(train(repeat))
    summary = {"settings": cfg, "repeats": summaries}
    for split in ("val", "test"):
        accuracies = [s[f"{split}_accuracy"] for s in summaries]
        summary[f"{split}_accuracy_mean"] = statistics.mean(accuracies)
        summary[f"{split}_accuracy_std"] = statistics.stdev(accuracies)
    print(
        f"{cfg['repeats']} seeds, mean ± standard deviation: val accuracy "
        f"{summary['val_accuracy_mean']:.1%} ± {summary['val_accuracy_std']:.1%}, test accuracy "
        f"{summary['test_accuracy_mean']:.1%} ± {summary['test_accuracy_std']:.1%}"
    )
    if rank_and_world()[0] == 0:  # under torchrun, the first process writes the files
        text = json.dumps(summary, indent=2) + "\n"
        (run_folder(cfg) / "summary.json").write_text(text, encoding="utf-8")
    return summary


CHOICES = {
    "MODEL": ["bow", "linear", "lstm"],
    "OPTIMIZER": list(OPTIMIZERS),
    "DEVICE": ["auto", "cuda", "mps", "cpu"],
}
ALIASES = {"LEARNING_RATE": ["--lr"], "N_EPOCHS": ["--epochs"]}
POSITIVE = ["LEARNING_RATE", "BATCH_SIZE", "EVAL_BATCH_SIZE", "N_EPOCHS", "EMBED_DIM"]
POSITIVE += ["HIDDEN_DIM", "NUM_LAYERS", "MIN_FREQ", "REPEATS"]
CHECKPOINT_FORMAT = "txt_classifier/3"
RESUME_FORMAT = "txt_classifier-resume/5"
# What --resume may change: where the run lives and runs, and what it logs; not what it trains.
RESUMABLE = [
    "n_epochs",
    "device",
    "length_histogram",
    "log_model",
    "wandb_project",
    "out_dir",
    "run_name",
]


class UserError(Exception):
    """Something the user can fix (a setting, a file): reported without a traceback, one line for
    each problem."""


def true_or_false(text):  # a boolean flag's value, as a sweep agent writes it: --bidirectional=True
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
        if isinstance(default, bool):  # --bidirectional, or --bidirectional=True or False
            kind = {"type": true_or_false, "nargs": "?", "const": True}
        help = f"{comments.get(name, '')} (default: {default})".replace("%", "%%")  # argparse's %
        parser.add_argument(
            "--" + name.lower(), *ALIASES.get(name, []), default=default, help=help, **kind
        )
    parser.add_argument(
        "--predict", nargs="+", metavar="FILE", help="classify each FILE (- for standard input)"
    )
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
    for name in POSITIVE:
        if not cfg[name.lower()] > 0:  # nan is not either
            raise UserError(
                f"{name} must be positive, got {cfg[name.lower()]}: edit it in "
                f"{Path(__file__).name} or pass --{name.lower()} with a positive value."
            )
    if cfg["max_len"] == 0 or cfg["max_len"] < -1:
        raise UserError(
            f"MAX_LEN must be a positive number of tokens, or -1 for no truncation and no "
            f"padding; got {cfg['max_len']}: try --max_len 1024."
        )
    if not 0 <= cfg["unk_dropout"] < 1:
        raise UserError(
            f"UNK_DROPOUT is a share of tokens, from 0 up to (not including) 1; got "
            f"{cfg['unk_dropout']}: try --unk_dropout 0.1."
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
            f"txt_train.csv, txt_val.csv and txt_test.csv."
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


def check_rows(csv_file, frame, class_names=None):
    """Each row's label_idx as a tensor, and {label_idx: label}: the training split's own, or
    `class_names` (the training split's), which every row must then agree with; every article
    must hold text."""
    if not {"article", "label", "label_idx"} <= set(frame.columns):
        raise UserError(
            f"{csv_file} has the columns {', '.join(frame.columns)}: its header must name "
            f"article, label and label_idx."
        )
    if frame.empty:
        raise UserError(f"{csv_file} has no rows: every split needs at least one example.")
    training = class_names is None
    names = dict(class_names or {})  # label_idx -> label: the training split's, or these rows'
    problems = []
    columns = [frame[name].str.strip() for name in ("article", "label", "label_idx")]
    for row, (article, label, index) in enumerate(zip(*columns, strict=True), start=1):
        # a class number is 2, or 2.0 as spreadsheets write it
        number = int(float(index)) if re.fullmatch(r"\d{1,9}(\.0*)?", index) else None
        if not article:
            problems.append(
                f"{csv_file} row {row}, column article: empty; give its text, or remove it."
            )
        elif not label or number is None:
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
        raise UserError("\n  ".join([f"{len(problems)} problem(s) with rows:", *problems]))
    return torch.tensor([int(float(index)) for index in frame["label_idx"]]), names


def check_stackable(dataset, batch_size):
    """Fail before training, not in it, when a batch of articles of their own lengths (MAX_LEN -1)
    cannot be stacked into one tensor."""
    one_of_each_length = {len(ids): ids for ids in dataset.token_ids}
    try:
        torch.stack(list(one_of_each_length.values())[:batch_size])
    except RuntimeError as error:
        raise UserError(
            f"cannot stack a batch of articles of {len(one_of_each_length)} different lengths "
            f"({min(one_of_each_length)} to {max(one_of_each_length)} tokens): a tensor batch "
            f"needs equal lengths, and MAX_LEN = -1 turns padding off. Set --max_len (e.g. 1024) "
            f"to pad, or --batch_size 1 in one process. (PyTorch said: "
            f"{str(error).splitlines()[0]})"
        ) from None


def by_length(lengths, batch_size):
    """Evaluation batches: the articles in order of length, so the LSTM reads little padding."""
    order = torch.tensor(lengths).argsort(stable=True)
    return [batch.tolist() for batch in order.split(batch_size)]


def pick_device(name):  # "auto": a GPU (cuda or mps) when PyTorch finds one, else the CPU
    if name == "auto":
        return torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
    return torch.device(name)


def check_loss(loss, epoch, cfg):
    """Stop a run whose training loss is no longer a number."""
    if math.isfinite(loss):
        return
    good_rate = 5.0 if cfg["optimizer"] == "sgd" else 0.01  # the rates that work here
    smaller_rate = min(good_rate, cfg["learning_rate"] / 10)
    raise UserError(
        f"the training loss became {loss} in epoch {epoch}: {cfg['optimizer']} with learning rate "
        f"{cfg['learning_rate']:g} takes steps too large for this model. Start again with a "
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


def save_resume_point(cfg, epoch, examples_seen, run, model, optimizer):
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
    }
    save_atomically(point, run_folder(cfg) / "resume.pth")


def start_or_resume(cfg, point, model, optimizer):
    """(wandb run, epochs done, examples seen): a new run, or the stopped one carried on."""
    run_folder(cfg).mkdir(parents=True, exist_ok=True)  # a repeat's is new
    if point is None:
        (run_folder(cfg) / "resume.pth").unlink(missing_ok=True)  # an earlier run's
        return start_wandb(cfg), 0, 0
    model.load_state_dict(point["model"])
    optimizer.load_state_dict(point["optimizer"])
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
    """(model, vocabulary, checkpoint) as a run saved them, or a UserError saying why not."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(
            checkpoint["settings"], checkpoint["vocab"], len(checkpoint["class_names"])
        )
        model.load_state_dict(checkpoint["model_state"])
    except Exception:
        raise UserError(
            f"no model {Path(__file__).name} can read at {path}: train one first, or pass the "
            f"--run_name (and --out_dir) it was trained under."
        ) from None
    return model.eval(), checkpoint["vocab"], checkpoint


if __name__ == "__main__":
    sys.exit(main())
