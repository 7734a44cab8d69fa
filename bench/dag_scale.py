"""How the DAG scales: a dry run of the workflow over 10,000 fake clips, against a per-clip design.

Builds a ChaLearn-layout folder of empty mp4 files (a dry run never opens them), nested in
sub-folders of 1,000 as the official archives unpack (``train/train80_01/<id>.mp4``), with real
annotation pickles, times `snakemake -n` of our sharded workflow over it, then times the dry run
of a workflow with one job per clip and stage (the design DESIGN.md rejects) over the same clips.

    .venv/bin/python bench/dag_scale.py [--clips 10000] [--shards 50] [--skip-per-clip]

Last line: ``dag_scale: clips=<n> jobs=<N> dry_run_s=<S> per_clip_jobs=<M> per_clip_dry_run_s=<T> ratio=<T/S>``
"""

from __future__ import annotations

import argparse
import pickle
import random
import re
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from impressions import LABELS  # noqa: E402

SPLITS = {"train": ("train", "annotation_training.pkl"), "val": ("val", "annotation_validation.pkl"), "test": ("test", "annotation_test.pkl")}

PER_CLIP_SNAKEFILE = """
import glob, os
FILES = sorted(glob.glob(config["root"] + "/*/*/*.mp4"))
CLIPS = [os.path.basename(p)[:-4] for p in FILES]
PATH_OF = {os.path.basename(p)[:-4]: p for p in FILES}

rule all:
    input: "out/summary.md"

rule probe:
    input: lambda w: PATH_OF[w.clip]
    output: "out/probe/{clip}.json"
    shell: "touch {output}"

rule manifest:
    input: expand("out/probe/{clip}.json", clip=CLIPS)
    output: "out/manifest.tsv"
    shell: "touch {output}"

rule wav:
    input: "out/manifest.tsv", lambda w: PATH_OF[w.clip]
    output: "out/wav/{clip}.wav"
    shell: "touch {output}"

rule audio_features:
    input: "out/wav/{clip}.wav"
    output: "out/audio/{clip}.h5"
    shell: "touch {output}"

rule frames:
    input: "out/manifest.tsv", lambda w: PATH_OF[w.clip]
    output: "out/frames/{clip}.h5"
    shell: "touch {output}"

rule embed:
    input: "out/audio/{clip}.h5"
    output: "out/vggish/{clip}.h5"
    shell: "touch {output}"

rule train:
    input: expand("out/vggish/{clip}.h5", clip=CLIPS), expand("out/frames/{clip}.h5", clip=CLIPS)
    output: "out/model.keras"
    shell: "touch {output}"

rule summary:
    input: "out/model.keras"
    output: "out/summary.md"
    shell: "touch {output}"
"""


def make_dataset(root: Path, n_clips: int, seed: int = 0) -> None:
    """Empty mp4s named like ChaLearn clips (60/20/20 split), in sub-folders of 1,000, and real-format annotation pickles."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "_-"
    counts = {"train": n_clips * 6 // 10, "val": n_clips * 2 // 10}
    counts["test"] = n_clips - counts["train"] - counts["val"]
    for split, (folder, annotation_file) in SPLITS.items():
        names = [f"{''.join(rng.choices(alphabet, k=11))}.{rng.randrange(1000):03d}.mp4" for _ in range(counts[split])]
        for number, name in enumerate(names):
            sub_folder = root / folder / f"{folder}80_{number // 1000 + 1:02d}"
            sub_folder.mkdir(parents=True, exist_ok=True)
            (sub_folder / name).touch()
        labels = {label: {name: rng.random() for name in names} for label in LABELS}
        with open(root / annotation_file, "wb") as handle:
            pickle.dump(labels, handle, protocol=2)


def dry_run(command: list[str], cwd: Path) -> tuple[int, float]:
    """Run a snakemake dry run; return its job count and wall time."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"dry run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    totals = re.findall(r"^total\s+(\d+)\s*$", result.stdout + result.stderr, flags=re.MULTILINE)
    return int(totals[-1]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=10000)
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--skip-per-clip", action="store_true", help="skip the one-job-per-clip comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dag_scale_") as tmp:
        tmp = Path(tmp)
        make_dataset(tmp / "data", args.clips)
        config = {
            "dataset": {"name": "scale", "root": str(tmp / "data"), "n_shards": args.shards},
            "synthetic": {"enabled": False},
        }
        (tmp / "config.yaml").write_text(yaml.safe_dump(config))
        snakemake = [sys.executable, "-m", "snakemake", "-n", "--cores", "2"]
        jobs, seconds = dry_run([*snakemake, "-s", str(REPO / "Snakefile"), "--configfile", str(tmp / "config.yaml"), "--directory", str(tmp)], tmp)
        print(f"sharded workflow: {args.clips} clips in {args.shards} shards -> {jobs} jobs, dry run {seconds:.1f} s", flush=True)
        figures = f"dag_scale: clips={args.clips} jobs={jobs} dry_run_s={seconds:.1f}"
        if not args.skip_per_clip:
            per_clip = tmp / "per_clip"
            per_clip.mkdir()
            (per_clip / "Snakefile").write_text(PER_CLIP_SNAKEFILE)
            clip_jobs, clip_seconds = dry_run([*snakemake, "--config", f"root={tmp / 'data'}"], per_clip)
            print(f"one job per clip and stage: {clip_jobs} jobs, dry run {clip_seconds:.1f} s", flush=True)
            figures += f" per_clip_jobs={clip_jobs} per_clip_dry_run_s={clip_seconds:.1f} ratio={clip_seconds / seconds:.1f}"
        print(figures)


if __name__ == "__main__":
    main()
