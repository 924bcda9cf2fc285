#!/usr/bin/python3
"""A film's soundtrack through `mrxcl separate`: batches, pipeline stages, memory, PyTorch.

    /usr/bin/python3 bench/film.py [--minutes 10] [--layout stereo|5.1] [--bin build/mrxcl]
        [--models default,authors] [--batches 1,2,4] [--baseline BIN] [--device D]
        [--torch-device cpu|cuda] [--no-torch] [--deadline EPOCH] [--out bench/results]

Writes a synthetic soundtrack at 48 kHz in blocks (PCM-24 WAV; WAVE_FORMAT_EXTENSIBLE for
5.1, RF64 past 4 GiB; never held whole): dialogue (voiced pulse trains through formant
filters, syllable envelopes, pauses between lines), music (chords of harmonic notes with
note envelopes, a kick and a hi-hat on the beat, in cues with silences between them) and
effects (filtered noise bursts, impacts with loud peaks, an ambience bed), at film levels:
dialogue carries the loudness (the whole comes out near -24 to -27 LUFS), music sits under
it, impacts peak near -3 dBFS. Stereo: dialogue in the middle, music and effects panned.
5.1 (WAV order FL FR FC LFE BL BR): dialogue in the centre with a little in FL/FR, music
in the fronts and (quieter) the surrounds, effects spread over the five full-band
channels, LFE only the low sines of kicks and impacts and a low rumble.

Then, per model (`default`: the built-in one; `authors`: random weights in the authors'
configuration, from compare.py's make_authors_model), it runs `mrxcl separate --stats`
with the K the program chooses (no --batch), with --batch 1 and each of --batches, and
--baseline BIN (an mrxcl from before --batch/--stats, timed as a whole), each after a
warm-up on the first 32 s (kernels compiled and cached once, not in the figures); the
peak resident memory comes from wait4() on each child. The same audio goes through the
PyTorch reference (tools/mrx_ref.py, float32, no_grad, all cores or --torch-device cuda)
in the same 30 s pieces with 2 s cross-fades, read and resampled piece by piece (FFT
resampling; the stems are computed, cross-faded and consistent, but not resampled back
or written). One JSON record and a PNG (real-time factor against K; stage seconds as
stacked bars) go to --out as film-DATE.json/.png (`film.py --replot RECORD.json` draws a
record's PNG again). --deadline (seconds since the epoch)
skips the runs that would end past it, by the pace of the runs before (bench/gpu/run.sh).
"""

import argparse
import bisect
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)

RATE = 48000
LAYOUTS = {"stereo": 2, "5.1": 6}
FL, FR, FC, LFE, BL, BR = range(6)


# ---------------------------------------------------------------------------------
# The soundtrack: events scheduled once from a seed, each rendered whole when a block
# first needs it (and kept while later blocks still do), so blocks join seamlessly.

def db(x):
    return 10.0 ** (x / 20.0)


def fast_len(n):
    """The next power of two: pocketfft on a prime length is 100 times slower."""
    return 1 << max(0, int(n - 1).bit_length())


def shaped_noise(rng, n, lo, hi, tilt=0.0):
    """White noise band-limited to [lo, hi] Hz in the frequency domain, with a spectral
    tilt in dB per octave above lo; unit RMS."""
    N = fast_len(n)
    X = np.fft.rfft(rng.standard_normal(N))
    f = np.fft.rfftfreq(N, 1.0 / RATE)
    g = ((f >= lo) & (f <= hi)).astype(np.float64)
    if tilt:
        g *= (np.maximum(f, lo) / lo) ** (tilt / 6.02)
    y = np.fft.irfft(X * g, N)[:n]
    return y / (np.sqrt(np.mean(y * y)) + 1e-12)


def envelope(n, attack, release):
    """Linear attack, flat, linear release (in samples), length n."""
    e = np.ones(n)
    a, r = min(attack, n // 2), min(release, n // 2)
    if a:
        e[:a] = np.linspace(0, 1, a, endpoint=False)
    if r:
        e[n - r:] = np.linspace(1, 0, r)
    return e


def render_speech_line(rng, n):
    """One line of dialogue: syllables of a voiced pulse train (f0 gliding 90-230 Hz)
    through three formant resonances that change per syllable, some with a fricative
    onset; short gaps between words. Unit-ish RMS, mono."""
    y = np.zeros(n)
    f0_base = rng.uniform(90, 230)
    pos = 0
    while pos < n - RATE // 10:
        syl = int(rng.uniform(0.12, 0.32) * RATE)
        syl = min(syl, n - pos)
        t = np.arange(syl) / RATE
        f0 = f0_base * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6)))
        phase = np.cumsum(f0 / RATE)
        src = np.diff(np.floor(phase), prepend=0.0)          # one impulse per period
        N = fast_len(syl + syl // 4)                            # room for the resonances' tails
        X = np.fft.rfft(src, N)
        f = np.fft.rfftfreq(N, 1.0 / RATE)
        H = np.zeros_like(f)
        for fc, bw, g in ((rng.uniform(300, 900), 80, 1.0), (rng.uniform(900, 2400), 120, 0.6),
                          (rng.uniform(2400, 3400), 200, 0.3)):
            H += g / (1 + ((f - fc) / bw) ** 2)
        H /= 1 + f / 4000.0
        v = np.fft.irfft(X * H, N)[:syl]
        v *= np.sin(np.pi * np.arange(syl) / syl) ** 0.7      # syllable envelope
        v /= np.sqrt(np.mean(v * v)) + 1e-12
        if rng.random() < 0.35:                                 # fricative onset
            m = min(int(0.06 * RATE), syl)
            v[:m] += 0.5 * shaped_noise(rng, m, 3000, 9000) * envelope(m, m // 4, m // 2)
        y[pos:pos + syl] += v
        pos += syl + (int(rng.uniform(0.02, 0.2) * RATE) if rng.random() < 0.3 else 0)
    return y


def harmonic_table(partials=6, size=4096):
    ph = np.arange(size) / size
    return sum(np.sin(2 * np.pi * k * ph) / k for k in range(1, partials + 1))


TABLE = harmonic_table()


def render_music_bar(rng, n, chord, channels):
    """One bar of four beats: each note of the chord a harmonic wavetable tone struck on
    every beat (5 ms attack, exponential decay), a kick (sine sweep 120->45 Hz) on each
    beat and a hi-hat (first-differenced noise) between beats. Returns (full-band
    [notes..] panned per channel, kick) as arrays."""
    t = np.arange(n) / RATE
    beat = n / RATE / 4
    tb = np.mod(t, beat)
    env = np.minimum(tb / 0.005, 1) * np.exp(-tb / rng.uniform(0.25, 0.6))
    out = np.zeros((channels, n))
    for i, hz in enumerate(chord):
        tone = TABLE[(np.floor(hz * t * TABLE.size).astype(np.int64)) & (TABLE.size - 1)] * env
        pan = (i + 0.5) / len(chord)                            # spread across the front
        if channels == 2:
            out[0] += math.cos(pan * math.pi / 2) * tone
            out[1] += math.sin(pan * math.pi / 2) * tone
        else:
            out[FL] += math.cos(pan * math.pi / 2) * tone
            out[FR] += math.sin(pan * math.pi / 2) * tone
            d = int(0.02 * RATE)                                # surrounds: a late, quieter copy
            out[BL if i % 2 else BR, d:] += 0.4 * tone[:-d]
    kick = np.sin(2 * np.pi * (45 * tb + 75 * 0.04 * (1 - np.exp(-tb / 0.04)))) * np.exp(-tb / 0.15)
    hat_t = np.mod(t + beat / 2, beat)
    hat = np.diff(rng.standard_normal(n), prepend=0.0) * np.exp(-hat_t / 0.02) * 0.15
    return out, kick, hat


def schedule(seconds, seed):
    """The events of every class, sorted by start: (start_frame, frames, kind, seed, params)."""
    rng = np.random.default_rng(seed)
    ev = []
    # Dialogue: lines of 1.5-7 s with pauses of 0.3-4 s, in scenes with longer gaps.
    t = rng.uniform(0.5, 2)
    while t < seconds:
        if rng.random() < 0.08:
            t += rng.uniform(5, 20)                             # a scene without dialogue
            continue
        d = rng.uniform(1.5, 7)
        ev.append((t, d, "speech", int(rng.integers(1 << 31)), {"gain": db(rng.uniform(-3, 3)),
                                                                "pan": rng.uniform(-0.15, 0.15)}))
        t += d + rng.uniform(0.3, 4)
    # Music: cues of 20-120 s (bars at 80-130 bpm) with 5-60 s between them.
    t = rng.uniform(0, 10)
    roots = [110 * 2 ** (k / 12) for k in range(12)]
    while t < seconds:
        cue = rng.uniform(20, 120)
        bar = 4 * 60.0 / rng.uniform(80, 130)
        level = db(rng.uniform(-4, 2))
        end = min(t + cue, seconds)
        while t < end:
            r = roots[int(rng.integers(12))]
            chord = [r, r * 2 ** (rng.choice([3, 4]) / 12), r * 1.5, r * 2 * 2 ** (rng.choice([0, 2, 5]) / 12)]
            ev.append((t, bar, "music", int(rng.integers(1 << 31)), {"chord": chord, "gain": level}))
            t += bar
        t += rng.uniform(5, 60)
    # Effects: bursts (filtered noise) and impacts, a few a minute, and an ambience bed.
    t = rng.uniform(0, 5)
    while t < seconds:
        if rng.random() < 0.35:
            ev.append((t, 0.6, "impact", int(rng.integers(1 << 31)), {"gain": db(rng.uniform(-10, -4))}))
        else:
            lo = rng.uniform(80, 3000)
            ev.append((t, rng.uniform(0.3, 3), "burst", int(rng.integers(1 << 31)),
                       {"lo": lo, "hi": lo * rng.uniform(1.5, 6), "gain": db(rng.uniform(-32, -20))}))
        t += rng.exponential(8)
    t = 0.0
    while t < seconds:
        d = rng.uniform(6, 15)
        ev.append((t, d, "ambience", int(rng.integers(1 << 31)), {"gain": db(rng.uniform(-50, -42))}))
        t += d * 0.7
    ev = [(int(s * RATE), max(1, int(d * RATE)), k, sd, p) for s, d, k, sd, p in ev]
    ev.sort(key=lambda e: e[0])
    return ev


def spread_gains(rng, channels):
    """Gains of an effect over the channels: a pan in stereo; one or two of the five
    full-band speakers in 5.1 (never the LFE), power-normalised."""
    if channels == 2:
        p = rng.uniform(0, 1)
        return np.array([math.cos(p * math.pi / 2), math.sin(p * math.pi / 2)])
    g = np.zeros(6)
    spk = rng.choice([FL, FR, FC, BL, BR], size=int(rng.integers(1, 3)), replace=False)
    g[spk] = rng.uniform(0.5, 1, size=len(spk))
    return g / np.sqrt(np.sum(g * g))


def render_event(e, channels):
    """[channels, frames] of one event, placed and levelled for the layout."""
    start, n, kind, seed, p = e
    rng = np.random.default_rng(seed)
    out = np.zeros((channels, n))
    if kind == "speech":
        s = render_speech_line(rng, n) * db(-29) * p["gain"]
        if channels == 2:
            out[0], out[1] = s * (0.707 - p["pan"]), s * (0.707 + p["pan"])
        else:
            out[FC] = s
            out[FL] = out[FR] = 0.12 * s
    elif kind == "music":
        full, kick, hat = render_music_bar(rng, n, p["chord"], channels)
        g = db(-42) * p["gain"]
        out += g * full
        kick *= g * db(6)
        hat *= g
        if channels == 2:
            out += kick + hat * np.array([[0.8], [0.6]])
        else:
            out[FL] += 0.5 * kick + 0.8 * hat
            out[FR] += 0.5 * kick + 0.6 * hat
            out[LFE] += 1.4 * kick
    elif kind == "impact":
        t = np.arange(n) / RATE
        thump = np.sin(2 * np.pi * rng.uniform(40, 80) * t) * np.exp(-t / 0.12)
        click = np.zeros(n)
        m = int(0.006 * RATE)
        click[:m] = shaped_noise(rng, m, 500, 12000) * np.exp(-np.arange(m) / (0.0015 * RATE))
        debris = shaped_noise(rng, n, 800, 8000) * np.exp(-t / 0.2) * 0.25
        s = (0.6 * thump + 0.8 * click + debris) * p["gain"]
        out += spread_gains(rng, channels)[:, None] * s
        if channels == 6:
            out[LFE] += 0.8 * thump * p["gain"]
    elif kind == "burst":
        s = shaped_noise(rng, n, p["lo"], p["hi"]) * p["gain"]
        s *= envelope(n, int(rng.uniform(0.005, 0.3) * n), int(rng.uniform(0.2, 0.7) * n))
        out += spread_gains(rng, channels)[:, None] * s
    elif kind == "ambience":
        env = np.sin(np.pi * np.arange(n) / n) ** 2
        bed = shaped_noise(rng, n, 60, 6000, tilt=-4.5) * env * p["gain"]
        for c in range(channels):                               # decorrelated by a shift each
            if c == LFE and channels == 6:
                out[c] = shaped_noise(rng, n, 20, 100) * env * p["gain"] * 2
            elif not (channels == 6 and c == FC):
                out[c] = np.roll(bed, c * n // 7)
    return out


def write_soundtrack(path, seconds, layout, seed=1, block_s=10.0, subtype="PCM_24"):
    """Writes the soundtrack block by block; returns facts about it (peak, classes' time)."""
    import soundfile as sf

    channels = LAYOUTS[layout]
    frames = int(round(seconds * RATE))
    events = schedule(seconds, seed)
    starts = [e[0] for e in events]
    longest = max(e[1] for e in events)
    size = frames * channels * (3 if subtype == "PCM_24" else 4)
    fmt = "RF64" if size > 4 * 2 ** 30 - 4096 else ("WAVEX" if channels > 2 else "WAV")
    cache = {}
    peak = 0.0
    block = int(block_s * RATE)
    with sf.SoundFile(path, "w", RATE, channels, subtype=subtype, format=fmt) as f:
        for b0 in range(0, frames, block):
            b1 = min(b0 + block, frames)
            x = np.zeros((channels, b1 - b0))
            lo = bisect.bisect_left(starts, b0 - longest)
            hi = bisect.bisect_left(starts, b1)
            for i in range(lo, hi):
                s, n = events[i][0], events[i][1]
                if s + n <= b0:
                    continue
                if i not in cache:
                    cache[i] = render_event(events[i], channels)
                a, z = max(s, b0), min(s + n, b1)
                x[:, a - b0:z - b0] += cache[i][:, a - s:z - s]
            cache = {i: v for i, v in cache.items() if events[i][0] + events[i][1] > b1}
            peak = max(peak, float(np.max(np.abs(x))))
            f.write(np.clip(x, -1, 1).T.astype(np.float32))
    kinds = {}
    for e in events:
        kinds[e[2]] = kinds.get(e[2], 0) + 1
    return {"seconds": frames / RATE, "channels": channels, "layout": layout, "rate": RATE,
            "format": fmt, "subtype": subtype, "bytes": os.path.getsize(path),
            "peak_dbfs": round(20 * math.log10(max(peak, 1e-9)), 2), "events": kinds, "seed": seed}


# ---------------------------------------------------------------------------------
# Runs

def run_child(cmd, log, env=None, timeout=None):
    """Runs cmd with stderr and stdout to log; returns (exit code, wall s, peak RSS bytes
    of that child alone, from wait4)."""
    with open(log, "w") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_maxrss * 1024


def parse_log(text):
    """What any mrxcl version prints with -v: the separated seconds, kernel setup, loudness."""
    r = {}
    m = re.search(r"separated ([\d.]+) s of audio \((\d+) ch, (\d+) Hz\) in ([\d.]+) s", text)
    if m:
        r["separate_s_printed"] = float(m.group(4))
    m = re.search(r"kernel build and device setup: ([\d.]+) s", text)
    if m:
        r["setup_s_printed"] = float(m.group(1))
    m = re.search(r"input loudness (-?[\d.]+) LUFS", text)
    if m:
        r["input_lufs"] = float(m.group(1))
    m = re.search(r"on (.+)$", text.split("separated ")[-1].splitlines()[0]) if "separated " in text else None
    if m:
        r["device"] = m.group(1).strip()
    return r


class Runner:
    def __init__(self, a, tmp):
        self.a, self.tmp = a, tmp
        self.pace = {}          # model -> seconds of wall per audio second, the slowest seen
        self.skipped = []

    def fits(self, model, audio_s, what):
        """False (and noted) when the run would end past --deadline by the pace so far."""
        if not self.a.deadline:
            return True
        left = self.a.deadline - time.time()
        need = self.pace.get(model, 0) * audio_s
        if left < 5 or need > left:
            self.skipped.append({"run": what, "model": model, "needed_s": round(need, 1),
                                 "left_s": round(left, 1)})
            print("  skipped %s (%s): would need ~%.0f s, %.0f s left" % (what, model, need, left), flush=True)
            return False
        return True

    def note_pace(self, model, wall, audio_s):
        self.pace[model] = max(self.pace.get(model, 0), wall / audio_s)

    def timeout(self):
        return None if not self.a.deadline else max(1, self.a.deadline - time.time())

    def mrxcl(self, binary, inp, model, batch=None, stats=True, label=""):
        stems = os.path.join(self.tmp, "stems")
        cmd = ["nice", "-n", str(self.a.nice)] if self.a.nice else []
        cmd += [binary, "separate", inp, "-o", stems, "-v", "--progress", "none"]
        if model:
            cmd += ["-m", model]
        if self.a.device:
            cmd += ["--device", self.a.device]
        if batch is not None:
            cmd += ["--batch", str(batch)]
        sp = os.path.join(self.tmp, "stats.json")
        if stats:
            cmd += ["--stats", sp]
        log = os.path.join(self.tmp, "log-%s.txt" % re.sub(r"[^\w.-]", "_", label))
        rc, wall, rss = run_child(cmd, log, timeout=self.timeout())
        text = open(log, errors="replace").read()
        shutil.rmtree(stems, ignore_errors=True)
        if self.a.keep_logs:
            shutil.copy(log, os.path.join(self.a.keep_logs, os.path.basename(log)))
        r = {"label": label, "command": " ".join(cmd), "exit": rc, "wall_s": round(wall, 3),
             "peak_rss_bytes_wait4": rss}
        r.update(parse_log(text))
        if rc != 0:
            r["error"] = text[-1500:]
            print("  %s failed (exit %d):\n%s" % (label, rc, text[-800:]), file=sys.stderr, flush=True)
            return r
        if stats:
            with open(sp) as f:
                r["stats"] = json.load(f)
            os.unlink(sp)
        return r


def torch_worker(argv):
    """film.py --torch-worker MODEL INPUT DEVICE: the reference over the input in 30 s
    pieces, printing one JSON line. Its own process, so that its peak RSS is its own."""
    model_path, inp, dev = argv
    import soundfile as sf
    import torch
    import mrx_io
    import mrx_ref
    from ref_separate import chunk_plan, consistent

    if dev == "cpu":
        torch.set_num_threads(os.cpu_count())
    t_start = time.perf_counter()
    model, config = mrx_ref.load_model(model_path)
    model = model.to(dev)
    mode = mrx_io.model_consistency(model_path)
    sr = config["sample_rate"]

    def sync():
        if dev.startswith("cuda"):
            torch.cuda.synchronize()

    def net(x):
        with torch.no_grad():
            y = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev))  # [C, S, L]
            sync()
            return y.transpose(0, 1).float().cpu().numpy()

    t0 = time.perf_counter()
    net(np.random.default_rng(1).standard_normal((1, 5 * sr)).astype(np.float32) * 0.05)  # warm-up
    warm = time.perf_counter() - t0
    with sf.SoundFile(inp) as f:
        rin, frames_in, C = f.samplerate, f.frames, f.channels
        frames = int(round(frames_in * sr / rin))
        overlap = 2 * sr
        plan = chunk_plan(frames, 30 * sr, overlap)
        w = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2
        t_read = t_net = t_join = 0.0
        for k, (a, b) in enumerate(plan):
            t0 = time.perf_counter()
            ia = int(math.floor(a * rin / sr))
            ib = min(int(math.ceil(b * rin / sr)), frames_in)
            f.seek(ia)
            x = f.read(ib - ia, dtype="float32", always_2d=True).T
            n = b - a                                       # FFT resampling to the model's rate
            X = np.fft.rfft(x, axis=-1)
            Y = np.zeros((C, n // 2 + 1), dtype=X.dtype)
            m = min(X.shape[-1], Y.shape[-1])
            Y[:, :m] = X[:, :m]
            x = np.fft.irfft(Y, n, axis=-1) * (n / x.shape[-1])
            t1 = time.perf_counter()
            y = net(x)                                      # [S, C, n]
            t2 = time.perf_counter()
            y = consistent(y, x, mode, config["sources"])
            if k > 0:
                y[..., :overlap] *= w
            if k + 1 < len(plan):
                y[..., n - overlap:] *= 1.0 - w
            t3 = time.perf_counter()
            t_read, t_net, t_join = t_read + t1 - t0, t_net + t2 - t1, t_join + t3 - t2
    total = time.perf_counter() - t_start
    import resource
    rec = {"engine": "pytorch", "version": torch.__version__, "device": dev,
           "device_name": torch.cuda.get_device_name() if dev.startswith("cuda") else
           "CPU, %d threads" % torch.get_num_threads(),
           "audio_seconds": frames_in / rin, "channels": C, "pieces": len(plan),
           "seconds": {"warmup": warm, "read_resample": t_read, "network": t_net, "join": t_join,
                       "total": total},
           "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if dev.startswith("cuda"):
        rec["device_bytes"] = torch.cuda.max_memory_allocated()
    else:
        from compare import blas_library
        rec["blas"] = blas_library()
    rec["x_real_time"] = {"network": rec["audio_seconds"] / t_net,
                          "end_to_end": rec["audio_seconds"] / (total - warm)}
    print(json.dumps(rec))


def run_torch(runner, model_name, model_path, inp, audio_s):
    a = runner.a
    if not runner.fits("torch-" + model_name, audio_s, "pytorch"):
        return None
    cmd = ["nice", "-n", str(a.nice)] if a.nice else []
    cmd += [a.python, os.path.abspath(__file__), "--torch-worker", model_path, inp, a.torch_device]
    log = os.path.join(runner.tmp, "torch-%s.txt" % model_name)
    rc, wall, rss = run_child(cmd, log, timeout=runner.timeout())
    text = open(log, errors="replace").read()
    if a.keep_logs:
        shutil.copy(log, os.path.join(a.keep_logs, os.path.basename(log)))
    if rc != 0:
        print("  pytorch (%s) failed (exit %d):\n%s" % (model_name, rc, text[-800:]), file=sys.stderr)
        return {"model": model_name, "exit": rc, "error": text[-1500:]}
    rec = json.loads([l for l in text.splitlines() if l.startswith("{")][-1])
    rec["model"] = model_name
    rec["wall_s"] = round(wall, 3)
    runner.note_pace("torch-" + model_name, wall, audio_s)
    return rec


def cut(src, dst, seconds):
    import soundfile as sf
    with sf.SoundFile(src) as f:
        x = f.read(min(f.frames, int(seconds * f.samplerate)), dtype="float32", always_2d=True)
        sf.write(dst, x, f.samplerate, subtype="FLOAT", format=f.format)


def summary_row(r):
    s = r.get("stats")
    if s:
        return "%-9s %-22s K=%-2d %7.1f s %7.2fx  dev %6.1f s busy %3.0f%%  rss %5.0f MiB  dev mem %5.0f MiB" % (
            r["model"], r["label"], s["batch"], s["seconds"]["total"], s["x_real_time"]["end_to_end"],
            s["seconds"]["device"], 100 * s["device_busy"], s["peak_rss_bytes"] / 2 ** 20,
            s["device_bytes"] / 2 ** 20)
    if "wall_s" in r and r.get("exit") == 0:
        return "%-9s %-22s      %7.1f s %7.2fx  rss %5.0f MiB" % (
            r["model"], r["label"], r["wall_s"], r["audio_seconds"] / r["wall_s"],
            r["peak_rss_bytes_wait4"] / 2 ** 20)
    return "%-9s %-22s failed" % (r["model"], r["label"])


def plot(rec, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = rec["models"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    colors = dict(zip(models, ["tab:blue", "tab:orange", "tab:green"]))
    for m in models:
        pts = sorted({(r["stats"]["batch"], r["stats"]["x_real_time"]["end_to_end"])
                      for r in rec["runs"] if r["model"] == m and "stats" in r})
        if pts:
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colors[m], label="mrxcl, %s" % m)
        for r in rec["runs"]:
            if r["model"] == m and r["label"].startswith("chosen") and "stats" in r:
                ax1.annotate("chosen", (r["stats"]["batch"], r["stats"]["x_real_time"]["end_to_end"]),
                             textcoords="offset points", xytext=(5, 5), fontsize=8)
        for r in rec["runs"]:
            if r["model"] == m and r["label"] == "baseline" and r.get("exit") == 0:
                ax1.axhline(r["audio_seconds"] / r["wall_s"], color=colors[m], ls="--",
                            label="baseline %s, %s" % (rec.get("baseline_commit") or "", m))
        for t in rec.get("pytorch", []):
            if t and t.get("model") == m and "x_real_time" in t:
                ax1.axhline(t["x_real_time"]["end_to_end"], color=colors[m], ls=":",
                            label="PyTorch (%s), %s" % (t["device"], m))
    ax1.set_xlabel("K (pieces per device batch)")
    ax1.set_ylabel("x real time, end to end")
    ax1.set_xscale("log", base=2)
    ks = sorted({r["stats"]["batch"] for r in rec["runs"] if "stats" in r})
    if ks:
        ax1.set_xticks(ks)
        ax1.set_xticklabels([str(k) for k in ks])
        ax1.set_xlim(ks[0] / 1.5, ks[-1] * 1.5)
    ax1.set_title("%.1f min %s, %s" % (rec["input"]["seconds"] / 60, rec["input"]["layout"], rec["device"] or ""),
                  fontsize=9)
    ax1.legend(fontsize=7)
    stages = ["first_pass", "setup", "read", "prepare", "device", "finish", "write"]
    bars = [r for r in rec["runs"] if "stats" in r]
    labels = ["%s\n%s" % (r["model"], r["label"].replace(" ", "\n", 1)) for r in bars]
    bottom = np.zeros(len(bars))
    for st in stages:
        v = np.array([r["stats"]["seconds"].get(st, 0) for r in bars])
        ax2.bar(range(len(bars)), v, bottom=bottom, label=st)
        bottom += v
    ax2.plot(range(len(bars)), [r["stats"]["seconds"]["total"] for r in bars], "k_", ms=30, mew=2,
             label="wall (total)")
    # the baseline (no stage times) and PyTorch's loop beside them
    others = [(r["model"], "baseline\n(wall)", r["wall_s"]) for r in rec["runs"]
              if r["label"] == "baseline" and r.get("exit") == 0]
    for t in rec.get("pytorch", []):
        if t and "seconds" in t:
            others.append((t["model"], "PyTorch\n%s" % t["device"], t["seconds"]["total"] - t["seconds"]["warmup"]))
    for i, (m, lab, v) in enumerate(others):
        ax2.bar(len(bars) + i, v, color="0.6" if lab.startswith("base") else "0.3",
                label=None if i else "whole run, no stages")
        labels.append("%s\n%s" % (m, lab))
    ax2.set_xticks(range(len(labels)))
    ax2.set_xticklabels(labels, fontsize=7)
    ax2.set_ylabel("seconds (stages overlap in the pipeline)")
    ax2.set_title("stage seconds per run", fontsize=9)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--torch-worker"]:
        return torch_worker(argv[1:])
    if argv[:1] == ["--replot"]:                # film.py --replot RECORD.json: its PNG again
        with open(argv[1]) as f:
            plot(json.load(f), argv[1][:-len(".json")] + ".png")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="stereo")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "mrxcl"))
    ap.add_argument("--models", default="default,authors", help="default (built-in), authors, or model files")
    ap.add_argument("--batches", default="", help="more K to run, e.g. 1,2,4 (1 and the chosen K always run)")
    ap.add_argument("--baseline", help="an mrxcl from before --batch/--stats, timed as a whole")
    ap.add_argument("--baseline-commit", default="", help="what --baseline was built from, for the record")
    ap.add_argument("--default-model", help="file for 'default' (a build without the model embedded)")
    ap.add_argument("--device", help="mrxcl --device (index or part of its name)")
    ap.add_argument("--torch-device", default="cpu")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--python", default=sys.executable, help="Python for the PyTorch reference")
    ap.add_argument("--nice", type=int, default=0, help="run the engines under nice -n N")
    ap.add_argument("--deadline", type=float, help="seconds since the epoch: skip runs that would end later")
    ap.add_argument("--input", help="separate this file instead of writing a soundtrack")
    ap.add_argument("--keep-logs", help="copy each run's log into this folder")
    ap.add_argument("--tmp", help="folder for the soundtrack and stems (default: a new one in $TMPDIR)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--name", help="file name stem of the record (default film-DATE)")
    a = ap.parse_args(argv)
    if a.keep_logs:
        os.makedirs(a.keep_logs, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="mrxcl-film-", dir=a.tmp)
    try:
        return bench(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(a, tmp):
    t_all = time.time()
    load_before = os.getloadavg()
    inp = a.input or os.path.join(tmp, "film.wav")
    if a.input:
        import soundfile as sf
        info = sf.info(a.input)
        facts = {"seconds": info.frames / info.samplerate, "channels": info.channels, "rate": info.samplerate,
                 "layout": {2: "stereo", 6: "5.1"}.get(info.channels, "%d ch" % info.channels),
                 "file": os.path.abspath(a.input)}
    else:
        t0 = time.time()
        facts = write_soundtrack(inp, a.minutes * 60, a.layout)
        facts["write_s"] = round(time.time() - t0, 2)
        print("soundtrack: %.1f min %s, %.0f MB %s %s, peak %.1f dBFS, written in %.1f s" % (
            facts["seconds"] / 60, a.layout, facts["bytes"] / 1e6, facts["format"], facts["subtype"],
            facts["peak_dbfs"], facts["write_s"]), flush=True)
    audio_s = facts["seconds"]
    warm_in = os.path.join(tmp, "warm.wav")
    cut(inp, warm_in, 32)

    models = []
    for m in a.models.split(","):
        if m == "default":
            models.append(("default", a.default_model))
        elif m == "authors":
            from compare import make_authors_model
            models.append(("authors", make_authors_model(os.path.join(tmp, "authors-random.safetensors"))))
        else:
            models.append((os.path.basename(m), m))
    extra = sorted({int(k) for k in a.batches.split(",") if k.strip()})

    runner = Runner(a, tmp)
    runs, torch_recs = [], []
    for name, path in models:
        def one(label, batch=None, binary=a.bin, stats=True):
            if not runner.fits(name, audio_s, label):
                return None
            if not a.no_warmup:
                runner.mrxcl(binary, warm_in, path, batch, stats=False, label="warm-up %s %s" % (name, label))
            r = runner.mrxcl(binary, inp, path, batch, stats=stats, label=label)
            r["model"], r["audio_seconds"] = name, audio_s
            if r.get("exit") == 0:
                runner.note_pace(name, r["wall_s"], audio_s)
            runs.append(r)
            print("  " + summary_row(r), flush=True)
            return r

        chosen = one("chosen K")
        k_chosen = chosen["stats"]["batch"] if chosen and "stats" in chosen else None
        if chosen and k_chosen:
            chosen["label"] = "chosen K=%d" % k_chosen
        for k in sorted(set([1] + extra)):
            if k != k_chosen:
                one("K=%d" % k, batch=k)
        if a.baseline:
            one("baseline", binary=a.baseline, stats=False)
        if not a.no_torch:
            mp = path
            if mp is None:
                mp = a.default_model or os.path.join(ROOT, "models", "default.safetensors")
            t = run_torch(runner, name, mp, inp, audio_s)
            if t and "error" in t:
                torch_recs.append(t)
            elif t:
                torch_recs.append(t)
                print("  %-9s pytorch (%s) %7.1f s %7.2fx  network %.1f s  rss %.0f MiB" % (
                    name, t.get("device"), t.get("seconds", {}).get("total", 0),
                    t.get("x_real_time", {}).get("end_to_end", 0), t.get("seconds", {}).get("network", 0),
                    t.get("peak_rss_bytes", 0) / 2 ** 20), flush=True)

    # mrxcl against PyTorch, per model: the wall of the whole program (the chosen K) against
    # the reference's whole loop, and the device stage against the network alone.
    ratios = {}
    for t in torch_recs:
        ch = [r for r in runs if r["model"] == t["model"] and r["label"].startswith("chosen") and "stats" in r]
        if ch and "seconds" in t:
            s = ch[0]["stats"]["seconds"]
            ratios[t["model"]] = {
                "end_to_end": (t["seconds"]["total"] - t["seconds"]["warmup"]) / s["total"],
                "network_vs_device": t["seconds"]["network"] / s["device"]}
    base = {}
    for name, _ in models:
        b = [r for r in runs if r["model"] == name and r["label"] == "baseline" and r.get("exit") == 0]
        ch = [r for r in runs if r["model"] == name and r["label"].startswith("chosen") and r.get("exit") == 0]
        if b and ch:
            base[name] = b[0]["wall_s"] / ch[0]["wall_s"]
    lufs = next((r["input_lufs"] for r in runs if "input_lufs" in r), None)
    facts["integrated_lufs"] = lufs
    dev = next((r["stats"]["device"] for r in runs if "stats" in r), None)
    rec = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
           "cpu": cpu_name(), "cpu_count": os.cpu_count(), "load_before": load_before,
           "device": dev, "input": facts, "models": [m for m, _ in models],
           "mrxcl": {"bin": a.bin, "version": version(a.bin)},
           "baseline_commit": a.baseline_commit, "runs": runs, "pytorch": torch_recs,
           "pytorch_over_mrxcl": ratios, "baseline_over_chosen": base, "skipped": runner.skipped,
           "bench_seconds": round(time.time() - t_all, 1), "load_after": os.getloadavg()}
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, a.name or "film-%s" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(stem + ".json", "w") as f:
        json.dump(rec, f, indent=1)
    try:
        plot(rec, stem + ".png")
    except ImportError as e:
        print("no plot (%s)" % e, file=sys.stderr)
    for name, r in ratios.items():
        print("%s: PyTorch / mrxcl end to end %.2f, network / device %.2f" % (
            name, r["end_to_end"], r["network_vs_device"]))
    for name, r in base.items():
        print("%s: baseline / chosen K wall %.2f" % (name, r))
    print("written %s.json and .png (%.0f s)" % (stem, rec["bench_seconds"]))
    return 0


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
