"""Run a script's main() as its command line would, saving each process's parameters after every
epoch to parameters-<rank>.pt, and noting in writes-<rank>.txt each call that saves the run (run
alone, or by torchrun: a test helper for test_distributed.py)."""

import importlib
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
script = importlib.import_module(sys.argv[1].removesuffix(".py"))
train_one_epoch = script.train_one_epoch
save = script.save


def rank():
    return dist.get_rank() if dist.is_initialized() else 0


def recording(dataloader, model, *args):
    seen = train_one_epoch(dataloader, model, *args)
    weights = getattr(model, "module", model).state_dict()  # under torchrun, inside DDP
    torch.save({name: value.clone() for name, value in weights.items()}, f"parameters-{rank()}.pt")
    return seen


def noted(*args):
    with open(f"writes-{rank()}.txt", "a") as notes:
        print("save", file=notes)
    return save(*args)


script.train_one_epoch = recording
script.save = noted
sys.exit(script.main(sys.argv[2:]))
