#!/usr/bin/python3
"""DnR-style mixtures of speech, music and sfx from the corpus pools.

    dnr_mix.py validation OUT [--n 40] [--seed 1] [--seconds 60] [--corpus DIR] [--split S]
    dnr_mix.py samples OUT [--n 4] [--seed 0] [--seconds 6]      training draws, to listen to
    dnr_mix.py stats [--corpus DIR]                             pool sizes, narrowband share
    dnr_mix.py synth-pool DIR                                   a tiny synthetic corpus for tests

Mixing follows Divide and Remaster (DnR, Petermann et al. 2022; its dnr-utils scripts),
re-implemented here:
  - Four layers on a 60 s timeline: music, speech, sfx and a quieter "background" layer drawn
    from the sfx pool (DnR's fourth layer; it is summed into the sfx stem, --no-background
    leaves it out). Each layer gets a zero-truncated Poisson number of clips (7, 8, 12, 6 per
    minute) placed one after the other with random gaps (1 s plus a half-normal of 2 s), so the
    clips of a layer never overlap each other while the layers overlap freely. Speech clips are
    whole utterances and must fit; a music or sfx clip is a segment of about half the file
    (normal, mean max_len/2, sd max_len/10), music from a random position, sfx from its onset.
  - Our pools' speech and sfx files are short (median 1.5 s; DnR's LibriSpeech utterances
    average about 12 s), so, unlike DnR, a speech clip strings 2-12 s of files of one package
    together with 0.15-0.6 s pauses (speech then covers about as much of a mixture as in DnR),
    and an sfx file of at most 4 s is used whole rather than cut to half (plan_mixture).
  - Levels (ITU-R BS.1770-4 integrated loudness, libebur128): speech -17, sfx -21, music -24,
    background -29 LUFS, plus a uniform offset of +-2 LU per layer and mixture and +-1 LU per
    clip; each clip is normalised on its own segment. Then the mixture is normalised to -27
    LUFS with the same gain on every stem, so the stems sum to the mix.
  - Unlike DnR, the pools are high-passed as they are decoded (HIGH_PASS_HZ: speech at
    60 Hz, music and sfx at 20 Hz, zero phase), because these recordings carry DC offsets,
    mains hum and rumble that DnR's sources do not, and no separator can attribute them.
  - Unlike DnR, cut clip edges get short fades (5 ms in, 20 ms out) so that a cut does not
    leave a click, and no peak normalisation is applied (the files are float WAV).
Augmentation (training and validation alike unless noted):
  - Band-limiting of music and sfx clips: much of the speech pool was recorded at 8 to 22 kHz,
    so a clip of music or sfx is resampled through a lower rate with the probability that a
    speech file is narrowband, the rate drawn from the narrowband speech files' rates. The
    model then cannot learn "narrowband means speech". Speech clips are left as they are.
  - Training only (MixSampler): the whole mixture band-limited with probability 0.1 (all stems
    alike), a random gain of +-6 dB on the mixture after the -27 LUFS normalisation, and a
    random crop position (time offset) in the 60 s timeline.

Pools: CORPUS/{speech,music,sfx}/{package}/*.flac|.ogg|.wav (mono 44.1 kHz), CORPUS being the
--out folder of training/corpus/build_corpus.py (there is no default), with CORPUS/manifest.json giving per class the train and validation package lists and per
file an estimated bandwidth (see load_manifest for what is accepted). Files are decoded once
with the `soundfile` package (its wheel bundles libsndfile with FLAC, Vorbis, Opus, MP3) into a
cache of one int16 file per pool (class and split) plus a JSON index; training reads clips from
that file through a numpy memmap. Why: decoding Vorbis or FLAC for every draw would cost more
CPU than mixing on a 2-core machine, and random access into compressed streams is slow; the
memmap makes a draw a copy, its pages are shared by all data-loader workers through the page
cache, and int16 (96 dB of range) keeps all that matters of the Vorbis or 16-bit sources at
half the size of float32. The cache (default ~/.cache/mrxcl/pools, or $MRXCL_POOL_CACHE, or
--cache; 318 MB per hour of audio, decoded by all cores in parallel) is rebuilt when a file's
size or time stamp changes. WAV files (the validation set, mrxcl's output) are read and written by
read_wav/write_wav of tools/audio_io.py with numpy alone, so eval.py needs neither soundfile nor
scipy.

Dependencies: numpy; libebur128 (Debian's libebur128-1, loaded with ctypes: BS.1770-4
loudness); scipy (resampling) and soundfile. Install the Python ones without letting pip
replace the system numpy that torch 1.13 needs:
    /usr/bin/python3 -m pip install --break-system-packages soundfile "scipy<1.12"
Loudness was measured with pyloudnorm until 2026-11-23 (mixtures written before then, such
as a validation set, differ by a few hundredths of a dB in level): libebur128 takes about
2.5 times less CPU (4 s of audio: 1.4 against 4.0 ms; a training batch of 8 x 4 s: 0.25
against 0.35 s with everything else) and is closer to the standard (a 997 Hz sine of peak A
reads 20 log10 A - 3.0075 LUFS, BS.1770's value being 20 log10 A - 3.01; pyloudnorm read
0.04 dB lower).
"""

import argparse
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import zlib

import numpy as np

# the product's tools/ (audio_io, mrx_io, mrx_ref, ref_separate), from any working directory
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

SOURCES = ("music", "speech", "sfx")  # the model's output order (docs/network.md)
SAMPLE_RATE = 44100
AUDIO_EXTS = (".flac", ".ogg", ".oga", ".opus", ".wav", ".mp3")
CACHE_VERSION = 2   # 2: pools high-passed (HIGH_PASS_HZ) when decoded

# Pools are high-passed when they are decoded (high_pass, zero phase): below 20 Hz nothing is
# audible and what these recordings hold there is DC offset and rumble (a fifth to a third of
# the energy of some packages' files, in every class); below 60 Hz no voice has anything,
# and the speech recordings hold mains hum (50 Hz) and handling rumble there. Left in, they
# are part of a stem's reference that no separator can attribute to its class: a held-out
# ktuberling voice keeping half its energy in DC and 50 Hz hum scored a third of its
# reference lost. Film dialogue is high-passed as a matter of course.
HIGH_PASS_HZ = {"speech": 60.0, "music": 20.0, "sfx": 20.0}
HIGH_PASS_ORDER = 4     # Butterworth, run forward and backward: 8th order in magnitude

# layer -> (stem it belongs to, pool it draws from)
LAYERS = {
    "music": ("music", "music"),
    "speech": ("speech", "speech"),
    "sfx": ("sfx", "sfx"),
    "background": ("sfx", "sfx"),
}
# Sample rates a narrowband recording is likely to have been made at; band-limiting
# resamples through one of them.
LOW_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000)


# ---------------------------------------------------------------------------------
# WAV files and loudness: tools/audio_io.py (the reference tools use them too)

from audio_io import loudness, read_wav, write_wav  # noqa: E402


class _FakePool:
    """A pool of noise files for augment_selftest (the attributes plan_mixture and render
    use)."""

    def __init__(self, rng, n, seconds, sample_rate=SAMPLE_RATE, sizes=None):
        """sizes: files per package (summing to n); None: one package."""
        self.lengths = (rng.uniform(*seconds, n) * sample_rate).astype(np.int64)
        sizes = [n] if sizes is None else list(sizes)
        first = np.cumsum([0] + sizes)
        self.packages = {"pkg%d" % k: np.arange(first[k], first[k + 1])
                         for k in range(len(sizes))}
        self.paths = ["cls/pkg%d/%d.wav" % (int(np.searchsorted(first, i, "right")) - 1, i)
                      for i in range(n)]
        self.bandwidth = np.full(n, 20000.0)
        self.audio = [0.1 * rng.standard_normal(k) for k in self.lengths]

    def __len__(self):
        return len(self.paths)

    def package_files(self, i):
        for files in self.packages.values():
            if files[0] <= i <= files[-1]:
                return files
        raise IndexError(i)

    def segment(self, i, start, length):
        return self.audio[i][start:start + length]


def _package_power_check(rng):
    """_package_file on packages of random sizes: over 20000 draws with a random power, each
    package's share (by the package folder of the file drawn) is within 5 standard errors of
    size ** power / sum(sizes ** power); plan_mixture with
    cfg.speech_package_power = 0 takes about half its speech clips from a 1-file package
    beside a 60-file one (more than a quarter; file-uniform drawing would give 1/61)."""
    fails = []
    sizes = [int(k) for k in rng.integers(1, 200, 4)]
    pool = _FakePool(rng, sum(sizes), (0.3, 0.5), sizes=sizes)
    power = float(rng.choice([0.0, 0.5, 1.0, rng.uniform(0.1, 0.9)]))
    n = 20000
    counts = np.zeros(len(sizes))
    for _ in range(n):
        i = _package_file(rng, pool, power)
        counts[int(pool.paths[i].split("/")[1][3:])] += 1
    want = np.array(sizes, dtype=np.float64) ** power
    want /= want.sum()
    se = np.sqrt(want * (1 - want) / n)
    if np.any(np.abs(counts / n - want) > 5 * se + 1e-12):
        fails.append("_package_file(power %g, sizes %s): shares %s, want %s"
                     % (power, sizes, np.round(counts / n, 4), np.round(want, 4)))
    pools = {"speech": _FakePool(rng, 61, (0.3, 0.6), sizes=[1, 60]),
             "music": _FakePool(rng, 3, (20, 40)), "sfx": _FakePool(rng, 5, (0.2, 2.0))}
    cfg = MixConfig(speech_package_power=0.0, speech_utterance_s=None,
                    clips_per_minute={"music": 1.0, "speech": 60.0, "sfx": 1.0,
                                      "background": 1.0})
    firsts = [ev["parts"][0][0] for _ in range(4)
              for ev in plan_mixture(rng, pools, cfg, 60.0, nb_rates=[])
              if ev["stem"] == "speech"]
    share = np.mean([f == 0 for f in firsts]) if firsts else 0.0
    if share < 0.25:
        fails.append("plan_mixture with speech_package_power 0: %.3f of %d speech clips "
                     "from the 1-file package, want about 0.5" % (share, len(firsts)))
    return fails


def _formant_check(rng):
    """formant_shift on a synthetic vowel (a pulse train of f0 100 to 160 Hz through one
    resonance of 900 to 1500 Hz, 120 Hz wide), against measurements made without Praat: the
    peak of the average spectrum smoothed over 400 Hz (the envelope) moves by the ratio
    (within 5 %; the ratio is at least 6 % from 1, so a shift that does nothing fails) and the
    pitch (autocorrelation, parabolic peak) stays (within 0.5 %); the length stays, and a
    clip shorter than FORMANT_MIN_S comes back as it was. Also formant_range's checks."""
    from scipy.signal import lfilter

    sr = SAMPLE_RATE
    fails = []
    f0, fc = float(rng.uniform(100.0, 160.0)), float(rng.uniform(900.0, 1500.0))
    ratio = float(np.exp(rng.uniform(np.log(1.06), np.log(1.25)) * rng.choice((-1, 1))))
    n = int(1.5 * sr)
    x = np.zeros(n)
    x[(np.arange(0.0, n, sr / f0)).astype(int)] = 1.0
    r = np.exp(-np.pi * 120.0 / sr)
    x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r], x)
    x *= 0.5 / np.max(np.abs(x))
    y = formant_shift(x, sr, ratio)

    def envelope_peak(z):
        m = 8192
        frames = np.lib.stride_tricks.sliding_window_view(z, m)[:: m // 2]
        p = (np.abs(np.fft.rfft(frames * np.hanning(m), axis=1)) ** 2).mean(axis=0)
        k = np.hanning(2 * int(400.0 * m / sr) + 1)
        smooth = np.convolve(p, k / k.sum(), "same")
        f = np.arange(len(p)) * sr / m
        band = (f > 300.0) & (f < 4000.0)
        return f[band][np.argmax(smooth[band])]

    def pitch(z):
        z = z[len(z) // 4: 3 * len(z) // 4]
        a = np.correlate(z, z, "full")[len(z) - 1:]
        lo = int(sr / 400)
        k = lo + int(np.argmax(a[lo:int(sr / 60)]))
        return sr / (k + 0.5 * (a[k - 1] - a[k + 1]) / (a[k - 1] - 2 * a[k] + a[k + 1]))

    if len(y) != n:
        fails.append("formant_shift: %d samples, want %d" % (len(y), n))
        return fails
    moved = envelope_peak(y) / envelope_peak(x)
    if abs(moved / ratio - 1) > 0.05:
        fails.append("formant_shift(%.3f): the envelope peak (%.0f Hz vowel, f0 %.1f Hz) moved "
                     "by %.3f" % (ratio, fc, f0, moved))
    if abs(pitch(y) / pitch(x) - 1) > 0.005:
        fails.append("formant_shift(%.3f): pitch %.2f Hz, want %.2f" % (ratio, pitch(y), pitch(x)))
    short = x[:int(FORMANT_MIN_S * sr) - 1]
    if not np.array_equal(formant_shift(short, sr, ratio), short):
        fails.append("formant_shift changed a clip shorter than FORMANT_MIN_S")
    for bad in ((0.4, 1.1), (0.9, 2.5), (1.2, 1.1), (1.0, 1.0)):
        try:
            formant_range(*bad)
            fails.append("formant_range%s: accepted" % (bad,))
        except ValueError:
            pass
    return fails


def _high_pass_check(rng):
    """high_pass at each class's cutoff on sines of random frequency, level and phase over a
    random DC offset: one at 2 to 100 times the cutoff comes back within 0.1 dB, one at the
    cutoff 6.02 dB down (0.1), one at 0.35 to 0.5 of it 45 dB down or more, all with
    the length kept and the same output as without the DC offset (to 1e-6 of the sine's
    amplitude). RMS over the middle half, clear of the edges."""
    fails = []
    sr = SAMPLE_RATE
    for cls, fc in sorted(HIGH_PASS_HZ.items()):
        n = int(rng.integers(2 * sr, 3 * sr))
        t = np.arange(n) / sr
        mid = slice(n // 4, 3 * n // 4)
        for lo, hi, want, tol in ((2.0, 100.0, 0.0, 0.1), (1.0, 1.0, -6.02, 0.1),
                                  (0.35, 0.5, None, None)):
            f = fc * float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            a = float(rng.uniform(0.01, 0.5))
            dc = float(rng.uniform(-0.3, 0.3))
            sine = a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
            y = high_pass(sine + dc, sr, fc)
            if len(y) != n:
                fails.append("high_pass: %d samples, want %d" % (len(y), n))
                continue
            got = 20 * np.log10(np.sqrt(np.mean(y[mid] ** 2)) / (a / np.sqrt(2)))
            if want is None and got > -45.0:
                fails.append("high_pass(%s, %g Hz): a %.1f Hz sine came through at %.1f dB, "
                             "want -45 or less" % (cls, fc, f, got))
            elif want is not None and abs(got - want) > tol:
                fails.append("high_pass(%s, %g Hz): a %.1f Hz sine at %.2f dB, want %.2f"
                             % (cls, fc, f, got, want))
            leak = np.max(np.abs(y - high_pass(sine, sr, fc)))
            if leak > 1e-6 * a:
                fails.append("high_pass(%s): a DC offset of %.2f moved the output by %.2e"
                             % (cls, dc, leak))
    return fails


def augment_selftest(seed=None):
    """speed_change, apply_eq and the augmented plan, on random inputs: a sine of f Hz comes
    out of speed_change(., d) at f d / SPEED_UP Hz (peak of a zero-padded FFT, within 0.2%)
    and ceil(n SPEED_UP / d) samples long; apply_eq changes a sine's RMS (middle half) by
    eq_gain_db at its frequency (0.05 dB); speed_downs gives (17, 18, 19, 21, 22, 23) for the
    default range, every step of a range and refuses bad ones; with
    cfg.speech_speed_prob = cfg.speech_eq_prob = 1 and a random cfg.speech_speed_range every
    speech event that fits is sped by one of speed_downs(range), has an EQ, length
    ceil(src_length SPEED_UP / d), and renders to audio of that length that is not silent at
    its end, and with cfg.speech_formant_prob = 1 a formant ratio in a random
    cfg.speech_formant_range, with cfg.speech_reverb_prob = 1 a room; with all four at 0 no
    event has any; _formant_check, _reverb_check, _high_pass_check (the pools' filter),
    _package_power_check (cfg.speech_package_power). Returns a
    list of failures, the first naming the seed."""
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    rng = np.random.default_rng(seed)
    sr = SAMPLE_RATE
    fails = []
    if speed_downs() != (17, 18, 19, 21, 22, 23):
        fails.append("speed_downs(): %s, want 17..23 without 20" % (speed_downs(),))
    # a range apart from the default (all slower or all quicker), so that a plan drawing
    # from the default speeds shows
    a, b = sorted(rng.integers(10, 17, 2) if rng.random() < 0.5 else rng.integers(24, 41, 2))
    lo, hi = a / SPEED_UP, b / SPEED_UP
    downs = speed_downs(lo, hi)
    if downs != tuple(range(a, b + 1)):
        fails.append("speed_downs(%g, %g): %s, want %d..%d" % (lo, hi, downs, a, b))
    if speed_downs(0.7, 1.4) != tuple(k for k in range(14, 29) if k != SPEED_UP):
        fails.append("speed_downs(0.7, 1.4): %s, want 14..28 without 20" % (speed_downs(0.7, 1.4),))
    for bad in ((0.4, 1.1), (0.9, 2.5), (1.2, 1.1), (1.0, 1.0), (1.01, 1.04)):
        try:
            speed_downs(*bad)
            fails.append("speed_downs%s: accepted" % (bad,))
        except ValueError:
            pass
    d = int(downs[int(rng.integers(len(downs)))])
    f = float(rng.uniform(200.0, 4000.0))
    n = int(rng.integers(sr, 2 * sr))
    y = speed_change(np.sin(2 * np.pi * f * np.arange(n) / sr), d)
    if len(y) != -(-n * SPEED_UP // d):
        fails.append("speed_change: %d samples, want %d" % (len(y), -(-n * SPEED_UP // d)))
    m = 16 * len(y)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), m))
    got = np.argmax(spec) * sr / m
    if abs(got / (f * d / SPEED_UP) - 1) > 0.002:
        fails.append("speed_change(%d): a %.1f Hz sine came out at %.1f Hz, want %.1f"
                     % (d, f, got, f * d / SPEED_UP))
    eq = draw_eq(rng)
    x = np.sin(2 * np.pi * f * np.arange(2 * sr) / sr)
    y = apply_eq(x, sr, eq)
    mid = slice(sr // 2, 3 * sr // 2)
    got = 20 * np.log10(np.sqrt(np.mean(y[mid] ** 2)) / np.sqrt(np.mean(x[mid] ** 2)))
    want = float(eq_gain_db(f, eq))
    if abs(got - want) > 0.05:
        fails.append("apply_eq %s at %.1f Hz: %.3f dB, want %.3f" % (eq, f, got, want))
    fails += _formant_check(rng)
    fails += _reverb_check(rng)
    fails += _high_pass_check(rng)
    fails += _package_power_check(rng)
    pools = {"speech": _FakePool(rng, 30, (0.3, 2.0)), "music": _FakePool(rng, 5, (20, 40)),
             "sfx": _FakePool(rng, 20, (0.2, 5.0))}
    flo = float(rng.uniform(0.6, 0.95))
    fhi = float(rng.uniform(flo + 0.05, 1.6))
    cfg = MixConfig(speech_speed_prob=1.0, speech_eq_prob=1.0, speech_speed_range=(lo, hi),
                    speech_formant_prob=1.0, speech_formant_range=(flo, fhi),
                    speech_reverb_prob=1.0)
    events = plan_mixture(np.random.default_rng(seed), pools, cfg, 20.0, nb_rates=[])
    speech = [ev for ev in events if ev["stem"] == "speech"]
    total = 20 * sr
    if not speech:
        fails.append("augmented plan: no speech event")
    for ev in speech:
        k, want = ev["speed_down"], -(-ev["src_length"] * SPEED_UP // ev["speed_down"])
        fitted = ev["src_length"] * SPEED_UP // min(downs) < total - ev["start"]
        if (k not in downs and fitted) or ev["eq"] is None:
            fails.append("augmented plan: a speech event without speed or EQ: %s" % ev)
        elif ev["reverb"] is None:
            fails.append("augmented plan: a speech event without a room: %s" % ev)
        elif ev["formant"] is None or not flo <= ev["formant"] <= fhi:
            fails.append("augmented plan: formant ratio %s, want %g..%g"
                         % (ev["formant"], flo, fhi))
        elif k != SPEED_UP and ev["length"] != want:
            fails.append("augmented plan: length %d, want %d" % (ev["length"], want))
        elif ev["start"] + ev["length"] > total:
            fails.append("augmented plan: an event past the end")
        x = _clip_audio(pools, ev, cfg)
        if x is None or len(x) != ev["length"] or not np.any(x[-len(x) // 10:]):
            fails.append("augmented clip: %s samples, want %d, end silent" % (
                None if x is None else len(x), ev["length"]))
    plain = plan_mixture(np.random.default_rng(seed), pools, MixConfig(), 20.0, nb_rates=[])
    if any(e["speed_down"] != SPEED_UP or e["eq"] or e["formant"] or e["reverb"]
           or e["src_length"] != e["length"] for e in plain):
        fails.append("a plan without augmentation has speed, formants, a room or EQ")
    if fails:
        fails.insert(0, "dnr_mix augment selftest failed (seed %d, speed %d/%d, range %g..%g)"
                     % (seed, d, SPEED_UP, lo, hi))
    return fails


def loudness_selftest(seed=None):
    """loudness() against figures worked out from BS.1770-4 itself, with a random level,
    phase and sample rate: a 997 Hz sine of peak A reads 20 log10 A - 3.01 LUFS (the
    K-weighting is 0 dB there, within 0.01); 10 s of it then 10 s of silence, or of the same
    sine 15 dB down, read the sine's level + 10 log10(98.5 / 100) (the absolute and the
    relative gate drop the quiet 400 ms blocks, and 97 whole blocks plus 3 straddling
    the edge, holding 3/4, 1/2 and 1/4 of the loud sine, remain; with the quieter sine the
    straddling blocks hold a little more); silence reads -inf. Tolerance 0.02 dB.
    Returns a list of failures, the first naming the seed."""
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    rng = np.random.default_rng(seed)
    sr = int(rng.choice([44100, 48000, 32000]))
    level = float(rng.uniform(-40.0, -1.0))
    phase = float(rng.uniform(0, 2 * math.pi))
    t = np.arange(10 * sr) / sr
    sine = 10 ** (level / 20) * np.sin(2 * math.pi * 997.0 * t + phase)
    q = 10 ** (-15 / 20)
    checks = [("sine", sine, level - 3.0103),
              ("sine then silence", np.concatenate([sine, np.zeros(10 * sr)]),
               level - 3.0103 + 10 * math.log10(98.5 / 100)),
              ("sine then the sine 15 dB down", np.concatenate([sine, q * sine]),
               level - 3.0103 + 10 * math.log10((97 + 1.5 + 1.5 * q * q) / 100)),
              ("silence", np.zeros(sr), -math.inf)]
    fails = []
    for name, x, want in checks:
        got = loudness(x, sr)
        ok = got == want if math.isinf(want) else abs(got - want) < 0.02
        if not ok:
            fails.append("%s at %d Hz, peak %.2f dBFS: %.4f LUFS, want %.4f"
                         % (name, sr, level, got, want))
    if fails:
        fails.insert(0, "dnr_mix selftest failed (seed %d)" % seed)
    return fails


def resample(x, rate_in, rate_out):
    """Polyphase resampling (scipy) of mono x."""
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(x, dtype=np.float64), rate_out // g, rate_in // g)


def band_limit(x, sample_rate, low_rate):
    """x as if it had been recorded at low_rate: an FFT low-pass, flat to 0.46 * low_rate and
    raised-cosine down to zero at the Nyquist frequency 0.5 * low_rate, much like a good
    resampler's anti-alias filter (scipy's resample_poly, for ratios such as 1:2, has a
    transition a kilohertz wide). Zero-padded so the circular FFT does not wrap. Same length."""
    from scipy.fft import next_fast_len, irfft, rfft

    x = np.asarray(x, dtype=np.float64)
    n = next_fast_len(len(x) + 8192, real=True)
    X = rfft(x, n)
    f = np.arange(len(X)) * (float(sample_rate) / n)
    lo, hi = 0.46 * low_rate, 0.5 * low_rate
    g = np.clip((hi - f) / (hi - lo), 0.0, 1.0)
    X *= 0.5 - 0.5 * np.cos(np.pi * g)
    return irfft(X, n)[:len(x)]


SPEED_UP = 20
SPEED_RANGE = (0.85, 1.15)              # train.py --speech-speed-range's default


def speed_downs(lo=SPEED_RANGE[0], hi=SPEED_RANGE[1]):
    """The speed_down values of speeds lo .. hi (steps of 1 / SPEED_UP, speed 1 left out):
    (17, 18, 19, 21, 22, 23) for the default 0.85 .. 1.15. ValueError outside 0.5 .. 2 or
    when no speed but 1 is left."""
    if not (0.5 <= lo <= hi <= 2.0):
        raise ValueError("speech speed range %g..%g: want 0.5 <= low <= high <= 2" % (lo, hi))
    downs = tuple(d for d in range(int(math.ceil(lo * SPEED_UP - 1e-9)),
                                   int(math.floor(hi * SPEED_UP + 1e-9)) + 1) if d != SPEED_UP)
    if not downs:
        raise ValueError("speech speed range %g..%g holds no speed but 1 (steps of %g)"
                         % (lo, hi, 1.0 / SPEED_UP))
    return downs


SPEED_DOWN = speed_downs()              # speeds DOWN / SPEED_UP: 0.85 .. 1.15, 1 left out


def speed_change(x, down):
    """x played down / SPEED_UP times as fast, as Kaldi's speed perturbation: resampled by
    SPEED_UP / down (scipy's polyphase filter) and kept at the same rate, so tempo, pitch and
    formants scale together (a voice lower or higher, slower or quicker). Length
    ceil(len(x) * SPEED_UP / down)."""
    from scipy.signal import resample_poly

    x = np.asarray(x, dtype=np.float64)
    if down == SPEED_UP:
        return x
    return resample_poly(x, SPEED_UP, int(down))


FORMANT_RANGE = (0.85, 1.18)            # train.py --speech-formant-range's default
FORMANT_MIN_S = 0.1                     # shorter audio is left as it is (Praat needs periods)


def formant_range(lo=FORMANT_RANGE[0], hi=FORMANT_RANGE[1]):
    """(lo, hi) checked: 0.5 <= lo < hi <= 2 (ValueError otherwise)."""
    if not (0.5 <= lo < hi <= 2.0):
        raise ValueError("speech formant range %g..%g: want 0.5 <= low < high <= 2" % (lo, hi))
    return float(lo), float(hi)


def draw_formant(rng, lo=FORMANT_RANGE[0], hi=FORMANT_RANGE[1]):
    """A formant shift ratio for formant_shift, log-uniform in lo .. hi."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def formant_shift(x, sample_rate, ratio):
    """x with its formants (the spectral envelope of its voiced parts) moved up or down by
    the factor ratio while its pitch and timing stay: Praat's "Change gender" (pitch
    analysis 75 to 600 Hz, PSOLA resynthesis; the praat-parselmouth package), a longer or
    shorter vocal tract. With speed_change, which moves pitch and formants together, it
    makes voices the speech pools lack. Same length; audio shorter than FORMANT_MIN_S is
    returned as it is."""
    import warnings

    import parselmouth
    from parselmouth.praat import call

    x = np.asarray(x, dtype=np.float64)
    if len(x) < FORMANT_MIN_S * sample_rate:
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", parselmouth.PraatWarning)  # "no voiced segments"
        y = call(parselmouth.Sound(x, sampling_frequency=float(sample_rate)),
                 "Change gender", 75.0, 600.0, float(ratio), 0.0, 1.0, 1.0).values[0]
    return np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]


def eq_gain_db(f, eq):
    """Gain (dB) at frequencies f of the EQ eq = (tilt dB per octave about 1 kHz, peak
    centre Hz, peak gain dB, peak width in octaves): a spectral tilt (flat below 50 Hz) plus
    one Gaussian bell on the log-frequency axis."""
    tilt, fc, gain, width = eq
    f = np.maximum(np.asarray(f, dtype=np.float64), 1e-3)
    return (tilt * np.log2(np.maximum(f, 50.0) / 1000.0)
            + gain * np.exp(-0.5 * (np.log2(f / fc) / width) ** 2))


def apply_eq(x, sample_rate, eq):
    """x through the zero-phase EQ eq_gain_db(., eq), by FFT (zero-padded like band_limit so
    the circular FFT does not wrap). Same length. A microphone, a room or a voice that the
    pools lack, roughly: the recordings of the speech pool come from few speakers and
    studios."""
    from scipy.fft import next_fast_len, irfft, rfft

    x = np.asarray(x, dtype=np.float64)
    n = next_fast_len(len(x) + 8192, real=True)
    X = rfft(x, n)
    X *= 10.0 ** (eq_gain_db(np.arange(len(X)) * (float(sample_rate) / n), eq) / 20.0)
    return irfft(X, n)[:len(x)]


REVERB_RT60_S = (0.15, 0.9)       # draw_reverb: reverberation time, log-uniform
REVERB_DRR_DB = (0.0, 15.0)       # ... and direct-to-reverberant energy ratio, uniform


def draw_reverb(rng):
    """A random small room for apply_reverb: (RT60 in seconds, log-uniform in
    REVERB_RT60_S; direct-to-reverberant ratio in dB, uniform in REVERB_DRR_DB; the seed of
    its noise tail). Rooms from a dry booth to a tiled kitchen, as volunteers record in."""
    lo, hi = REVERB_RT60_S
    return (float(np.exp(rng.uniform(np.log(lo), np.log(hi)))),
            float(rng.uniform(*REVERB_DRR_DB)), int(rng.integers(2 ** 31)))


def reverb_ir(sample_rate, reverb):
    """The impulse response of draw_reverb's room: a unit direct path at 0, then from
    2.5 ms on Gaussian noise (seeded by reverb[2]) decaying 60 dB in RT60 seconds, 1.5 RT60
    long, scaled so that the direct path's energy over the tail's is the DRR. A statistical
    model of a room's late reverberation (Moorer 1979), no early reflections."""
    rt60, drr_db, seed = reverb
    sr = float(sample_rate)
    d = int(round(0.0025 * sr))
    n = int(round(1.5 * rt60 * sr))
    t = np.arange(n) / sr
    tail = np.random.default_rng(seed).standard_normal(n) * 10.0 ** (-3.0 * t / rt60)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail ** 2))
    h = np.zeros(d + n)
    h[0] = 1.0
    h[d:] += tail
    return h


def apply_reverb(x, sample_rate, reverb):
    """x in draw_reverb's room (convolved with reverb_ir, by FFT), cut to its own length:
    the target of the speech stem is the reverberant voice, so the model learns that a
    voice's room tail is speech. Same length."""
    from scipy.signal import fftconvolve

    x = np.asarray(x, dtype=np.float64)
    return fftconvolve(x, reverb_ir(sample_rate, reverb))[:len(x)]


def _reverb_check(rng):
    """reverb_ir against its definition, measured without it: the Schroeder decay of the
    tail falls 60 dB in RT60 (fitted from -5 to -25 dB, within 5 %), the direct path over
    the tail's energy is the DRR (within 0.01 dB), apply_reverb keeps the length and, on an
    impulse, returns the response. Returns a list of failures."""
    sr = SAMPLE_RATE
    fails = []
    rev = draw_reverb(rng)
    rt60, drr_db, _ = rev
    if not (REVERB_RT60_S[0] <= rt60 <= REVERB_RT60_S[1]
            and REVERB_DRR_DB[0] <= drr_db <= REVERB_DRR_DB[1]):
        fails.append("draw_reverb: %s out of range" % (rev,))
    h = reverb_ir(sr, rev)
    d = int(round(0.0025 * sr))
    tail = h[d:]
    got_drr = 10 * np.log10(h[0] ** 2 / np.sum(tail ** 2))
    if abs(got_drr - drr_db) > 0.01 or np.any(h[1:d]):
        fails.append("reverb_ir%s: DRR %.3f dB, want %.3f" % (rev, got_drr, drr_db))
    edc = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail ** 2))
    k = np.nonzero((edc <= -5) & (edc >= -25))[0]
    slope = np.polyfit(k / sr, edc[k], 1)[0]
    if abs(-60.0 / slope / rt60 - 1) > 0.05:
        fails.append("reverb_ir%s: Schroeder RT60 %.3f s, want %.3f" % (rev, -60.0 / slope, rt60))
    n = int(rng.integers(len(h) + 10, len(h) + 2 * sr))
    x = np.zeros(n)
    at = int(rng.integers(0, n - len(h)))
    x[at] = 1.0
    y = apply_reverb(x, sr, rev)
    if len(y) != n or np.max(np.abs(y[at:at + len(h)] - h)) > 1e-9 or np.any(np.abs(y[:at]) > 1e-9):
        fails.append("apply_reverb%s: an impulse did not come back as reverb_ir" % (rev,))
    return fails


def draw_eq(rng):
    """A random EQ for apply_eq: tilt +-2 dB/octave, a bell of +-9 dB and 0.3 to 1.2 octaves
    at 150 Hz to 6 kHz (log-uniform)."""
    return (float(rng.uniform(-2.0, 2.0)), float(np.exp(rng.uniform(np.log(150.0),
                                                                     np.log(6000.0)))),
            float(rng.uniform(-9.0, 9.0)), float(rng.uniform(0.3, 1.2)))


def rate_for_bandwidth(bw, sample_rate=SAMPLE_RATE):
    """The lowest of LOW_RATES whose Nyquist frequency covers ~bw; None if wideband."""
    for r in LOW_RATES:
        if r < sample_rate and r / 2.0 >= 0.95 * bw:
            return r
    return None


def estimate_bandwidth(x, sample_rate=SAMPLE_RATE, cliff_db=25.0):
    """Bandwidth (Hz) of a recording: the frequency of the steepest cliff in its average
    power spectrum (median level over the 1 kHz below minus the 1 kHz above) when that cliff
    exceeds cliff_db, as left by a lower sample rate or a codec's low-pass; else the Nyquist
    frequency. Used only when the manifest gives no bandwidth for a file."""
    n = 4096
    x = np.asarray(x, dtype=np.float64)[: 60 * sample_rate]
    if len(x) < n:
        x = np.concatenate([x, np.zeros(n - len(x))])
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2]
    psd = (np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2).mean(axis=0)
    db = 10 * np.log10(psd + 1e-20)
    w = int(1000.0 * n / sample_rate)
    med = np.median(np.lib.stride_tricks.sliding_window_view(db, w), axis=1)  # med[i]: db[i:i+w]
    lo_bin = int(1500.0 * n / sample_rate)
    best, cut = 0.0, None
    for c in range(max(w, lo_bin), len(db) - w, 2):
        drop = med[c - w] - med[c]
        if drop > best:
            best, cut = drop, c
    if cut is None or best < cliff_db:
        return sample_rate / 2.0
    # The cliff's top: the last frequency near it within 6 dB of the level below it.
    mid = max(med[cut - w] - 6.0, 0.5 * (med[cut - w] + med[cut]))
    k = max(1, int(100.0 * n / sample_rate))
    sm = np.convolve(db, np.ones(k) / k, mode="same")
    above = np.nonzero(sm[cut - w:cut + w] > mid)[0]
    if len(above):
        cut = cut - w + int(above[-1])
    return float(cut * sample_rate / n)


# ---------------------------------------------------------------------------------
# corpus: manifest, pools, decode cache

def _norm_bw(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v) or v <= 0:
        return None
    return v * 1000.0 if v < 100 else v  # kHz or Hz


def load_manifest(corpus_root):
    """Read corpus_root/manifest.json (written by training/corpus/build_corpus.py).

    Returns {"files": [{"class", "split", "path", "bandwidth_hz"}] (empty if the manifest
    has no file list), "split": {class: {"train": [packages], "validation": [packages]}},
    "bandwidth": {relative path: Hz}}. The builder's schema: "files" entries carry path
    (relative to the corpus root), class, package, split and bandwidth_hz; "classes.CLASS.
    {train,validation}.packages" maps package -> counts; "validation_packages" maps class ->
    packages. Other shapes are accepted leniently: package lists as names or dicts with
    "package"/"name"; bandwidths under any key containing "bandwidth" (Hz, or kHz if below
    100) in a dict that also has "path"/"file".
    """
    path = os.path.join(corpus_root, "manifest.json")
    out = {"files": [], "split": {}, "bandwidth": {}}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        m = json.load(f)
    if not isinstance(m, dict):
        return out

    def names(v):
        if isinstance(v, dict):
            if isinstance(v.get("packages"), (dict, list)):
                return names(v["packages"])
            return [str(k) for k in v]
        res = []
        for e in v or []:
            if isinstance(e, str):
                res.append(e)
            elif isinstance(e, dict):
                for key in ("package", "name", "pkg"):
                    if key in e:
                        res.append(str(e[key]))
                        break
        return res

    for holder in (m.get("classes"), m.get("pools"), m.get("splits"), m):
        if not isinstance(holder, dict):
            continue
        for cls in ("speech", "music", "sfx"):
            entry = holder.get(cls)
            if not isinstance(entry, dict) or cls in out["split"]:
                continue
            sp = {}
            for key, canon in (("train", "train"), ("validation", "validation"),
                               ("val", "validation"), ("valid", "validation")):
                if key in entry and canon not in sp:
                    sp[canon] = names(entry[key])
            if sp:
                out["split"][cls] = sp
    vp = m.get("validation_packages")
    if isinstance(vp, dict):
        for cls, pk in vp.items():
            out["split"].setdefault(cls, {}).setdefault("validation", names(pk))

    def walk(o):
        if isinstance(o, dict):
            p = next((o[k] for k in ("path", "file", "relpath", "filename") if k in o
                      and isinstance(o[k], str)), None)
            bkey = next((k for k in o if isinstance(k, str) and "bandwidth" in k.lower()), None)
            if p is not None and bkey is not None and _norm_bw(o[bkey]) is not None:
                out["bandwidth"][p] = _norm_bw(o[bkey])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(m.get("files", m))
    for f in m.get("files") or []:
        if (isinstance(f, dict) and isinstance(f.get("path"), str) and f.get("class")
                and f.get("split") in ("train", "validation") and not f.get("missing")):
            out["files"].append({"class": f["class"], "split": f["split"], "path": f["path"],
                                 "bandwidth_hz": _norm_bw(f.get("bandwidth_hz"))})
    return out


def _bandwidth_lookup(table, corpus_root, path):
    if not table:
        return None
    rel = os.path.relpath(path, corpus_root)
    parts = rel.split(os.sep)
    for cand in (rel, path, "/".join(parts[1:]), "/".join(parts[-2:]), parts[-1]):
        if cand in table:
            return table[cand]
    return None


def packages_for(corpus_root, cls, split, manifest=None):
    """Package folders of class `cls` for split "train" or "validation".

    From the manifest's lists when it has them; otherwise a fixed split by a hash of the
    package name (about one package in seven held out), with a warning."""
    cls_dir = os.path.join(corpus_root, cls)
    present = sorted(d for d in os.listdir(cls_dir)
                     if os.path.isdir(os.path.join(cls_dir, d))) if os.path.isdir(cls_dir) else []
    manifest = manifest if manifest is not None else load_manifest(corpus_root)
    lists = manifest["split"].get(cls)
    if lists and split in lists:
        want = lists[split]
        missing = [p for p in want if p not in present]
        if missing:
            print("dnr_mix: %s/%s: packages in the manifest but not on disk: %s"
                  % (cls, split, ", ".join(missing)), file=sys.stderr)
        return [p for p in want if p in present]
    held = [p for p in present if zlib.crc32(p.encode()) % 7 == 0]
    if len(present) >= 2 and not held:
        held = present[-1:]
    if len(present) >= 2 and len(held) == len(present):
        held = held[:1]
    print("dnr_mix: no %s split lists for %s in the manifest; holding out %s by name hash"
          % (split, cls, ",".join(held) or "nothing"), file=sys.stderr)
    return held if split == "validation" else [p for p in present if p not in held]


def pool_files(corpus_root, cls, packages):
    files = []
    for pkg in packages:
        for dirpath, dirnames, filenames in os.walk(os.path.join(corpus_root, cls, pkg)):
            dirnames.sort()
            files.extend(os.path.join(dirpath, f) for f in sorted(filenames)
                         if f.lower().endswith(AUDIO_EXTS) and not f.startswith("."))
    return files


def default_cache_dir():
    return os.environ.get("MRXCL_POOL_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "mrxcl", "pools")


def decode_file(path, sample_rate=SAMPLE_RATE):
    """Decode any audio file soundfile reads to mono float64 at sample_rate."""
    import soundfile

    x, rate = soundfile.read(path, dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if rate != sample_rate:
        x = resample(x, rate, sample_rate)
    return x


def high_pass(x, sample_rate, cutoff, order=HIGH_PASS_ORDER):
    """x less its DC and what lies below cutoff Hz: its mean removed, then a Butterworth
    high-pass of the given order run forward and backward (scipy's sosfiltfilt: zero phase,
    -6 dB at cutoff, 2 x order poles in all). Same length."""
    from scipy.signal import butter, sosfiltfilt

    x = np.asarray(x, dtype=np.float64)
    sos = butter(order, cutoff, "highpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, x - x.mean())


def _decode_for_cache(item):
    """Worker of Pool._build: (path, (int16 samples, LUFS, bandwidth) or None, why)."""
    path, sample_rate, bw, cutoff = item
    try:
        x = decode_file(path, sample_rate)
    except Exception as e:  # soundfile raises several kinds
        return path, None, "decode error: %s" % e
    if len(x) < 0.05 * sample_rate:
        return path, None, "shorter than 50 ms"
    if cutoff:
        x = high_pass(x, sample_rate, cutoff)
    lufs = loudness(x, sample_rate)
    if not np.isfinite(lufs):
        return path, None, "silent"
    if bw is None:
        bw = estimate_bandwidth(x, sample_rate)
    q = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    return path, (q, lufs, bw), None


class Pool:
    """The decoded audio of one class and split: a read-only int16 memmap.

    Attributes: name, paths, offsets, lengths (samples), bandwidth (Hz per file), loudness
    (LUFS per whole file), audio (the memmap), sample_rate. Files that are silent or shorter
    than 50 ms are left out when the cache is built. A name "CLASS-SPLIT" high-passes the
    files at HIGH_PASS_HZ[CLASS] (high_pass) as they are decoded; another name leaves them
    as they are.
    """

    def __init__(self, name, files, corpus_root, cache_dir=None,
                 sample_rate=SAMPLE_RATE, bandwidths=None, verbose=True, jobs=None):
        self.name = name
        self.sample_rate = sample_rate
        cache_dir = cache_dir or default_cache_dir()
        os.makedirs(cache_dir, exist_ok=True)
        stamp = [[os.path.relpath(p, corpus_root), os.path.getsize(p),
                  os.stat(p).st_mtime_ns] for p in files]
        key = hashlib.sha1(json.dumps([CACHE_VERSION, sample_rate, os.path.abspath(corpus_root),
                                       stamp]).encode()).hexdigest()[:16]
        base = os.path.join(cache_dir, "%s-%s" % (name.replace("/", "-"), key))
        if not os.path.exists(base + ".json"):
            self._build(base, files, corpus_root, bandwidths or {}, verbose, jobs)
        with open(base + ".json") as f:
            index = json.load(f)
        self.paths = [e["path"] for e in index["files"]]
        self.offsets = np.array([e["offset"] for e in index["files"]], dtype=np.int64)
        self.lengths = np.array([e["length"] for e in index["files"]], dtype=np.int64)
        self.bandwidth = np.array([e["bandwidth"] for e in index["files"]], dtype=np.float64)
        self.loudness = np.array([e["lufs"] for e in index["files"]], dtype=np.float64)
        self.packages = {}
        for k, p in enumerate(self.paths):
            parts = p.replace(os.sep, "/").split("/")
            self.packages.setdefault(parts[1] if len(parts) > 2 else "", []).append(k)
        self.packages = {k: np.array(v, dtype=np.int64) for k, v in self.packages.items()}
        self._package_of = {int(k): pk for pk, v in self.packages.items() for k in v}
        total = int(index["total"])
        self.audio = (np.memmap(base + ".pcm", dtype="<i2", mode="r", shape=(total,))
                      if total else np.zeros(0, dtype="<i2"))

    def _build(self, base, files, corpus_root, bw_table, verbose, jobs):
        cutoff = HIGH_PASS_HZ.get(self.name.split("-")[0])
        items = [(p, self.sample_rate, _bandwidth_lookup(bw_table, corpus_root, p), cutoff)
                 for p in files]
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(items) or 1))
        entries = []
        offset = 0
        skipped = {}
        tmp = base + ".pcm.tmp%d" % os.getpid()
        t0 = time.time()
        pool = None
        if jobs > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(jobs)
            results = pool.imap(_decode_for_cache, items, chunksize=4)
        else:
            results = map(_decode_for_cache, items)
        try:
            with open(tmp, "wb") as out:
                for i, (p, got, why) in enumerate(results):
                    if got is None:
                        skipped[why] = skipped.get(why, 0) + 1
                        if why.startswith("decode"):
                            print("dnr_mix: skipping %s: %s" % (p, why), file=sys.stderr)
                        continue
                    q, lufs, bw = got
                    out.write(q.tobytes())
                    entries.append({"path": os.path.relpath(p, corpus_root), "offset": offset,
                                    "length": len(q), "bandwidth": bw, "lufs": lufs})
                    offset += len(q)
                    if verbose and (i + 1) % 500 == 0:
                        print("dnr_mix: %s: decoded %d/%d files (%.0f s)"
                              % (self.name, i + 1, len(items), time.time() - t0), file=sys.stderr)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        os.replace(tmp, base + ".pcm")
        with open(base + ".json.tmp", "w") as f:
            json.dump({"version": CACHE_VERSION, "sample_rate": self.sample_rate,
                       "high_pass_hz": cutoff, "total": offset, "skipped": skipped, "files": entries}, f)
        os.replace(base + ".json.tmp", base + ".json")
        if verbose:
            print("dnr_mix: pool %s: %d files, %.2f h, decoded in %.0f s with %d processes%s "
                  "(cache %s.pcm)" % (self.name, len(entries), offset / self.sample_rate / 3600,
                                      time.time() - t0, jobs,
                                      "; skipped %s" % skipped if skipped else "", base),
                  file=sys.stderr)

    def __len__(self):
        return len(self.paths)

    def package_files(self, i):
        """Indices of the files in file i's package (CLASS/PACKAGE/... paths)."""
        return self.packages[self._package_of[int(i)]]

    def hours(self):
        return float(self.lengths.sum()) / self.sample_rate / 3600

    def segment(self, i, start, length):
        """Samples [start, start+length) of file i as float64."""
        a = self.offsets[i] + start
        # one pass, the same values as astype(np.float64) * (1 / 32768): int16 to float64 is
        # exact, so only the product rounds (the cast took a fifth of MixSampler's time)
        return np.multiply(self.audio[a:a + length], 1.0 / 32768.0, dtype=np.float64)


def load_pools(corpus_root, split="train", cache_dir=None,
               sample_rate=SAMPLE_RATE, verbose=True, jobs=None):
    """{class: Pool} for the three classes of one split ("train" or "validation").

    The files are the manifest's file list for that class and split when the manifest has
    one (files missing on disk are skipped with a count); otherwise every audio file in the
    split's package folders (packages_for)."""
    if split not in ("train", "validation"):
        raise ValueError("split must be train or validation, got %r" % split)
    manifest = load_manifest(corpus_root)
    pools = {}
    for cls in ("speech", "music", "sfx"):
        listed = [f for f in manifest["files"] if f["class"] == cls and f["split"] == split]
        if listed:
            files = [os.path.join(corpus_root, f["path"]) for f in listed]
            gone = [p for p in files if not os.path.exists(p)]
            if gone:
                print("dnr_mix: %s/%s: %d files of the manifest are not on disk (e.g. %s)"
                      % (cls, split, len(gone), gone[0]), file=sys.stderr)
            files = [p for p in files if os.path.exists(p)]
            where = "the manifest's %s/%s files" % (cls, split)
        else:
            pk = packages_for(corpus_root, cls, split, manifest)
            files = pool_files(corpus_root, cls, pk)
            where = "packages %s" % (", ".join(pk) or "none")
        pool = Pool("%s-%s" % (cls, split), files, corpus_root, cache_dir, sample_rate,
                    manifest["bandwidth"], verbose, jobs)
        if len(pool) == 0:
            raise RuntimeError("no usable %s audio for split %s under %s (%s)"
                               % (cls, split, corpus_root, where))
        pools[cls] = pool
    return pools


# ---------------------------------------------------------------------------------
# mixing

@dataclasses.dataclass
class MixConfig:
    sample_rate: int = SAMPLE_RATE
    levels: dict = dataclasses.field(default_factory=lambda: {
        "speech": -17.0, "sfx": -21.0, "music": -24.0, "background": -29.0})
    layer_range_lu: float = 2.0        # uniform offset per layer and mixture
    clip_range_lu: float = 1.0         # uniform offset per clip around the layer level
    mix_lufs: float = -27.0
    clips_per_minute: dict = dataclasses.field(default_factory=lambda: {
        "music": 7.0, "speech": 8.0, "sfx": 12.0, "background": 6.0})
    background: bool = True
    gap_min_s: float = 1.0
    gap_scale_s: float = 2.0
    speech_utterance_s: tuple = (2.0, 12.0)   # None: one file per speech clip (DnR)
    speech_pause_s: tuple = (0.15, 0.6)
    sfx_whole_below_s: float = 4.0            # 0: cut every sfx as DnR does
    fade_in_ms: float = 5.0
    fade_out_ms: float = 20.0
    bandlimit: bool = True             # music/sfx clips band-limited like the speech pool
    bandlimit_prob: float = None       # None: the speech pool's narrowband share
    narrowband_below_hz: float = 17600.0
    mix_bandlimit_prob: float = 0.0    # whole mixture (training)
    gain_db: float = 0.0               # +- random gain on the normalised mixture (training)
    speech_speed_prob: float = 0.0     # a speech clip sped up or slowed down ...
    speech_speed_range: tuple = SPEED_RANGE  # ... by one of speed_downs(*this)
    speech_eq_prob: float = 0.0        # a speech clip through a random EQ (draw_eq)
    speech_formant_prob: float = 0.0   # a speech clip's formants moved (formant_shift) ...
    speech_formant_range: tuple = FORMANT_RANGE  # ... by a ratio drawn in this range
    speech_reverb_prob: float = 0.0    # a speech clip in a random room (draw_reverb)
    speech_package_power: float = 1.0  # a speech clip's first file: its package drawn with
    # probability proportional to (files in it) ** this, then a file of it uniformly; 1:
    # every file equally likely (DnR), 0: every package equally likely (training only)

    def layers(self):
        return [l for l in ("music", "speech", "sfx", "background")
                if l != "background" or self.background]


def narrowband_rates(speech_pool, cfg):
    """Rates of the narrowband speech files (one entry per file)."""
    rates = []
    for bw in speech_pool.bandwidth:
        if bw < cfg.narrowband_below_hz:
            r = rate_for_bandwidth(bw, cfg.sample_rate)
            if r is not None:
                rates.append(r)
    return rates


def _zt_poisson(rng, mean):
    if mean <= 0:
        return 0
    for _ in range(1000):
        n = int(rng.poisson(mean))
        if n > 0:
            return n
    return 1


def _speech_utterance(rng, pool, first, room, cfg):
    """Parts [(file, file_start, length, offset in the clip)] of one speech clip: the file
    `first`, then (if cfg.speech_utterance_s) more files of the same package after short
    pauses until a length drawn from that range is reached, as long as it fits in `room`."""
    sr = cfg.sample_rate
    parts = [(first, 0, int(pool.lengths[first]), 0)]
    total = parts[0][2]
    if not cfg.speech_utterance_s:
        return parts, total
    lo, hi = cfg.speech_utterance_s
    want = int(rng.uniform(lo, hi) * sr)
    same = pool.package_files(first)
    for _ in range(64):
        if total >= want:
            break
        j = int(same[int(rng.integers(len(same)))])
        pause = int(rng.uniform(*cfg.speech_pause_s) * sr)
        n = int(pool.lengths[j])
        if total + pause + n > min(room, want + n // 2):
            break
        parts.append((j, 0, n, total + pause))
        total += pause + n
    return parts, total


def _package_file(rng, pool, power):
    """A file of `pool` whose package is drawn with probability proportional to its file
    count ** power, the file then uniformly within the package."""
    groups = list(pool.packages.values())
    w = np.array([len(g) for g in groups], dtype=np.float64) ** power
    g = groups[int(rng.choice(len(groups), p=w / w.sum()))]
    return int(g[int(rng.integers(len(g)))])


def plan_mixture(rng, pools, cfg, seconds, nb_rates=None):
    """Draw the clips of one mixture: a list of event dicts (no audio is touched).

    Each event: layer, stem, cls (pool), parts [(file, file_start, length, offset in the
    clip)], start (samples in the mixture), length (samples), lufs (its target level),
    low_rate (band-limit rate or None), fade_in, fade_out (bools: a file was cut there),
    speed_down (the clip plays speed_down / SPEED_UP times as fast; SPEED_UP: unchanged),
    src_length (its length before the speed change), eq (draw_eq's EQ or None), formant
    (formant_shift's ratio or None), reverb (draw_reverb's room or None). Speed, formants,
    room and EQ (training only: cfg.speech_speed_prob, cfg.speech_formant_prob,
    cfg.speech_reverb_prob, cfg.speech_eq_prob; applied in that order) touch speech clips
    alone, and draw nothing from rng when their probability is 0, so fixed mixtures stay as
    they were.

    Two departures from DnR's rules, because our pools hold short files (speech and sfx
    files have a median of 1.5 s, where DnR's LibriSpeech utterances average about 12 s and
    its FSD50K clips several seconds): a speech clip strings files of one package together
    with short pauses into an utterance of cfg.speech_utterance_s seconds, so speech covers
    about as much of a mixture as in DnR; and an sfx file no longer than
    cfg.sfx_whole_below_s is used whole instead of cut to about half its length.
    """
    sr = cfg.sample_rate
    total = int(round(seconds * sr))
    if nb_rates is None:
        nb_rates = narrowband_rates(pools["speech"], cfg)
    p_band = cfg.bandlimit_prob
    if p_band is None:
        p_band = len(nb_rates) / max(1, len(pools["speech"]))
    if not cfg.bandlimit or not nb_rates:
        p_band = 0.0
    downs = speed_downs(*cfg.speech_speed_range) if cfg.speech_speed_prob > 0 else SPEED_DOWN
    events = []
    for layer in cfg.layers():
        stem, cls = LAYERS[layer]
        pool = pools[cls]
        level = cfg.levels[layer] + rng.uniform(-cfg.layer_range_lu, cfg.layer_range_lu)
        n = _zt_poisson(rng, cfg.clips_per_minute[layer] * seconds / 60.0)
        cursor = 0
        for _ in range(n):
            if layer == "speech" and cfg.speech_package_power != 1.0:
                i = _package_file(rng, pool, cfg.speech_package_power)
            else:
                i = int(rng.integers(len(pool)))
            flen = int(pool.lengths[i])
            room = total - cursor
            whole = cls == "sfx" and flen <= cfg.sfx_whole_below_s * sr
            if layer == "speech" or whole:
                if room <= flen:  # an utterance (a short effect) must fit whole
                    continue
            elif room <= 0.3 * flen or room < 0.1 * sr:
                continue
            gap = cfg.gap_min_s + cfg.gap_scale_s * abs(rng.standard_normal())
            start = cursor + int(gap * sr)
            speed, eq, src_length, formant, reverb = SPEED_UP, None, None, None, None
            if layer == "speech":
                parts, length = _speech_utterance(rng, pool, i, total - cursor, cfg)
                src_length = length
                if cfg.speech_speed_prob > 0 and rng.random() < cfg.speech_speed_prob:
                    d = downs[int(rng.integers(len(downs)))]
                    n2 = -(-length * SPEED_UP // d)
                    if n2 < total - cursor:  # the slower utterance must fit too
                        speed, length = d, n2
                if cfg.speech_eq_prob > 0 and rng.random() < cfg.speech_eq_prob:
                    eq = draw_eq(rng)
                if cfg.speech_formant_prob > 0 and rng.random() < cfg.speech_formant_prob:
                    formant = draw_formant(rng, *cfg.speech_formant_range)
                if cfg.speech_reverb_prob > 0 and rng.random() < cfg.speech_reverb_prob:
                    reverb = draw_reverb(rng)
                start = max(cursor, min(start, total - length))
            elif whole:
                start = max(cursor, min(start, total - flen))
                parts, length = [(i, 0, flen, 0)], flen
            else:
                start = max(cursor, min(start, total - 2 * sr))
                max_len = min(flen, total - start)
                length = int(np.clip(rng.normal(max_len / 2.0, max_len / 10.0),
                                     min(0.1 * sr, max_len), max_len))
                off = int(rng.integers(0, flen - length + 1)) if cls == "music" else 0
                parts = [(i, off, length, 0)]
            low_rate = None
            if layer != "speech" and p_band > 0 and rng.random() < p_band:
                low_rate = int(nb_rates[int(rng.integers(len(nb_rates)))])
            f0, off0, n0, _ = parts[0]
            events.append({
                "layer": layer, "stem": stem, "cls": cls,
                "parts": [tuple(int(v) for v in p) for p in parts],
                "paths": [pool.paths[p[0]] for p in parts], "start": int(start),
                "length": int(length),
                "lufs": float(level + rng.uniform(-cfg.clip_range_lu, cfg.clip_range_lu)),
                "low_rate": low_rate, "speed_down": int(speed), "eq": eq, "formant": formant,
                "reverb": reverb,
                "src_length": int(src_length if src_length is not None else length),
                "fade_in": len(parts) == 1 and off0 > 0,
                "fade_out": len(parts) == 1 and off0 + n0 < int(pool.lengths[f0])})
            cursor = start + length
    return events


def _clip_audio(pools, ev, cfg):
    """The event's audio at its target loudness (float64), or None if silent."""
    sr = cfg.sample_rate
    pool = pools[ev["cls"]]
    if len(ev["parts"]) == 1:
        f, off, n, _ = ev["parts"][0]
        x = pool.segment(f, off, n)
    else:
        x = np.zeros(ev.get("src_length", ev["length"]))
        for f, off, n, at in ev["parts"]:
            x[at:at + n] = pool.segment(f, off, n)
    if ev.get("speed_down", SPEED_UP) != SPEED_UP:
        x = speed_change(x, ev["speed_down"])
        x = np.pad(x, (0, max(0, ev["length"] - len(x))))[:ev["length"]]
    if ev.get("formant"):
        x = formant_shift(x, sr, ev["formant"])
    if ev.get("reverb"):
        x = apply_reverb(x, sr, ev["reverb"])
    if ev.get("eq"):
        x = apply_eq(x, sr, ev["eq"])
    if ev["low_rate"]:
        x = band_limit(x, sr, ev["low_rate"])
    for flag, ms, sl in (("fade_in", cfg.fade_in_ms, slice(None)),
                         ("fade_out", cfg.fade_out_ms, slice(None, None, -1))):
        if ev[flag]:
            k = min(len(x), int(ms * 1e-3 * sr))
            if k > 0:
                ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k))
                x[sl][:k] *= ramp
    lufs = loudness(x, sr)
    if not np.isfinite(lufs):
        return None
    return x * 10.0 ** ((ev["lufs"] - lufs) / 20.0)


def render(pools, events, cfg, start, length):
    """Stems [len(SOURCES), length] (float64) of the window [start, start+length) of a plan.

    Every clip that overlaps the window is normalised on its whole segment, so a crop has
    the levels the full mixture has there. Also returns the events that were rendered.
    """
    stems = np.zeros((len(SOURCES), length))
    used = []
    for ev in events:
        a, b = ev["start"], ev["start"] + ev["length"]
        if b <= start or a >= start + length:
            continue
        x = _clip_audio(pools, ev, cfg)
        if x is None:
            continue
        lo, hi = max(a, start), min(b, start + length)
        stems[SOURCES.index(ev["stem"]), lo - start:hi - start] += x[lo - a:hi - a]
        used.append(ev)
    return stems, used


def finish_mixture(stems, cfg, rng=None):
    """Normalise the mixture to cfg.mix_lufs (+- cfg.gain_db at random), the same gain on
    every stem; optional whole-mixture band-limit. Returns (mix float32 [L], stems float32
    [S, L], info dict) with mix == the float32 sum of the float32 stems; None if silent."""
    sr = cfg.sample_rate
    info = {}
    if rng is not None and cfg.mix_bandlimit_prob > 0 and rng.random() < cfg.mix_bandlimit_prob:
        r = LOW_RATES[int(rng.integers(len(LOW_RATES) - 1))]
        stems = np.stack([band_limit(s, sr, r) for s in stems])
        info["mix_low_rate"] = r
    mix = stems.sum(axis=0)
    lufs = loudness(mix, sr)
    if not np.isfinite(lufs):
        return None
    target = cfg.mix_lufs
    if rng is not None and cfg.gain_db > 0:
        target += rng.uniform(-cfg.gain_db, cfg.gain_db)
    g = 10.0 ** ((target - lufs) / 20.0)
    stems32 = (stems * g).astype(np.float32)
    mix32 = stems32.astype(np.float64).sum(axis=0).astype(np.float32)
    info.update({"premaster_mix_lufs": lufs, "mix_lufs_target": target, "master_gain_db":
                 20 * math.log10(g)})
    return mix32, stems32, info


class MixSampler:
    """Training mixtures drawn on the fly from the train pools.

    example(index) is a pure function of (seed, index): a 60 s DnR timeline is planned with
    numpy's generator seeded by [seed, index], a crop of crop_seconds is taken at a random
    position (clips overlapping it are normalised on their whole segments), and the crop is
    normalised to -27 LUFS with a random gain of +-cfg.gain_db. So a resumed run draws the
    same data as an uninterrupted one, and data-loader workers need no shared state.
    batch(step, batch_size) holds examples step*batch_size .. +batch_size-1.
    """

    def __init__(self, corpus_root, split="train", seed=0, crop_seconds=6.0,
                 cache_dir=None, config=None, pools=None, timeline_seconds=60.0, verbose=True,
                 jobs=None):
        self.cfg = config or MixConfig(mix_bandlimit_prob=0.1, gain_db=6.0)
        self.seed = int(seed)
        self.crop = int(round(crop_seconds * self.cfg.sample_rate))
        self.timeline_seconds = max(float(timeline_seconds), crop_seconds)
        self.pools = pools or load_pools(corpus_root, split, cache_dir, self.cfg.sample_rate,
                                         verbose, jobs)
        self.nb_rates = narrowband_rates(self.pools["speech"], self.cfg)

    def example(self, index):
        """(mix float32 [L], stems float32 [3, L] in SOURCES order)."""
        rng = np.random.default_rng([self.seed, int(index)])
        sr = self.cfg.sample_rate
        total = int(round(self.timeline_seconds * sr))
        for _ in range(20):
            events = plan_mixture(rng, self.pools, self.cfg, self.timeline_seconds, self.nb_rates)
            for _ in range(4):
                start = int(rng.integers(0, total - self.crop + 1))
                stems, used = render(self.pools, events, self.cfg, start, self.crop)
                if not used:
                    continue
                out = finish_mixture(stems, self.cfg, rng)
                if out is not None:
                    return out[0], out[1]
        raise RuntimeError("could not draw a non-silent mixture (pools too small or silent?)")

    def batch(self, step, batch_size):
        """(mix [B, L], stems [B, 3, L]) float32 numpy."""
        ex = [self.example(step * batch_size + i) for i in range(batch_size)]
        return np.stack([e[0] for e in ex]), np.stack([e[1] for e in ex])


def make_mixture(pools, cfg, seconds, rng):
    """One full mixture (validation): (mix, stems, meta) or None if silent."""
    events = plan_mixture(rng, pools, cfg, seconds)
    total = int(round(seconds * cfg.sample_rate))
    stems, used = render(pools, events, cfg, 0, total)
    pre = {s: loudness(stems[k], cfg.sample_rate) for k, s in enumerate(SOURCES)}
    out = finish_mixture(stems, cfg, None)
    if out is None:
        return None
    mix, stems32, info = out
    post = {s: loudness(stems32[k], cfg.sample_rate) for k, s in enumerate(SOURCES)}
    meta = dict(info)
    meta.update({
        "seconds": seconds, "sample_rate": cfg.sample_rate,
        "mix_lufs": loudness(mix, cfg.sample_rate),
        "stem_lufs_premaster": pre, "stem_lufs": post,
        "events": [{"layer": ev["layer"], "stem": ev["stem"], "start": ev["start"],
                    "length": ev["length"], "lufs": ev["lufs"], "low_rate": ev["low_rate"],
                    "files": [[p, part[1], part[2], part[3]] for p, part in
                              zip(ev["paths"], ev["parts"])]} for ev in used]})
    return mix, stems32, meta


def make_validation_set(out_dir, n, seed, corpus_root, seconds=60.0,
                        cache_dir=None, config=None, pools=None, verbose=True, jobs=None,
                        split="validation"):
    """Write n fixed validation mixtures from the validation pools, DnR layout:
    out_dir/NNNN/{mix,music,speech,sfx}.wav (float32 WAV) and meta.json (clips, levels).
    Track i depends only on (seed, i). Returns the track folders.

    split="train" mixes the training pools the same way (no training augmentation): fixed
    mixtures of what the model was trained on, scored next to the validation set they tell
    underfitting (both low) from a gap between the pools (validation alone low)."""
    cfg = config or MixConfig()
    pools = pools or load_pools(corpus_root, split, cache_dir, cfg.sample_rate, verbose,
                                jobs)
    os.makedirs(out_dir, exist_ok=True)
    tracks = []
    for i in range(n):
        rng = np.random.default_rng([int(seed), i, 0x5EED])
        out = None
        while out is None:
            out = make_mixture(pools, cfg, seconds, rng)
        mix, stems, meta = out
        meta.update({"seed": int(seed), "index": i, "split": split})
        d = os.path.join(out_dir, "%04d" % i)
        os.makedirs(d, exist_ok=True)
        write_wav(os.path.join(d, "mix.wav"), mix, cfg.sample_rate)
        for k, s in enumerate(SOURCES):
            write_wav(os.path.join(d, s + ".wav"), stems[k], cfg.sample_rate)
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        tracks.append(d)
        if verbose:
            print("dnr_mix: %s: mix %.2f LUFS; stems before the master gain: %s"
                  % (d, meta["mix_lufs"], ", ".join("%s %.1f" % (s, v) for s, v in
                                                     meta["stem_lufs_premaster"].items())),
                  file=sys.stderr)
    return tracks


# ---------------------------------------------------------------------------------
# synthetic pool (tests)

def make_synthetic_pool(root, seed=0, sample_rate=SAMPLE_RATE):
    """A tiny corpus in the real layout: espeak-ng speech (22.05 kHz, some through 8 kHz),
    chords and arpeggios for music, noise bursts, clicks and sweeps for sfx; two packages
    per class for train and one for validation, with a manifest.json in the schema of
    training/corpus/build_corpus.py (the parts dnr_mix reads)."""
    import shutil
    import subprocess
    import tempfile
    import soundfile

    rng = np.random.default_rng(seed)
    sr = sample_rate
    manifest = {"classes": {}, "validation_packages": {}, "files": []}
    espeak = shutil.which("espeak-ng")
    sentences = [
        "The quick brown fox jumps over the lazy dog.", "Where did you put the keys?",
        "We have to leave before the storm arrives.", "Nobody expected the answer to be so simple.",
        "Turn left at the old church, then keep going.", "I told you this would happen.",
        "Can you hear the music from the other room?", "The train to the city leaves at nine.",
        "Please stay calm and wait for instructions.", "That is not what I meant at all.",
        "Seven hundred soldiers crossed the river.", "Listen carefully, I will say this once.",
    ]
    voices = ["en", "en-us", "fr", "de", "es", "it", "nl", "ru"]

    def save(cls, pkg, name, x, ext):
        d = os.path.join(root, cls, pkg)
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, name + ext)
        x = np.clip(x, -1, 1)
        fmt, subtype = ("OGG", "VORBIS") if ext == ".ogg" else ("FLAC", "PCM_16")
        # Written in blocks: libsndfile 1.2's Vorbis encoder crashes on one long write.
        with soundfile.SoundFile(p, "w", sr, 1, subtype, format=fmt) as f:
            for a in range(0, len(x), 16384):
                f.write(x[a:a + 16384])
        return p

    def speech_clip(text, voice, speed, pitch, narrow):
        if espeak:
            with tempfile.TemporaryDirectory() as td:
                w = os.path.join(td, "s.wav")
                subprocess.run([espeak, "-v", voice, "-s", str(speed), "-p", str(pitch),
                                "-w", w, text], check=True, capture_output=True)
                a, r = read_wav(w)
            x = resample(a[0], r, sr)
        else:  # vowel-like formant buzz
            t = np.arange(int(sr * (1.0 + len(text) / 20.0))) / sr
            f0 = 110 + 40 * np.sin(2 * np.pi * 3 * t)
            x = np.sign(np.sin(2 * np.pi * np.cumsum(f0) / sr)) * (0.5 + 0.5 * np.sin(
                2 * np.pi * 4 * t))
        if narrow:
            x = band_limit(x, sr, 8000)
        return 0.3 * x / (np.abs(x).max() + 1e-9)

    def music_clip(seconds):
        t = np.arange(int(sr * seconds)) / sr
        x = np.zeros_like(t)
        beat = rng.uniform(0.25, 0.6)
        root_note = rng.integers(40, 60)
        for k in range(int(seconds / beat)):
            chord = root_note + np.array([0, 4, 7, 12]) + rng.choice([0, 5, 7, -3])
            a = int(k * beat * sr)
            b = min(len(t), a + int(beat * 1.5 * sr))
            tt = t[a:b] - t[a]
            env = np.exp(-tt * rng.uniform(1.5, 5))
            for note in chord:
                f = 440.0 * 2 ** ((note - 69) / 12.0)
                for h in (1, 2, 3):
                    x[a:b] += env * np.sin(2 * np.pi * f * h * tt) / (h * len(chord))
        return 0.3 * x / (np.abs(x).max() + 1e-9)

    def sfx_clip():
        kind = rng.integers(4)
        n = int(sr * rng.uniform(0.3, 3.0))
        t = np.arange(n) / sr
        if kind == 0:  # noise burst, band-passed by a random one-pole pair
            x = rng.standard_normal(n) * np.exp(-t * rng.uniform(1, 8))
            x = np.cumsum(x) * 0.02 if rng.random() < 0.5 else x
        elif kind == 1:  # click train
            x = np.zeros(n)
            x[rng.integers(0, n, size=rng.integers(3, 30))] = rng.uniform(0.3, 1.0)
            x = np.convolve(x, np.exp(-np.arange(200) / 30.0), mode="same")
        elif kind == 2:  # sweep
            f = np.linspace(rng.uniform(200, 2000), rng.uniform(2000, 12000), n)
            x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(n)
        else:  # rumble with crackle
            x = np.cumsum(rng.standard_normal(n)) * 0.01
            x -= np.convolve(x, np.ones(400) / 400, mode="same")
            x += (rng.random(n) < 0.002) * rng.standard_normal(n)
        return 0.5 * x / (np.abs(x).max() + 1e-9)

    splits = {"train": ["pkg-a", "pkg-b"], "validation": ["pkg-v"]}
    for cls in ("speech", "music", "sfx"):
        manifest["classes"][cls] = {k: {"packages": {"%s-%s" % (cls, p): {} for p in v}}
                                    for k, v in splits.items()}
        manifest["validation_packages"][cls] = ["%s-pkg-v" % cls]

    def record(p, cls, pkg, split, bw, x):
        manifest["files"].append({"path": os.path.relpath(p, root), "class": cls,
                                  "package": "%s-%s" % (cls, pkg), "split": split,
                                  "duration": len(x) / sr, "bandwidth_hz": bw})
    for split, pkgs in splits.items():
        for pkg in pkgs:
            n_sp = 24 if split == "train" else 10
            for j in range(n_sp):
                narrow = rng.random() < 0.4
                x = speech_clip(sentences[rng.integers(len(sentences))],
                                voices[rng.integers(len(voices))], int(rng.integers(130, 200)),
                                int(rng.integers(20, 80)), narrow)
                p = save("speech", "speech-" + pkg, "line%02d" % j, x, ".ogg" if j % 2 else ".flac")
                record(p, "speech", pkg, split, 4000.0 if narrow else 11025.0, x)
            for j in range(4 if split == "train" else 2):
                x = music_clip(rng.uniform(20, 50))
                p = save("music", "music-" + pkg, "track%02d" % j, x, ".ogg")
                record(p, "music", pkg, split, 20000.0, x)
            for j in range(30 if split == "train" else 12):
                x = sfx_clip()
                p = save("sfx", "sfx-" + pkg, "fx%02d" % j, x, ".flac")
                record(p, "sfx", pkg, split, 20000.0, x)
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return root


# ---------------------------------------------------------------------------------
# command line

def main(argv=None):
    ap = argparse.ArgumentParser(description="DnR-style mixtures from the corpus pools.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--corpus", required=True, metavar="CORPUS",
                       help="the pools: build_corpus.py's --out folder")
        p.add_argument("--cache", default=None, help="decode cache folder (default %s)"
                       % default_cache_dir())
        p.add_argument("--jobs", type=int, default=None,
                       help="decoding processes when the cache is built (default: all cores)")
        p.add_argument("--no-background", action="store_true",
                       help="leave out DnR's background layer (sfx pool at -29 LUFS)")

    p = sub.add_parser("validation", help="write fixed validation mixtures (DnR layout)")
    p.add_argument("out")
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--split", choices=("validation", "train"), default="validation",
                   help="pools to mix (train: fixed mixtures of the training pools, to "
                   "measure the fit)")
    common(p)
    p = sub.add_parser("samples", help="write a few training draws (mix + stems) to listen to")
    p.add_argument("out")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=6.0)
    common(p)
    p = sub.add_parser("stats", help="pool sizes and the speech pool's narrowband share")
    common(p)
    p = sub.add_parser("synth-pool", help="write a small synthetic corpus (tests)")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("selftest", help="check loudness() against BS.1770's figures")
    p.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)

    if args.cmd == "selftest":
        fails = loudness_selftest(args.seed) + augment_selftest(args.seed)
        print("\n".join(fails) if fails else "dnr_mix selftest: loudness, augmentation ok")
        return 1 if fails else 0
    if args.cmd == "synth-pool":
        make_synthetic_pool(args.out, args.seed)
        print("wrote a synthetic corpus to %s" % args.out)
        return 0
    cfg = MixConfig(background=not args.no_background)
    if args.cmd == "validation":
        tracks = make_validation_set(args.out, args.n, args.seed, args.corpus, args.seconds,
                                     args.cache, cfg, jobs=args.jobs, split=args.split)
        print("wrote %d fixed mixtures of the %s pools to %s" % (len(tracks), args.split,
                                                                  args.out))
    elif args.cmd == "samples":
        cfg.mix_bandlimit_prob, cfg.gain_db = 0.1, 6.0
        sampler = MixSampler(args.corpus, "train", args.seed, args.seconds, args.cache, cfg,
                             jobs=args.jobs)
        os.makedirs(args.out, exist_ok=True)
        for i in range(args.n):
            mix, stems = sampler.example(i)
            d = os.path.join(args.out, "%04d" % i)
            os.makedirs(d, exist_ok=True)
            write_wav(os.path.join(d, "mix.wav"), mix, cfg.sample_rate)
            for k, s in enumerate(SOURCES):
                write_wav(os.path.join(d, s + ".wav"), stems[k], cfg.sample_rate)
        print("wrote %d training draws to %s" % (args.n, args.out))
    elif args.cmd == "stats":
        for split in ("train", "validation"):
            pools = load_pools(args.corpus, split, args.cache, cfg.sample_rate, jobs=args.jobs)
            for cls, pool in pools.items():
                line = "%-10s %-6s %6d files %7.2f h" % (split, cls, len(pool), pool.hours())
                if cls == "speech":
                    nb = narrowband_rates(pool, cfg)
                    rates = {r: nb.count(r) for r in sorted(set(nb))}
                    line += "  narrowband %.0f%% %s" % (100.0 * len(nb) / max(1, len(pool)),
                                                        rates)
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
