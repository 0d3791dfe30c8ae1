"""How the per-function work of a deployment grows with the number of functions.

A synthetic application of N functions (two published versions each, alias `live`) in a fresh
moto server. Timed for N = 4 and N = 40: uploading N zips (digests read back), checking N
versions' CodeSha256, shifting `live` to 10 % and to 100 %, and restoring it (a rollback). These
run concurrently per function (anyio), so 10x the functions should cost well under 10x the time.
With --latency-ms the timed calls go through `latency.py`, which adds AWS's kind of round trip to
each; without it they meet moto's CPU-bound, one-at-a-time service (see latency.py).
Terraform's own apply is not part of this measurement. Usage:
  .venv/bin/python benchmarks/scale.py [--sizes 4 40] [--latency-ms 30] [--out scale.json]
"""

import argparse
import base64
import hashlib
import io
import json
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import latency

from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.stages import deploy, traffic, upload

REPO = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/bench"
BUCKET = "bench-packages"
REPEATS = 3


def zipped(n: int) -> bytes:
    """The same bytes for the same n: a fixed timestamp, or digests computed later differ."""
    buffer = io.BytesIO()
    entry = zipfile.ZipInfo("probe.py", date_time=(1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, f"def handler(e, c):\n    return {n}\n" + "#" * 20000)
    return buffer.getvalue()


def setup(tgt: Target, count: int) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    lam = tgt.client("lambda")
    names, first, second = {}, {}, {}
    for n in range(count):
        name = f"bench{count}-fn{n}"
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="probe.handler",
            Code={"ZipFile": zipped(n)}, Publish=True,
        )  # fmt: skip
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        lam.update_function_code(FunctionName=name, ZipFile=zipped(n + 1000))
        second[f"fn{n}"] = lam.publish_version(FunctionName=name)["Version"]
        names[f"fn{n}"], first[f"fn{n}"] = name, "1"
    return names, first, second


def timed(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 4)


def measure(direct: Target, tgt: Target, count: int) -> dict[str, float]:
    names, first, second = setup(direct, count)
    digests = {fn: base64.b64encode(hashlib.sha256(zipped(int(fn[2:]) + 1000)).digest()).decode()
               for fn in names}  # fmt: skip
    items = [(f"sha/{fn}-{time.time_ns()}.zip", zipped(i), hashlib.sha256(zipped(i)).hexdigest())
             for i, fn in enumerate(names)]  # fmt: skip
    return {
        "upload": timed(lambda: upload.upload_all(
            tgt, BUCKET, [(f"{k}{time.time_ns()}", b, d) for k, b, d in items])),
        "check_digests": timed(lambda: deploy.check_digests(tgt, names, second, digests)),
        "shift_10": timed(lambda: traffic.shift(tgt, names, first, second, 10)),
        "shift_100": timed(lambda: traffic.shift(tgt, names, first, second, 100)),
        "restore": timed(lambda: traffic.restore(tgt, names, first)),
    }  # fmt: skip


def run(sizes: list[int], latency_ms: float = 0.0) -> dict[str, dict[str, float]]:
    """Each size's figures, from a fresh moto server (behind the relay when latency_ms > 0)."""
    server = emulator.start()
    relay = None
    try:
        direct = Target("emulated", DEFAULT_REGION, server.endpoint)
        direct.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")
        direct.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": DEFAULT_REGION}
        )
        tgt = direct
        if latency_ms:
            relay, endpoint = latency.start(server.endpoint, latency_ms)
            tgt = Target("emulated", DEFAULT_REGION, endpoint)
        return {str(n): measure(direct, tgt, n) for n in sizes}
    finally:
        if relay:
            relay.kill()
            relay.wait()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 40])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every call")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scale.json")
    args = parser.parse_args()
    results = run(args.sizes, args.latency_ms)
    smallest, largest = str(min(args.sizes)), str(max(args.sizes))
    print(f"| step | {' | '.join(f'{n} functions' for n in args.sizes)} | ratio |")
    print("|---|" + "---:|" * (len(args.sizes) + 1))
    for step in results[smallest]:
        ratio = results[largest][step] / results[smallest][step]
        cells = " | ".join(f"{results[str(n)][step]:.3f}" for n in args.sizes)
        print(f"| {step} | {cells} | {ratio:.1f}x |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
