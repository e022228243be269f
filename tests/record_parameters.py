"""Run a script's main() as its command line would, saving each process's parameters after every epoch to
parameters-<rank>.pt (run alone, or by torchrun: a test helper for test_distributed.py)."""

import importlib
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
script = importlib.import_module(sys.argv[1].removesuffix(".py"))
train_one_epoch = script.train_one_epoch


def recording(dataloader, model, *args):
    seen = train_one_epoch(dataloader, model, *args)
    weights = getattr(model, "module", model).state_dict()  # under torchrun, the model inside DistributedDataParallel
    torch.save({name: value.detach().clone() for name, value in weights.items()},
               f"parameters-{dist.get_rank() if dist.is_initialized() else 0}.pt")
    return seen


script.train_one_epoch = recording
sys.exit(script.main(sys.argv[2:]))
