"""The reference for bench/speed.py: img_classifier.py's training done the course starter's way.

Every picture is opened, decoded, resized and cropped on every access (for training, and
again for each of the three evaluations, every epoch), one at a time in the main process,
and normalised per picture; evaluation uses the training batch size, under no_grad. Same
models, preprocessing function (full JPEG decode), seed, shuffle, loss and hyperparameters
as img_classifier.py, so with FAST_DECODE off both give the same numbers.

    python bench/naive_img.py --model mlp --n_epochs 5 --data_dir data

Prints the same "epoch k/N" lines as img_classifier.py, and a last line `result {json}` with
the accuracies and seconds.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import img_classifier as ic  # noqa: E402 - the models and preprocessing under test


class NaiveCsvImageDataset(Dataset):
    def __init__(self, csv_file, img_size, grayscale):
        frame = pd.read_csv(csv_file)
        data_dir = Path(csv_file).parent  # where img_classifier.py looks for the pictures
        self.paths = [ic.picture_path(data_dir, path) for path in frame["image"]]
        self.labels = frame["label_idx"].tolist()
        self.img_size, self.grayscale = img_size, grayscale

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = ic.load_image(self.paths[idx], self.img_size, False)  # decoded on every access
        ic.GRAYSCALE = self.grayscale
        return ic.normalize(image[None])[0], self.labels[idx]


def evaluate(dataloader, model, loss_fn):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for X, y in dataloader:
            logits = model(X)
            total_loss += loss_fn(logits, y).item()
            correct += (logits.argmax(1) == y).sum().item()
    return correct / len(dataloader.dataset), total_loss / len(dataloader.dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=ic.DATA_DIR)
    parser.add_argument("--model", default=ic.MODEL, choices=["mlp", "cnn"])
    parser.add_argument("--n_epochs", type=int, default=ic.N_EPOCHS)
    parser.add_argument("--batch_size", type=int, default=ic.BATCH_SIZE)
    parser.add_argument("--learning_rate", type=float, default=ic.LEARNING_RATE)
    parser.add_argument("--img_size", type=int, default=ic.IMG_SIZE)
    parser.add_argument("--grayscale", action="store_true")
    parser.add_argument("--seed", type=int, default=ic.SEED)
    args = parser.parse_args()

    started = time.time()
    data_dir = Path(args.data_dir)
    splits = {
        split: NaiveCsvImageDataset(data_dir / f"img_{split}.csv", args.img_size, args.grayscale)
        for split in ("train", "val", "test")
    }
    eval_loaders = {
        split: DataLoader(dataset, batch_size=args.batch_size) for split, dataset in splits.items()
    }
    num_classes = max(label for dataset in splits.values() for label in dataset.labels) + 1
    torch.manual_seed(args.seed)  # the initial weights, as img_classifier.py draws them
    model = ic.MODELS[args.model](1 if args.grayscale else 3, num_classes, args.img_size)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)

    # The same order as img_classifier.py's: a DistributedSampler of one process is a shuffle
    # drawn from the seed and the epoch.
    sampler = DistributedSampler(splits["train"], 1, 0, seed=ic.seed_for(args.seed))
    for epoch in range(1, args.n_epochs + 1):
        model.train()
        sampler.set_epoch(epoch)
        for X, y in DataLoader(splits["train"], batch_size=args.batch_size, sampler=sampler):
            loss = loss_fn(model(X), y)
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
