import subprocess

import numpy as np
import pytest

from conftest import small_disk
from impressions.data.media import MediaError, decode_wav, probe, sample_frames
from impressions.io.wav import read_wav


def test_probe_reports_streams_rates_and_size(media_dir):
    info = probe(media_dir / "normal_clip.001.mp4")
    assert info.has_audio and info.has_video
    assert info.audio_rate == 44100 and info.audio_channels == 2
    assert info.duration_s == pytest.approx(6.0, abs=0.1)
    assert info.audio_duration_s == pytest.approx(6.0, abs=0.1)
    assert info.fps == pytest.approx(10.0)
    assert (info.width, info.height) == (160, 90)
    assert info.size_bytes == (media_dir / "normal_clip.001.mp4").stat().st_size


def test_probe_of_clip_without_audio(media_dir):
    info = probe(media_dir / "silent_clip.003.mp4")
    assert info.has_video and not info.has_audio
    assert info.audio_rate == 0 and info.audio_duration_s == 0.0


def test_probe_of_a_corrupt_file_names_the_file(media_dir):
    with pytest.raises(MediaError, match="broken_clip.004.mp4"):
        probe(media_dir / "broken_clip.004.mp4")


def test_decode_wav_gives_16k_mono_with_the_tone(media_dir, tmp_path):
    target = tmp_path / "a.wav"
    decode_wav(media_dir / "normal_clip.001.mp4", target, sample_rate=16000)
    waveform, rate = read_wav(target)
    assert rate == 16000 and waveform.ndim == 1 and waveform.dtype == np.float32
    assert len(waveform) == pytest.approx(6.0 * 16000, abs=0.05 * 16000)
    spectrum = np.abs(np.fft.rfft(waveform))
    peak_hz = np.argmax(spectrum) * rate / len(waveform)
    assert peak_hz == pytest.approx(440, abs=2)


def test_decode_wav_onto_a_full_disk_stops_the_job_instead_of_excluding_the_clip(media_dir, tmp_path):
    with small_disk(tmp_path / "disk", "64k") as disk:  # 6 s of 16 kHz wav is 192 kB
        with pytest.raises(OSError, match="No space left on device") as raised:
            decode_wav(media_dir / "normal_clip.001.mp4", disk / "a.wav")
    assert not isinstance(raised.value, MediaError)  # a MediaError would exclude the clip as undecodable


def test_decode_wav_is_byte_identical_across_runs(media_dir, tmp_path):
    decode_wav(media_dir / "normal_clip.001.mp4", tmp_path / "a.wav")
    decode_wav(media_dir / "normal_clip.001.mp4", tmp_path / "b.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_decode_wav_of_clip_without_audio_raises(media_dir, tmp_path):
    with pytest.raises(MediaError, match="silent_clip"):
        decode_wav(media_dir / "silent_clip.003.mp4", tmp_path / "x.wav")


def test_sample_frames_shape_dtype_and_spread(media_dir):
    frames = sample_frames(media_dir / "normal_clip.001.mp4", duration_s=6.0, count=6, height=140, width=248)
    assert frames.shape == (6, 140, 248, 3) and frames.dtype == np.uint8
    # testsrc moves over time: frames taken at different times differ
    assert len({frame.tobytes() for frame in frames}) == 6


def test_decode_wav_downmixes_by_averaging_channels_like_the_vggish_reference(tmp_path):
    import soundfile as sf

    t = np.arange(44100) / 44100
    left_only = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1).astype(np.float32)
    sf.write(tmp_path / "stereo.wav", left_only, 44100, subtype="FLOAT")
    decode_wav(tmp_path / "stereo.wav", tmp_path / "mono.wav", sample_rate=16000)
    mono, rate = read_wav(tmp_path / "mono.wav")
    assert rate == 16000
    assert np.abs(mono[1000:-1000]).max() == pytest.approx(0.25, abs=0.005)  # (L + R) / 2, as np.mean(axis=1)


def every_frame(path, *, height: int, width: int) -> np.ndarray:
    """Every frame of a clip decoded in order by a plain ffmpeg run, scaled as the frames stage scales."""
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"scale={width}:{height}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def test_sample_frames_takes_the_first_frame_at_or_after_each_slice_centre_and_the_last_for_a_centre_past_the_end(tmp_path):
    """A 4.1 s clip at 10 fps: the centres of 6 slices (0.342 s, 1.025 s, ...) fall between frames, and
    each takes the frame at or after it (index ceil(10 t)); told the clip lasts 4.5 s (a container can
    outlast its video), the last centre (4.125 s) is past the last frame (4.0 s) and takes that frame."""
    clip = tmp_path / "ten_fps.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=4.1", "-pix_fmt", "yuv420p", str(clip)], check=True)
    decoded = every_frame(clip, height=24, width=32)
    assert len(decoded) == 41
    frames = sample_frames(clip, duration_s=4.1, count=6, height=24, width=32, fps=10.0)
    np.testing.assert_array_equal(frames, decoded[[4, 11, 18, 24, 31, 38]])
    longer = sample_frames(clip, duration_s=4.5, count=6, height=24, width=32, fps=10.0)
    np.testing.assert_array_equal(longer, decoded[[4, 12, 19, 27, 34, 40]])  # centres 0.375, 1.125, ..., 3.375, 4.125
