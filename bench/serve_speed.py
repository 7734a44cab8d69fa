"""Speed of the web page's answer (bin/serve): the time of each step for one 15 s clip.

Run after a run has trained its models (`bin/run`). The models are loaded once, as bin/serve
loads them; then each served model (or those of `--models`) answers the clip `--repeats` times
after one warm-up answer (TensorFlow traces its functions on the first), in one process, through
the same `impressions.web.answer.answer` the page calls. The clip is `--clip`, or the dataset's
first test clip of at least 15 s (the synthetic First Impressions clips are 15 s).

    .venv/bin/python bench/serve_speed.py [--configfile mine.yaml] [--results results] [--models summary_cam_cnn] [--repeats 5]

One line per model and step, the median over the repeats, the last step being the whole answer:
``serve_speed: model=<dataset/model> step=<name> ms=..`` (the target: total under 3000 ms on 2 cores),
then how far the page's answer is from the run's own prediction of the clip
(``serve_speed: model=.. clip=.. max_abs_diff_to_pipeline=..``, from predictions_<split>.csv).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from impressions.data.clips import read_manifest  # noqa: E402
from impressions.models.metrics import pred_column, prob_column  # noqa: E402
from impressions.web.answer import answer  # noqa: E402
from impressions.web.config import dataset_configs, run_config  # noqa: E402
from impressions.web.runs import load_served  # noqa: E402

CLIP_S = 15.0


def long_test_clip(results: Path, dataset: str) -> str:
    """The dataset's first test clip of at least 15 s (else its longest test clip)."""
    manifest = read_manifest(results / dataset / "manifest.tsv")
    test = manifest[manifest["split"] == "test"].sort_values("clip_id")
    long = test[test["duration_s"] >= CLIP_S - 0.05]
    return (long if len(long) else test.sort_values("duration_s", ascending=False)).iloc[0]["path"]


def pipeline_difference(results: Path, model, clip: str, scores: list[dict]) -> str:
    """Largest |page - pipeline| over the outputs, for a clip of the run's manifest ("-" otherwise)."""
    manifest = read_manifest(results / model.dataset / "manifest.tsv")
    row = manifest[manifest["path"] == clip]
    if row.empty:
        return "-"
    clip_id, split = row.iloc[0]["clip_id"], row.iloc[0]["split"]
    table = pd.read_csv(results / model.dataset / "models" / model.name / f"predictions_{split}.csv").set_index("clip_id")
    if clip_id not in table.index:
        return "-"
    columns = [prob_column(s["output"]) if "probability" in s else pred_column(s["output"]) for s in scores]
    shown = [s.get("probability", s.get("value")) for s in scores]
    return f"{float(np.max(np.abs(table.loc[clip_id, columns].to_numpy(float) - shown))):.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", nargs="+", default=[])
    parser.add_argument("--results", default=str(REPO / "results"))
    parser.add_argument("--models", nargs="+", default=[], help="model names (default: every served model)")
    parser.add_argument("--clip", default="")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = run_config(args.configfile)
    served = load_served(dataset_configs(config), args.results)
    chosen = [m for m in served.values() if not args.models or m.name in args.models]
    if not chosen:
        sys.exit(f"serve_speed: no trained model to serve under {args.results} (run bin/run first)")
    max_duration_s = config["serve"]["max_duration_s"]
    for model in chosen:
        clip = args.clip or long_test_clip(Path(args.results), model.dataset)
        steps: dict[str, list[float]] = {}
        for repeat in range(args.repeats + 1):
            folder = Path(tempfile.mkdtemp(prefix="serve-speed-"))
            try:
                shutil.copyfile(clip, folder / "upload")
                result = answer(model, folder / "upload", max_duration_s=max_duration_s)
            finally:
                shutil.rmtree(folder)
            for step in result["timings"] if repeat else []:
                steps.setdefault(step["step"], []).append(step["ms"])
        print(f"serve_speed: model={model.key} clip={clip} repeats={args.repeats}", flush=True)
        for step, times in steps.items():
            print(f"serve_speed: model={model.key} step={step} ms={statistics.median(times):.0f}", flush=True)
        difference = pipeline_difference(Path(args.results), model, clip, result["scores"])
        print(f"serve_speed: model={model.key} clip={Path(clip).name} max_abs_diff_to_pipeline={difference}", flush=True)


if __name__ == "__main__":
    main()
