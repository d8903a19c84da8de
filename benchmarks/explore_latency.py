"""How fast gaia-stim explore answers a slider move: decode, encode, and the round trip through the server.

Measures, with the given model (default: the shipped 64 px one) on ``--threads`` torch threads:

* encoding: the two endpoints prepared and encoded together (once per pair; the page caches them);
* server decode: one frame's latent decoded (``torch.inference_mode``), as the server times it;
* server frame: the whole frame in the session (latent, decode, 8-bit, PNG);
* the same for the attribute view, on axes fitted here on 300 labelled synthetic faces, with the
  two corrections (each one a decode and an encode more: ``gaia-stim attribute --corrections 2``)
  and without (the straight line);
* round trip: ``POST /api/frame`` through the real server (``gaia-stim explore`` in its own process,
  as a user runs it; one keep-alive HTTP client here), one move after another, morph levels
  sweeping 0 -> 1 -> 0, and the decode time that server reports for each;

and prints median and 95th percentile against the 50 ms target, with the thread count and the
load average (other work on the machine slows every figure).

    python benchmarks/explore_latency.py [--model default] [--moves 200] [--threads 1]
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MS = 50.0


def percentiles(values):
    values = np.asarray(values, dtype=np.float64) * 1000
    return float(np.median(values)), float(np.percentile(values, 95))


@contextlib.contextmanager
def served_by_the_command(args, folder):
    """``gaia-stim explore`` in its own process (as a user runs it); yields the address it prints."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(args.threads),
                   "MKL_NUM_THREADS": str(args.threads)}
    command = [sys.executable, "-m", "gaia_stim", "--threads", str(args.threads), "explore", "--no-browser",
               "--model", args.model, "--images", folder, "--out-root", tempfile.gettempdir()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        for line in process.stdout:
            if "serving" in line:
                yield line.split()[-1]
                break
        else:
            raise SystemExit(f"gaia-stim explore did not start (exit status {process.wait()})")
    finally:
        process.terminate()
        process.wait(30)


def attribute_frames(model, folder, name, args):
    """Seconds per attribute-view frame, by number of corrections: skin tone swept -0.25 -> 0.25 -> -0.25."""
    import warnings

    from gaia_stim.datasets import PARAMETERS, make_faces
    from gaia_stim.explore.state import ExploreSession, parse_spec
    from gaia_stim.stimuli.axes import AttributeAxes, AttributeAxesWarning, calibrate_axes

    faces = make_faces(300, size=model.image_size, seed=12345)
    codes = model.encode(faces["images"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributeAxesWarning)  # 300 faces for 16 attributes: noisy, but axes
        axes = calibrate_axes(AttributeAxes().fit(codes, faces["parameters"][list(PARAMETERS)]), model, codes)
    session = ExploreSession(model, images_dir=folder, axes=axes, out_root=ROOT, export_threads=args.threads,
                             frame_threads=args.threads)
    sweep = np.concatenate([np.linspace(-0.25, 0.25, 51), np.linspace(0.25, -0.25, 51)[1:]])
    times = {}
    for corrections in (2, 0):
        spec = parse_spec({"kind": "attribute", "sources": [f"images/{name}"],
                           "params": {"axis": "skin_tone", "corrections": corrections}}, axes)
        session.frame(spec, {"amounts": {"skin_tone": 0.1}})  # warm-up, and the source's read-out cached
        times[corrections] = []
        for index in range(args.moves):
            start = time.perf_counter()
            session.frame(spec, {"amounts": {"skin_tone": float(round(sweep[index % len(sweep)], 4))}})
            times[corrections].append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="'default', a run folder or a model file")
    parser.add_argument("--moves", type=int, default=200, help="slider moves measured per figure")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the server decodes frames on 1)")
    parser.add_argument("--from", dest="image_a", default=os.path.join(ROOT, "examples", "faces", "face_00005.png"))
    parser.add_argument("--to", dest="image_b", default=os.path.join(ROOT, "examples", "faces", "face_00006.png"))
    args = parser.parse_args(argv)

    import httpx
    import torch

    import gaia_stim
    from gaia_stim.explore.server import TOKEN_HEADER
    from gaia_stim.explore.state import ExploreSession, parse_spec
    from gaia_stim.stimuli._common import encode_sources, prepare_sources

    torch.set_num_threads(args.threads)
    model = gaia_stim.load_model(args.model)
    folder = os.path.dirname(os.path.abspath(args.image_a))
    names = [os.path.relpath(os.path.abspath(path), folder) for path in (args.image_a, args.image_b)]
    session = ExploreSession(model, images_dir=folder, out_root=ROOT, export_threads=args.threads,
                             frame_threads=args.threads)
    spec = parse_spec({"kind": "continuum", "sources": [f"images/{name}" for name in names]})
    sweep = np.concatenate([np.linspace(0, 1, 101), np.linspace(1, 0, 101)[1:]])
    levels = [float(round(sweep[i % len(sweep)], 4)) for i in range(args.moves)]

    encode_times = []
    for _ in range(max(5, args.moves // 10)):
        start = time.perf_counter()
        encode_sources(model, prepare_sources(model, [args.image_a, args.image_b], 2, "a continuum"))
        encode_times.append(time.perf_counter() - start)

    session.frame(spec, {"level": 0.5})  # warm-up: the first decode allocates
    decode_times, frame_times = [], []
    for level in levels:
        start = time.perf_counter()
        _, info = session.frame(spec, {"level": level})
        frame_times.append(time.perf_counter() - start)
        decode_times.append(info["decode_ms"] / 1000)

    attribute_times = attribute_frames(model, folder, names[0], args)

    trips, served, remote_decode = [], [], []
    with served_by_the_command(args, folder) as url:
        base, token = url.split("?token=")
        with httpx.Client(base_url=base, headers={TOKEN_HEADER: token}, timeout=30) as client:
            body = {"spec": {"kind": "continuum", "sources": spec["sources"]}, "client": "benchmark"}
            client.post("/api/frame", json={**body, "position": {"level": 0.5}, "seq": 0})
            for seq, level in enumerate(levels, start=1):
                start = time.perf_counter()
                response = client.post("/api/frame", json={**body, "position": {"level": level}, "seq": seq})
                trips.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise SystemExit(f"frame {seq}: HTTP {response.status_code}: {response.text}")
                served.append(len(response.content))
                remote_decode.append(json.loads(response.headers["x-gaia-stim-info"])["decode_ms"] / 1000)

    load = os.getloadavg()
    print(f"gaia-stim explore latency: model {model.name} ({model.image_size}x{model.image_size}x{model.channels}),"
          f" {args.moves} slider moves, torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs,"
          f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, PNG frames of {np.mean(served):.0f} bytes")
    print()
    print(f"| measure | median ms | 95th percentile ms | target {TARGET_MS:.0f} ms |")
    print("|---|---:|---:|---|")
    rows = [
        ("encoding the two endpoints (once per pair)", encode_times, False),
        ("server decode (one frame)", decode_times, True),
        ("server frame (latent, decode, PNG)", frame_times, True),
        *((f"server frame, attribute view, {n} corrections", times, True) for n, times in attribute_times.items()),
        ("decode inside the running server, during the round trips", remote_decode, True),
        ("round trip through the server (HTTP, client in another process)", trips, True),
    ]
    for name, times, against in rows:
        median, p95 = percentiles(times)
        verdict = ("met" if p95 <= TARGET_MS else "median met" if median <= TARGET_MS else "missed") if against else "-"
        print(f"| {name} | {median:.1f} | {p95:.1f} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
