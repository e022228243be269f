"""Read what really reached wandb in an offline run, from its binary run-<id>.wandb file.

In offline mode wandb writes no wandb-summary.json: history, config and summary live only in
that file, a LevelDB-style log. After a 7-byte header (starting ":W&B") come 32 KiB blocks of
chunks, each with a 7-byte header (crc32 <I, length <H, type B: 1 full, 2 first, 3 middle,
4 last); reassembled chunks are `wandb_internal_pb2.Record` messages.
"""

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024


def records(run_file):
    data = Path(run_file).read_bytes()
    assert data[:4] == b":W&B", f"{run_file} is not a wandb run file"
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # too little room left for a header: the block is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        parts += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            yield record
            parts = b""


def _items(items):
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}


def read_run(run_dir):
    """{"name": ..., "history": [row dicts], "config": {...}, "summary": {...}, "metrics": {name:
    step_metric}, "artifacts": [ArtifactRecord], "dir": the run folder (its media files are under
    dir/files)}."""
    run = {
        "name": None,
        "history": [],
        "config": {},
        "summary": {},
        "metrics": {},
        "artifacts": [],
        "dir": Path(run_dir),
    }
    for record in records(next(Path(run_dir).glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            run["history"].append(_items(record.history.item))
        elif kind in ("run", "config"):  # the initial config rides on the run record
            config = record.run.config if kind == "run" else record.config
            run["name"] = record.run.display_name if kind == "run" else run["name"]
            run["config"].update(_items(config.update))
        elif kind == "summary":
            run["summary"].update(_items(record.summary.update))
        elif kind == "metric":
            run["metrics"][record.metric.name] = record.metric.step_metric
        elif kind == "artifact":
            run["artifacts"].append(record.artifact)
    return run


def offline_runs(folder):
    """The offline run folders wandb wrote under folder/wandb, oldest first."""
    return sorted(Path(folder, "wandb").glob("offline-run-*"))


def run_named(folder, name):
    """The offline run called `name` under folder/wandb (the newest, if there are several)."""
    runs = [run for run in map(read_run, offline_runs(folder)) if run["name"] == name]
    assert runs, f"no offline wandb run named {name} under {folder}"
    return runs[-1]
