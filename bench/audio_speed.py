"""Speed of the audio stages: mp4 -> wav -> every audio cache, against ffmpeg's bare decode.

Three ways over the same synthetic clips, timed in one run:
- floor: ffmpeg decodes each clip's audio to 16 kHz mono wav, one clip after another;
- ours: the shard functions the rules call (wav, logmel, mfcc, spectrograms, rawwave), with
  `--threads` (1 by default, like the floor);
- seeds' way: one Python process per clip that imports librosa, decodes and computes the same
  features (measured on `--seed-clips` clips).

    .venv/bin/python bench/audio_speed.py [--clips 32] [--threads 1] [--seed-clips 4]

Last line: ``audio_speed: ratio=<ours/floor> ours_ms_per_clip=.. floor_ms_per_clip=.. seeds_way_ms_per_clip=.. speedup_vs_seeds=..``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from impressions.data import synthetic as synth  # noqa: E402
from impressions.data.media import decode_shard, decode_wav  # noqa: E402
from impressions.features import audio_stage  # noqa: E402

SEEDS_WAY = """
import sys, numpy as np, librosa, subprocess
sys.path.insert(0, {src!r})
from impressions.features import transforms
clip, wav, out = sys.argv[1:4]
subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", clip, "-ac", "1", "-ar", "16000", wav], check=True)
y, sr = librosa.load(wav, sr=None)
np.savez(out, examples=transforms.vggish_examples(y), mfcc=transforms.mfcc(y), db=transforms.log_mel_db(y),
         raw=transforms.rawwave_fft(y)[0])
"""


def clips_for_bench(folder: Path, n_clips: int) -> list[Path]:
    params = {
        "seed": 1,
        "n_clips": {"train": n_clips, "val": 1, "test": 1},
        "duration_s": 15.0,
        "n_short": 0,
        "n_silent": 0,
        "width": 160,
        "height": 90,
        "fps": 10,
        "signal_r2": 0.8,
    }
    synth.generate(folder, params, threads=2, log=lambda _: None)
    return sorted((folder / "train").glob("*.mp4"))[:n_clips]


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed-clips", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="audio_speed_") as tmp:
        tmp = Path(tmp)
        clips = clips_for_bench(tmp / "data", args.clips)
        ids = [p.stem for p in clips]
        print(f"{len(clips)} synthetic clips of 15 s", flush=True)
        decode_wav(clips[0], tmp / "warm.wav")  # warm the page cache and ffmpeg's binary

        def floor():
            for clip in clips:
                decode_wav(clip, tmp / "floor.wav")

        def ours():
            quiet = dict(log=lambda _: None)
            decode_shard(dict(zip(ids, map(str, clips))), tmp / "wav", threads=args.threads, **quiet)
            audio_stage.logmel_cache(ids, tmp / "wav", tmp / "logmel.h5", **quiet)
            audio_stage.mfcc_cache(ids, tmp / "wav", tmp / "mfcc.h5", **quiet)
            audio_stage.spectrogram_cache(tmp / "logmel.h5", tmp / "spec.h5", seconds=13, pool=6, **quiet)
            audio_stage.rawwave_cache(ids, tmp / "wav", tmp / "raw.h5", seconds=13, sample_rate=4000, n_fft=256, hop_length=128, **quiet)

        def seeds_way():
            script = tmp / "seed.py"
            script.write_text(SEEDS_WAY.format(src=str(REPO / "src")))
            for clip in clips[: args.seed_clips]:
                subprocess.run([sys.executable, str(script), str(clip), str(tmp / "s.wav"), str(tmp / "s.npz")], check=True)

        ours()  # warm-up: librosa's first call compiles its kernels
        floor_s, ours_s = timed(floor), timed(ours)
        seeds_s = timed(seeds_way)
        n = len(clips)
        floor_ms, ours_ms, seeds_ms = 1e3 * floor_s / n, 1e3 * ours_s / n, 1e3 * seeds_s / args.seed_clips
        print(f"floor (ffmpeg decode to wav): {floor_ms:.1f} ms/clip")
        print(f"ours (wav + logmel + mfcc + spectrograms + rawwave, {args.threads} thread(s)): {ours_ms:.1f} ms/clip")
        print(f"seeds' way (a process per clip): {seeds_ms:.1f} ms/clip")
        print(
            f"audio_speed: ratio={ours_ms / floor_ms:.2f} ours_ms_per_clip={ours_ms:.1f} floor_ms_per_clip={floor_ms:.1f} "
            f"seeds_way_ms_per_clip={seeds_ms:.1f} speedup_vs_seeds={seeds_ms / ours_ms:.1f}"
        )


if __name__ == "__main__":
    main()
