#!/usr/bin/python3
"""PyTorch half of `make bench`: the reference CNN on the CPU, in img/s;
with --model resnet18|mobilenet_v2, that torchvision net at 3x224x224
(random weights; --export FILE writes it as ONNX for thaw and stops).

Prints `name: value` lines on stdout and nothing else; diagnostics go to
stderr. Exit 3 when torch is missing so scripts/bench can skip the column.
"""
import argparse
import ctypes
import os
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:
    print("torch: unavailable", file=sys.stderr)
    sys.exit(3)


def reference_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def limit_openblas(n):
    """Cap Debian's OpenBLAS pool (torch's GEMM backend here) at n threads.

    torch.set_num_threads() only sizes torch's OpenMP pool; OpenBLAS keeps
    its own pthread pool whose idle workers spin after each GEMM, so with
    both pools on 2 cores training ran at about half speed (1,200 instead
    of 2,300 img/s) and erratically. Returns the OpenBLAS thread count.
    """
    try:
        blas = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        return None
    if n > 0:
        blas.openblas_set_num_threads(n)
    return blas.openblas_get_num_threads()


def cpu_seconds():
    """(CPU seconds busy in other processes, CPU seconds elapsed) so far.

    The machine is shared: a window that overlapped someone's build is
    slow for reasons that are not ours, and stderr says so.
    """
    try:
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:9]]
    except OSError:
        return 0.0, 0.0
    tck, own = os.sysconf("SC_CLK_TCK"), os.times()
    busy = (sum(v) - v[3] - v[4]) / tck - own.user - own.system
    return busy, sum(v) / tck


def measure(step, batch, args):
    """Median img/s over args.windows windows, after a warm-up.

    A window is args.iters steps if given, else as many steps as fit in
    args.seconds; the median keeps one noisy window (another process on
    the shared cores) from moving the figure.
    """
    for _ in range(args.warmup):
        step()
    rates, others = [], []
    for _ in range(args.windows):
        b0, c0 = cpu_seconds()
        n, t0 = 0, time.perf_counter()
        while True:
            step()
            n += 1
            dt = time.perf_counter() - t0
            if (args.iters and n >= args.iters) or (not args.iters and dt >= args.seconds):
                break
        rates.append(n * batch / dt)
        b1, c1 = cpu_seconds()
        others.append(100 * (b1 - b0) / max(c1 - c0, 1e-9))
    print(f"  windows img/s: {' '.join(f'{r:.0f}' for r in rates)}"
          f"  (other processes' CPU %: {' '.join(f'{o:.0f}' for o in others)})", file=sys.stderr)
    return statistics.median(rates)


def train_step(model, opt, x, y):
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_model(args):
    """The same four jobs thaw bench --model times: inference, the full SGD
    step, feature extraction by the frozen base, the head on cached features."""
    import torchvision
    make = getattr(torchvision.models, args.model)
    model = make()
    if args.export:
        # PRESERVE, no constant folding: the batch norms stay nodes (an eval
        # export folds them into the convolutions), so thaw trains the same
        # graph as PyTorch, batch norm included
        torch.onnx.export(model.eval(), torch.randn(1, 3, 224, 224), args.export,
                          input_names=["input"], output_names=["logits"], opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        return
    x = torch.randn(args.batch, 3, 224, 224)
    y = torch.randint(0, 1000, (args.batch,))
    print("train", file=sys.stderr)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    train = measure(train_step(model, opt, x, y), args.batch, args)
    print("infer", file=sys.stderr)
    model.eval()
    with torch.no_grad():
        infer = measure(lambda: model(x), args.batch, args)
    # the base: everything but the classifier, as a frozen feature extractor
    if args.model.startswith("resnet"):
        head = model.fc
        model.fc = nn.Identity()
    else:
        head = model.classifier[-1]
        model.classifier[-1] = nn.Identity()
    print("features", file=sys.stderr)
    with torch.no_grad():
        feats = measure(lambda: model(x), args.batch, args)
        f = model(x)
    print("head on cached features", file=sys.stderr)
    head.train()
    hopt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)
    hargs = argparse.Namespace(**vars(args))
    hargs.seconds, hargs.warmup = min(args.seconds, 0.5), 20
    headr = measure(train_step(head, hopt, f, y), args.batch, hargs)
    print(f"torch_train_img_s: {train:.2f}")
    print(f"torch_infer_img_s: {infer:.2f}")
    print(f"torch_features_img_s: {feats:.2f}")
    print(f"torch_head_cached_img_s: {headr:.0f}")
    print(f"torch_peak_rss_mb: {peak_rss_mb():.1f}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"torch_version: {torch.__version__}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=0, help="steps per window (default: time-based)")
    p.add_argument("--seconds", type=float, default=1.0, help="length of a window")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--model", choices=["resnet18", "mobilenet_v2"],
                   help="a torchvision net at 3x224x224 instead of the reference CNN")
    p.add_argument("--export", help="with --model: write it as ONNX to this file and stop")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="OpenBLAS threads (0: leave OpenBLAS's own default)")
    args = p.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    # denormal floats flushed to zero, as a tuned PyTorch deployment does
    # (it did not settle MobileNetV2's eval pass, which ran at 33-39 img/s
    # in some runs and 81-108 in others: docs/speed.md, Figures)
    torch.set_flush_denormal(True)
    blas = limit_openblas(args.blas_threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"openblas threads {blas}, mkldnn {torch.backends.mkldnn.is_available()}",
          file=sys.stderr)
    if args.model:
        if args.warmup == 20:
            args.warmup = 1  # a step takes seconds at 224x224
        return bench_model(args)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    print("train", file=sys.stderr)
    model = reference_cnn().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train = measure(train_step(model, opt, x, y), args.batch, args)

    # Frozen conv blocks the usual PyTorch way: no gradients for their
    # parameters, and BN in eval() so running statistics stay fixed.
    print("head only", file=sys.stderr)
    model = reference_cnn().train()
    for m in model[:8]:
        m.requires_grad_(False)
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    head = measure(train_step(model, opt, x, y), args.batch, args)

    print("infer", file=sys.stderr)
    model = reference_cnn().eval()
    with torch.no_grad():
        infer = measure(lambda: model(x), args.batch, args)

    print(f"torch_train_img_s: {train:.0f}")
    print(f"torch_head_only_img_s: {head:.0f}")
    print(f"torch_infer_img_s: {infer:.0f}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"torch_version: {torch.__version__}")
    print(f"torch_peak_rss_mb: {peak_rss_mb():.1f}")


if __name__ == "__main__":
    main()
