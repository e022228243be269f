"""The measurements behind the scripts' speed choices, each a few seconds, on this machine.

    python bench/micro.py             # about seven minutes on a 2-core CPU
    python bench/micro.py --compile   # also torch.compile on the CNN (adds a minute)
    python bench/micro.py --emulated-bf16   # only the CNN step with oneDNN capped at AVX2: fp32
                                            # against bf16

Prints: start-up import costs; decoding in threads against processes; reduced-size JPEG
decoding (time and how much it changes the 256-pixel crop); what this CPU reports about bf16
and what MIXED_PRECISION "auto" picks; each model's training step and evaluation in fp32 and bf16
(with channels_last for the CNN), both with every instruction set oneDNN may use here and
with oneDNN capped below AMX and below native bf16 (ONEDNN_MAX_CPU_ISA), each in its own
process, since a bf16 matrix multiply can kill it (SIGFPE); fused SGD; a 7x7 convolution in
fp32 and bf16; the LSTM packed against fused calls, one way and both ways. Course-like
pictures are made from the sample ones as in bench/speed.py.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from speed import course_like  # noqa: E402

import img_classifier as ic  # noqa: E402


def median_seconds(step, repeats=5):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def decode_one(path, fast):
    return ic.load_image(path, 256, fast)


def decoding(folder):
    paths = []
    for source in sorted((ROOT / "data" / "parrot").glob("*.jpg"))[:40]:
        course_like(source, folder / source.name)
        paths.append(folder / source.name)
    per_picture = {}
    decode_one(
        paths[0], False
    )  # imports torchvision's transforms (timed at start-up), which decoding needs
    for fast in (False, True):
        with ThreadPoolExecutor(2) as threads:
            started = time.perf_counter()
            list(threads.map(lambda p, fast=fast: decode_one(p, fast), paths))
            per_picture[("threads", fast)] = (time.perf_counter() - started) / len(paths)
        with ProcessPoolExecutor(2) as processes:
            list(processes.map(decode_one, paths[:2], [fast] * 2))  # start the workers first
            started = time.perf_counter()
            list(processes.map(decode_one, paths, [fast] * len(paths), chunksize=8))
            per_picture[("processes", fast)] = (time.perf_counter() - started) / len(paths)
    full = torch.stack([decode_one(p, False) for p in paths]).float()
    reduced = torch.stack([decode_one(p, True) for p in paths]).float()
    print(
        "decode 1024-px JPEG to 256 crop, 2 threads: "
        f"{per_picture['threads', False] * 1000:.1f} ms a picture, "
        f"2 processes: {per_picture['processes', False] * 1000:.1f} ms"
    )
    print(
        "reduced-size decoding (FAST_DECODE), 2 threads: "
        f"{per_picture['threads', True] * 1000:.1f} ms a picture; "
        f"mean change {(full - reduced).abs().mean().item():.2f}/255"
    )


def training_step(
    model_name,
    autocast=False,
    channels_last=False,
    fused=None,
    compile_model=False,
    batch=8,
    size=256,
):
    torch.manual_seed(0)
    model = ic.MODELS[model_name](3, 3, size)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 3, (batch,))
    if channels_last:
        model, x = (
            model.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )
    optimizer = torch.optim.SGD(
        model.parameters(), lr=1e-3, **({} if fused is None else {"fused": fused})
    )
    step_model = torch.compile(model) if compile_model else model

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = torch.nn.functional.cross_entropy(step_model(x), y, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return median_seconds(step)


def evaluation(model_name, autocast=False, channels_last=False):
    """One evaluation batch of 64 pictures, as the scripts measure accuracy."""
    torch.manual_seed(0)
    model = ic.MODELS[model_name](3, 3, 256).eval()
    x = torch.randn(64, 3, 256, 256)
    if channels_last:
        model, x = (
            model.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )

    def step():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            model(x)

    return median_seconds(step, repeats=3)


def one_measurement(spec):
    """Run by precision_table in a child process: print {"train": s, "eval": s} for one case (at 64
    pixels: {"train": s} only, as on a CPU without native bf16 a 256-pixel bf16 step takes most of a
    minute)."""
    model, precision, layout, *small = spec.split(",")
    bf16, channels_last = precision == "bf16", layout == "channels_last"
    if small:
        return print(json.dumps({"train": training_step(model, bf16, channels_last, size=64)}))
    print(
        json.dumps(
            {
                "train": training_step(model, bf16, channels_last),
                "eval": evaluation(model, bf16, channels_last),
            }
        )
    )


def precision_table():
    """Each model's step in fp32 and bf16, with all of this CPU's instruction sets and with oneDNN
    capped below AMX (AVX512_CORE_BF16: the avx512_bf16 instructions only) and below native
    bf16 (AVX512_CORE). Each case runs in its own process: bf16 can crash it with SIGFPE."""
    capabilities = torch.cpu.get_capabilities()
    print(
        f"this CPU: {capabilities.get('cpu_name', 'unknown')}, avx512_bf16 "
        f"{capabilities.get('avx512_bf16')}, AMX {capabilities.get('amx_bf16')}; MIXED_PRECISION "
        f"auto picks:"
    )
    for model_name in ("cnn", "mlp"):
        ic.MODEL = model_name
        model = ic.MODELS[model_name](3, 3, 32)
        ic.mixed_precision(torch.device("cpu"), model, torch.optim.SGD(model.parameters()))
    cases = [
        ("cnn", "fp32", "plain"),
        ("cnn", "bf16", "plain"),
        ("cnn", "fp32", "channels_last"),
        ("cnn", "bf16", "channels_last"),
        ("mlp", "fp32", "plain"),
        ("mlp", "bf16", "plain"),
    ]
    print(
        "| oneDNN instruction sets | model | precision | layout | training step, batch 8 (s) | "
        "evaluation, batch 64 (s) |"
    )
    print("|---|---|---|---|---|---|")
    for isa in ("all (as the scripts run)", "AVX512_CORE_BF16", "AVX512_CORE"):
        env = dict(os.environ)
        if not isa.startswith("all"):
            env["ONEDNN_MAX_CPU_ISA"] = isa
        for case in cases:
            done = subprocess.run(
                [sys.executable, __file__, "--one", ",".join(case)],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode == 0:
                times = json.loads(done.stdout.strip().splitlines()[-1])
                train, evaluate = f"{times['train']:.3f}", f"{times['eval']:.3f}"
            else:
                name = (
                    signal.Signals(-done.returncode).name
                    if done.returncode < 0
                    else f"exit {done.returncode}"
                )
                train = evaluate = f"crashed ({name})"
            print(f"| {isa} | {' | '.join(case)} | {train} | {evaluate} |", flush=True)
    emulated_bf16()


def emulated_bf16():
    """The CNN's training step at 64 pixels, batch 8, with oneDNN capped at AVX2 (as on most
    laptops, which have no native bf16): fp32 against emulated bf16."""
    for precision in ("fp32", "bf16"):
        done = subprocess.run(
            [sys.executable, __file__, "--one", f"cnn,{precision},plain,64"],
            capture_output=True,
            text=True,
            env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"},
            check=True,
        )
        seconds = json.loads(done.stdout.splitlines()[-1])["train"]
        print(
            f"| AVX2 only | cnn at 64 pixels | {precision} | plain | {seconds:.3f} | - |",
            flush=True,
        )


def convolution(dtype):
    conv = torch.nn.Conv2d(128, 128, 7, padding=3).to(dtype)
    x = torch.randn(8, 128, 64, 64, dtype=dtype, requires_grad=True)
    return median_seconds(lambda: conv(x).float().sum().backward(), repeats=3)


def lstm(packed):
    torch.manual_seed(0)
    layer = torch.nn.LSTM(64, 64, batch_first=True)
    x = torch.randn(32, 1024, 64)
    lengths = torch.randint(200, 1024, (32,))
    lengths[0] = 1024

    def step():
        inputs = (
            torch.nn.utils.rnn.pack_padded_sequence(
                x, lengths, batch_first=True, enforce_sorted=False
            )
            if packed
            else x
        )
        outputs = layer(inputs)[0]
        (outputs.data if packed else outputs).sum().backward()

    return median_seconds(step, repeats=3)


def bidirectional_lstm(packed):
    """Forward and backward through a bidirectional LSTM over 32 articles of up to 1,024 tokens:
    PyTorch's packed way, or the script's two fused stacks (the backward one over each article
    reversed within its length)."""
    import txt_classifier as tc

    torch.manual_seed(0)
    x = torch.randn(32, 1024, 64)
    lengths = torch.randint(200, 1024, (32,))
    lengths[0] = 1024
    if packed:
        layer = torch.nn.LSTM(64, 64, batch_first=True, bidirectional=True)

        def step():
            inputs = torch.nn.utils.rnn.pack_padded_sequence(
                x, lengths, batch_first=True, enforce_sorted=False
            )
            layer(inputs)[0].data.sum().backward()
    else:
        forward, backward = (
            torch.nn.LSTM(64, 64, batch_first=True),
            torch.nn.LSTM(64, 64, batch_first=True),
        )

        def step():
            back = tc.reverse_within_length(
                backward(tc.reverse_within_length(x, lengths))[0], lengths
            )
            torch.cat([forward(x)[0], back], dim=2).sum().backward()

    return median_seconds(step, repeats=3)


def import_seconds(modules):
    """Median wall time of a fresh Python process that imports `modules`."""

    def start():
        subprocess.run([sys.executable, "-c", f"import {modules}"], check=True)

    return median_seconds(start, repeats=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compile", action="store_true", help="also time torch.compile on the CNN")
    parser.add_argument(
        "--one", help=argparse.SUPPRESS
    )  # one case of precision_table, in a child process
    parser.add_argument(
        "--emulated-bf16", action="store_true", help="only the CNN step at 64 pixels capped at AVX2"
    )
    args = parser.parse_args()
    if args.one:
        return one_measurement(args.one)
    if args.emulated_bf16:
        return emulated_bf16()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    plain = import_seconds("torch")
    print(
        f"start-up: import torch {plain:.1f} s; torchvision.transforms.v2 (imported when decoding) "
        f"adds {import_seconds('torch, torchvision.transforms.v2') - plain:.1f} s; torch._dynamo "
        "(imported when the first optimiser is made) adds "
        f"{import_seconds('torch, torch._dynamo') - plain:.1f} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        decoding(Path(folder))
    precision_table()
    print(
        f"mlp training step, SGD fused: {training_step('mlp', fused=True):.3f} s, "
        f"foreach: {training_step('mlp', fused=False):.3f} s"
    )
    print(
        "7x7 convolution 128->128 at 64x64, batch 8, forward+backward: "
        f"fp32 {convolution(torch.float32):.3f} s, "
        f"bf16 {convolution(torch.bfloat16):.3f} s"
    )
    print(
        "LSTM 64->64, 32 articles of up to 1,024 tokens, forward+backward: "
        f"packed {lstm(True):.3f} s, "
        f"one fused call {lstm(False):.3f} s"
    )
    print(
        f"bidirectional LSTM, the same batch: packed {bidirectional_lstm(True):.3f} s, "
        f"two fused stacks {bidirectional_lstm(False):.3f} s"
    )
    if args.compile:
        print(
            f"cnn training step, torch.compile: {training_step('cnn', compile_model=True):.3f} s "
            f"(after compiling)"
        )


if __name__ == "__main__":
    main()
