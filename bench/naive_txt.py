"""The reference for bench/speed.py: txt_classifier.py's training done the course starter's way.

Every article is tokenised, looked up, truncated and padded on every access (for training and
again for each of the three evaluations, every epoch). The LSTM runs over the whole padded
sequence and max-pools over every step, padding included; batches are not grouped by length;
evaluation uses the training batch size. Same vocabulary, models, seed, shuffle, optimiser and
hyperparameters as txt_classifier.py, UNK_DROPOUT included.

    python bench/naive_txt.py --model lstm --n_epochs 20 --data_dir data

Prints "epoch k/N" lines like txt_classifier.py and a last line `result {json}`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import txt_classifier as tc  # noqa: E402 - the models and vocabulary under test


class NaiveCsvTextDataset(Dataset):
    def __init__(self, frame, vocab, max_len):
        self.articles, self.labels = list(frame["article"]), frame["label_idx"].tolist()
        self.vocab, self.max_len = vocab, max_len

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):  # tokenised on every access
        return torch.tensor(
            tc.text_transform(self.articles[idx], self.vocab, self.max_len)
        ), self.labels[idx]


class NaiveLSTM(tc.LSTMClassifier):
    """The same layers, run the plain way: over all MAX_LEN steps, pooling over padding too."""

    def forward(self, token_ids):
        outputs, _ = self.lstm(self.embedding(token_ids))
        return self.head(outputs.max(dim=1).values)


def evaluate(dataloader, model, loss_fn):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for X, y in dataloader:
            logits = model(X)
            total_loss += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
    return correct / len(dataloader.dataset), total_loss / len(dataloader.dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=tc.DATA_DIR)
    parser.add_argument("--model", default=tc.MODEL, choices=["bow", "lstm"])
    parser.add_argument("--n_epochs", type=int, default=tc.N_EPOCHS)
    parser.add_argument("--batch_size", type=int, default=tc.BATCH_SIZE)
    parser.add_argument("--learning_rate", type=float, default=tc.LEARNING_RATE)
    parser.add_argument("--max_len", type=int, default=tc.MAX_LEN)
    parser.add_argument("--seed", type=int, default=tc.SEED)
    args = parser.parse_args()

    started = time.time()
    frames = {
        split: pd.read_csv(Path(args.data_dir) / f"txt_{split}.csv", keep_default_na=False)
        for split in ("train", "val", "test")
    }
    vocab = tc.build_vocab(frames["train"]["article"], tc.MIN_FREQ)
    splits = {
        split: NaiveCsvTextDataset(frame, vocab, args.max_len) for split, frame in frames.items()
    }
    eval_loaders = {
        split: DataLoader(dataset, batch_size=args.batch_size) for split, dataset in splits.items()
    }
    torch.manual_seed(args.seed)
    if args.model == "bow":
        model = tc.BagOfWords(len(vocab) + 2, tc.EMBED_DIM, 2)
    else:
        model = NaiveLSTM(len(vocab) + 2, tc.EMBED_DIM, tc.HIDDEN_DIM, 2)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)

    for epoch in range(1, args.n_epochs + 1):
        model.train()
        torch.manual_seed(1000 * args.seed + epoch)  # a new order, seeded as txt_classifier.py's
        for X, y in DataLoader(splits["train"], batch_size=args.batch_size, shuffle=True):
            loss = loss_fn(model(tc.unk_dropout(X, tc.UNK_DROPOUT) if tc.UNK_DROPOUT else X), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss.item()  # the starter logs every batch's loss
        metrics = {}
        for split, loader in eval_loaders.items():
            metrics[f"{split}_accuracy"], metrics[f"{split}_loss"] = evaluate(
                loader, model, loss_fn
            )
        print(
            f"epoch {epoch}/{args.n_epochs}: "
            + "  ".join(f"{s} acc {metrics[f'{s}_accuracy']:.1%}" for s in splits),
            flush=True,
        )
    print("result " + json.dumps({**metrics, "seconds": time.time() - started}), flush=True)


if __name__ == "__main__":
    main()
