"""The aligned cache: audio, video and text on one clock, checked on clips whose events are at known
times and against computations written apart (loops over frames, ffprobe's own frame times)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from impressions.data.media import decode_wav, frames_by_time, nearest_frames
from impressions.features import aligned, transforms
from impressions.features.aligned_stage import aligned_cache
from impressions.features.spoken_words import even_pace, spoken_words
from impressions.io.cache import CacheReader
from impressions.io.wav import read_wav
from planted_media import make_variable_frame_rate


def burst_and_flash(path, *, fps: int, seconds: float = 4.0) -> None:
    """Black frames with white ones for 2.0 <= t < 2.1 s, and a 1 kHz tone only for 2.0 <= t < 2.1 s."""
    video = f"color=c=black:s=64x48:r={fps}:d={seconds},drawbox=x=0:y=0:w=64:h=48:color=white:t=fill:enable='between(t,2.0,2.099)'"
    audio = f"sine=frequency=1000:sample_rate=44100:duration={seconds},volume=volume=0:enable='not(between(t,2.0,2.1))'"
    command = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(command, check=True)


@pytest.mark.parametrize("fps", [10, 25])
def test_a_tone_burst_and_a_flash_at_two_seconds_land_on_the_same_step(tmp_path, fps):
    """Step 8 covers [1.92, 2.16) s: the burst and the flash (2.0-2.1 s) are in it and in no other step."""
    clip, wav = tmp_path / "event.mp4", tmp_path / "wav"
    burst_and_flash(clip, fps=fps)
    wav.mkdir()
    decode_wav(clip, wav / "event.wav")
    aligned_cache(
        pd.DataFrame({"clip_id": ["event"], "path": [str(clip)], "duration_s": [4.0]}), wav, tmp_path / "aligned.h5", max_seconds=6.0, log=lambda _: None
    )
    with CacheReader(tmp_path / "aligned.h5") as cache:
        audio, video, mask = cache.get("audio", "event"), cache.get("video", "event"), cache.get("mask", "event")
        assert cache.params["max_steps"] == 25 and cache.params["step_s"] == 0.24
    assert audio.shape == (25, 64) and video.shape == (25, 36, 64, 3) and video.dtype == np.uint8
    np.testing.assert_array_equal(mask, [1] * 17 + [0] * 8)  # 4.0 / 0.24 = 16.7: 17 steps start inside the clip
    loudness, brightness = audio.max(axis=1), video.mean(axis=(1, 2, 3))  # the tone is in a band or two
    assert int(np.argmax(loudness)) == int(np.argmax(brightness)) == 8
    assert loudness[8] > transforms.LOG_MEL_FLOOR + 3 and np.all(np.delete(loudness[:17], 8) < transforms.LOG_MEL_FLOOR + 1)
    assert brightness[8] > 200 and np.all(np.delete(brightness, 8) < 30)
    np.testing.assert_allclose(audio[17:], transforms.LOG_MEL_FLOOR)  # the padding past the clip is silence


def test_frames_by_time_takes_the_nearest_frame_of_a_variable_frame_rate_clip(tmp_path):
    """Against ffprobe's own frame times and every frame decoded in order, nearest chosen by a plain loop."""
    clip = tmp_path / "vfr.mp4"
    make_variable_frame_rate(clip, seconds=3.0)
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "json", str(clip)], capture_output=True, check=True
    )
    times = [float(frame["pts_time"]) for frame in json.loads(probed.stdout)["frames"]]
    assert len(set(np.round(np.diff(times), 4))) > 1  # the clip's frame rate does vary
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(clip),
            "-vf",
            "scale=32:24:flags=bicubic",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:",
        ],
        capture_output=True,
        check=True,
    ).stdout
    every = np.frombuffer(raw, np.uint8).reshape(-1, 24, 32, 3)
    centres = aligned.step_centres(0.24, 13)
    expected = [min(range(len(times)), key=lambda i: (abs(times[i] - at), i)) for at in centres]
    np.testing.assert_array_equal(frames_by_time(clip, centres, height=24, width=32), every[expected])


def test_nearest_frames_by_hand():
    times = np.array([0.0, 0.1, 0.25, 0.5])
    np.testing.assert_array_equal(nearest_frames(times, np.array([-1.0, 0.04, 0.05, 0.06, 0.2, 0.375, 0.4, 9.0])), [0, 0, 0, 1, 2, 2, 3, 3])


@pytest.mark.parametrize(("duration", "steps"), [(1.0, 5), (0.96, 4), (0.961, 5), (0.1, 1), (0.0, 1)])
def test_a_step_is_in_the_clip_when_it_starts_before_the_end(duration, steps):
    mask = aligned.step_mask(duration, 0.24, 8)
    assert mask.dtype == np.uint8 and mask.tolist() == [1] * steps + [0] * (8 - steps)


def test_pooled_log_mel_averages_the_frames_centred_in_each_step():
    """Against a loop over the VGGish frames: frame i (25 ms every 10 ms) is centred at 0.01 i + 0.0125 s."""
    wave = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * np.repeat(np.linspace(0.01, 0.5, 10), 1600).astype(np.float32)
    frames = transforms.vggish_log_mel(wave)
    pooled = aligned.pooled_log_mel(wave, step_s=0.24, max_steps=6)
    assert pooled.shape == (6, 64) and pooled.dtype == np.float32
    for step in range(6):
        members = [i for i in range(len(frames)) if 0.24 * step <= 0.01 * i + 0.0125 < 0.24 * (step + 1)]
        expected = frames[members].mean(axis=0) if members else np.full(64, transforms.LOG_MEL_FLOOR)
        np.testing.assert_allclose(pooled[step], expected, rtol=1e-5, atol=1e-5)
    assert [len([i for i in range(len(frames)) if 0.24 * s <= 0.01 * i + 0.0125 < 0.24 * (s + 1)]) for s in range(6)] == [
        23,
        24,
        24,
        24,
        3,
        0,
    ]  # frame 23 is centred at 0.2425 s; 98 frames in all


def test_voiced_stretches_find_bursts_at_their_times():
    rate = 16000
    t = np.arange(3 * rate) / rate
    wave = 1e-4 * np.random.default_rng(1).standard_normal(len(t))
    for start, end in ((0.5, 1.0), (2.0, 2.6)):
        wave[(t >= start) & (t < end)] += 0.3 * np.sin(2 * np.pi * 220 * t[(t >= start) & (t < end)])
    stretches = aligned.voiced_stretches(wave.astype(np.float32), sample_rate=rate)
    np.testing.assert_allclose(stretches, [[0.5, 1.0], [2.0, 2.6]], atol=0.03)
    assert aligned.voiced_stretches(np.zeros(0, np.float32)).shape == (0, 2)


def test_words_share_the_voiced_time_in_proportion_to_their_letters():
    """Stretches 1-2 s and 3-4 s are one voiced line of 2 s; "ab cdef ghij": 2, 4 and 4 letters of 10,
    centres at 1, 4 and 8 letters: 0.2, 0.8 and 1.6 s of voice, that is 1.2, 1.8 and 3.6 s."""
    times, placement = aligned.place_words(["ab", "cdef", "ghij"], np.array([[1.0, 2.0], [3.0, 4.0]]), 5.0)
    np.testing.assert_allclose(times, [1.2, 1.8, 3.6])
    assert placement == "voice_activity"
    times, placement = aligned.place_words(["ab", "cd"], np.zeros((0, 2)), 4.0)
    np.testing.assert_allclose(times, [1.0, 3.0])
    assert placement == "even"
    times, placement = aligned.place_words([], np.array([[0.0, 1.0]]), 1.0)
    assert times.shape == (0,) and placement == "none"


def test_words_are_cut_at_spaces_and_punctuation_keeping_apostrophes():
    assert spoken_words("Whoa, that’s what Joey's said... OK!") == ["whoa", "that’s", "what", "joey's", "said", "ok"]


def test_even_pace_gives_each_word_its_letters_share_of_the_time():
    """1-5 s with two pauses of 0.5 s: 3 s of voice for 2 + 4 + 6 letters, 0.25 s a letter."""
    np.testing.assert_allclose(even_pace(["ab", "cdef", "ghijkl"], 1.0, 5.0, pause_s=0.5), [(1.0, 1.5), (2.0, 3.0), (3.5, 5.0)])


def test_tokens_land_on_the_steps_of_their_times():
    vectors = aligned.hashed_words(["oh", "no", "oh", "late"], n_features=16)
    assert vectors.shape == (4, 16) and np.all(vectors.sum(axis=1) == 1)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert not np.array_equal(vectors[0], vectors[1])
    placed, steps = aligned.text_steps(vectors, np.array([0.1, 0.2, 0.5, 9.9]), step_s=0.24, max_steps=4)
    assert steps.tolist() == [0, 0, 2, -1]
    np.testing.assert_array_equal(placed, np.stack([vectors[0] + vectors[1], np.zeros(16), vectors[2], np.zeros(16)]))


def test_a_shard_holds_text_on_the_clock_and_records_a_clip_it_cannot_read(tmp_path):
    """The burst clip with a sentence: its three words are spread over the one voiced stretch (2.0-2.1 s);
    a clip without a wav is left out with its reason and the shard goes on."""
    clip, wav = tmp_path / "event.mp4", tmp_path / "wav"
    burst_and_flash(clip, fps=10)
    wav.mkdir()
    decode_wav(clip, wav / "event.wav")
    clips = pd.DataFrame({"clip_id": ["event", "lost"], "path": [str(clip)] * 2, "duration_s": [4.0, 4.0], "text": ["Oh my god", "gone"]})
    lines = []
    aligned_cache(clips, wav, tmp_path / "aligned.h5", max_seconds=4.0, video=False, text=True, log=lines.append)
    with CacheReader(tmp_path / "aligned.h5") as cache:
        assert cache.clip_ids == ["event"] and cache.failed["lost"].startswith("not aligned: ")
        assert "video" not in cache.params or cache.params["video"] is None
        times, steps = cache.get("token_times", "event"), cache.get("token_steps", "event")
        assert aligned.PLACEMENTS[int(cache.get("placement", "event")[0])] == "voice_activity"
        text = cache.get("text", "event")
    waveform, _ = read_wav(wav / "event.wav")
    stretch = aligned.voiced_stretches(waveform)
    assert len(stretch) == 1 and np.all((times >= stretch[0, 0]) & (times <= stretch[0, 1]))
    assert np.all(np.diff(times) > 0) and set(steps.tolist()) <= {8}
    assert text.shape == (17, 256) and text[8].sum() == 3 and text.sum() == 3
    assert any("lost: FAILED" in line for line in lines)
