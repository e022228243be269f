"""Run a script's main() as its command line would, saving each process's parameters after every
epoch to parameters-<rank>.pt, and noting in writes-<rank>.txt each call that saves the model or the
resume point (run alone, or by torchrun: a test helper for test_distributed.py)."""

import importlib
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
script = importlib.import_module(sys.argv[1].removesuffix(".py"))
train_one_epoch = script.train_one_epoch


def rank():
    return dist.get_rank() if dist.is_initialized() else 0


def recording(dataloader, model, *args):
    seen = train_one_epoch(dataloader, model, *args)
    weights = getattr(
        model, "module", model
    ).state_dict()  # under torchrun, the model inside DistributedDataParallel
    torch.save(
        {name: value.detach().clone() for name, value in weights.items()}, f"parameters-{rank()}.pt"
    )
    return seen


def noted(function):
    def call(*args, **kwargs):
        with open(f"writes-{rank()}.txt", "a") as notes:
            print(function.__name__, file=notes)
        return function(*args, **kwargs)

    return call


script.train_one_epoch = recording
script.save_atomically = noted(script.save_atomically)  # model.pth and the resume point
sys.exit(script.main(sys.argv[2:]))
