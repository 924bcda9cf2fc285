#!/usr/bin/python3
"""Score MRX separations of a folder laid out like Divide and Remaster (DnR).

    eval.py DIR --mrxcl build/mrxcl [-m MODEL] [--device D] [--chunk S [--overlap S]]
                [--loudness on|off] [--consistency MODE] [--limit N] [--json OUT]
    eval.py DIR --reference -m MODEL [--device cpu|cuda] [--chunk S [--overlap S]]
                [--loudness on|off] [--consistency MODE] [--limit N] [--json OUT]
    eval.py DIR --oracle [-m MODEL] [--limit N] [--json OUT]
    eval.py --selftest

DIR holds track folders (at any depth; DnR's tr/cv/tt or one of them) each with mix.wav and
the references music.wav, speech.wav, sfx.wav. For each track the mixture is separated by the
mrxcl binary (`mrxcl separate DIR/track/mix.wav -o TMP -m MODEL`, stems named after the
model's sources as `mrxcl info` prints them; without -m, the model embedded in the binary) or, with --reference, by the PyTorch reference
module (mrx_ref.load_model, float32). Both bring each mixture to -27 LUFS first and undo the
gain on the stems, as `mrxcl separate` does by default (--loudness off: the bare network;
DnR's and our validation mixtures are at -27 LUFS already, so it changes little there);
--consistency all|music_sfx shares the residual among the stems as `mrxcl separate
--consistency` does; pass (the authors' script) leaves the network's output; the default,
model, takes the mode the model file names, as `mrxcl separate` does by default (pass
for a file that names none; the results name the mode used). Each track is separated whole, as one sequence (as the authors and
DnR score), unless --chunk S asks for pieces of S seconds cross-faded over --overlap S
seconds, the way `mrxcl separate` handles long inputs (its default is --chunk 30
--overlap 2; ref_separate.chunked() is the same in Python): that measures what pieces
cost. Each stem is
scored with SI-SDR against its reference, next to the mixture used as the estimate; the
improvement is the difference. Printed: mean and median per stem; --json writes every
track's numbers too. Stems whose reference is silent have no SI-SDR and are left out of the
statistics (the count says how many were scored).

--oracle scores no network: it masks the mixture with the ideal ratio mask computed from the
references, at the STFT resolutions and hop of MODEL (without -m, the authors'
configuration), and sums the resolutions as MRX does, each with weight 1/R (OracleSeparator).
That is how far masking at those resolutions can go, so a model's score next to it says
whether its STFT or its training limits it.

WAV files are read with tools/audio_io.read_wav (numpy only).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tools")]  # training/, the product's tools/
from audio_io import read_wav  # noqa: E402
from ref_separate import at_level, chunk_plan, chunked, consistent, seconds_to_frames  # noqa: E402

REFERENCE_NAMES = ("music", "speech", "sfx")


def si_sdr(estimate, reference):
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019).

    estimate, reference: arrays of the same shape, [samples] or [channels, samples]. Each
    channel of each signal is mean-centred (its mean over samples subtracted); the channels
    are then taken together as one vector, so a track gets one value over all its channels:
        e = estimate - mean(estimate),  s = reference - mean(reference)
        alpha  = <e, s> / <s, s>
        target = alpha * s
        SI-SDR = 10 * log10( ||target||^2 / ||e - target||^2 )
    Computed in float64. NaN when the reference is silent (<s, s> = 0); +inf when the
    estimate is an exact scaled copy of the reference.
    """
    e = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(reference, dtype=np.float64)
    if e.shape != s.shape:
        raise ValueError("estimate %s and reference %s differ in shape" % (e.shape, s.shape))
    e = (e - e.mean(axis=-1, keepdims=True)).ravel()
    s = (s - s.mean(axis=-1, keepdims=True)).ravel()
    ss = float(np.dot(s, s))
    if ss == 0.0:
        return float("nan")
    target = (float(np.dot(e, s)) / ss) * s
    noise = e - target
    nn_ = float(np.dot(noise, noise))
    tt = float(np.dot(target, target))
    if nn_ == 0.0:
        return float("inf")
    if tt == 0.0:
        return float("-inf")
    return 10.0 * np.log10(tt / nn_)


GAP_FRAME_S = 0.05      # activity is judged on 50 ms frames of the reference
GAP_BELOW_DB = -50.0    # a frame this far below the reference's loudest frame is a gap


def gap_error(estimate, reference, rate):
    """How much of an estimate's SI-SDR error lies in the reference's silences.

    The reference is cut into GAP_FRAME_S frames (channels together); a frame whose mean
    energy is GAP_BELOW_DB or more below the loudest frame's is a gap (the stem is absent
    there: between speech utterances, before the music starts). Returns (gap share of the
    error energy, SI-SDR counting only the error outside the gaps), with si_sdr's centring
    and projection; the second is what the estimate would score were it silent in the gaps
    and unchanged elsewhere, the most that pushing absent stems to silence (train.py
    --silent-weight) could gain on this track. (nan, nan) for a silent reference."""
    e = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(reference, dtype=np.float64)
    if e.ndim == 1:
        e, s = e[None], s[None]
    e = e - e.mean(axis=-1, keepdims=True)
    s = s - s.mean(axis=-1, keepdims=True)
    ss = float((s * s).sum())
    if ss == 0.0:
        return float("nan"), float("nan")
    alpha = float((e * s).sum()) / ss
    noise = e - alpha * s
    frame = max(1, int(round(GAP_FRAME_S * rate)))
    n = -(-s.shape[1] // frame)
    pad = n * frame - s.shape[1]
    energy = np.pad((s * s).sum(0), (0, pad)).reshape(n, frame).mean(1)
    gap = np.repeat(energy < energy.max() * 10.0 ** (GAP_BELOW_DB / 10.0), frame)
    gap = gap[:s.shape[1]]
    n_all = float((noise * noise).sum())
    n_gap = float((noise[:, gap] ** 2).sum())
    tt = alpha * alpha * ss
    share = n_gap / n_all if n_all > 0 else 0.0
    active = n_all - n_gap
    if tt == 0.0:
        return share, float("-inf")
    return share, (10.0 * np.log10(tt / active) if active > 0 else float("inf"))


def selftest():
    """Check si_sdr and gap_error against hand-computed values; returns a list of failures."""
    fails = []

    def check(name, got, want, tol=1e-9):
        if isinstance(want, str):
            if got != want:
                fails.append("%s: got %r, want %r" % (name, got, want))
            return
        if not (abs(got - want) <= tol or (np.isinf(want) and got == want)
                or (np.isnan(want) and np.isnan(got))):
            fails.append("%s: got %r, want %r" % (name, got, want))

    # s = [1,-1,1,-1] (mean 0), e = [1,0,1,-2] (mean 0): <e,s> = 4, <s,s> = 4, alpha = 1,
    # target = s, noise = e - s = [0,1,0,-1], ||target||^2 = 4, ||noise||^2 = 2:
    # SI-SDR = 10 log10(4/2) = 3.0103 dB.
    s = np.array([1.0, -1.0, 1.0, -1.0])
    e = np.array([1.0, 0.0, 1.0, -2.0])
    check("hand case", si_sdr(e, s), 10 * np.log10(2.0))
    check("hand case value", si_sdr(e, s), 3.010299956639812)
    # Scale invariance: the estimate's scale and both signals' offsets change nothing.
    check("estimate x 7", si_sdr(7 * e, s), 10 * np.log10(2.0))
    check("offsets", si_sdr(e + 3.0, s - 0.5), 10 * np.log10(2.0))
    # s = [1,2,3] -> [-1,0,1]; e = [0,0,2] -> [-2/3,-2/3,4/3]: <e,s> = 2, <s,s> = 2,
    # alpha = 1, noise = [1/3,-2/3,1/3], ||noise||^2 = 2/3: 10 log10(2 / (2/3)) = 4.7712 dB.
    check("mean-centred case", si_sdr([0.0, 0.0, 2.0], [1.0, 2.0, 3.0]), 10 * np.log10(3.0))
    # Two channels count as one vector, each centred on its own: channel 0 as the hand
    # case, channel 1 exact with an offset: ||target||^2 = 4 + 4, ||noise||^2 = 2.
    e2 = np.stack([e, s + 5.0])
    s2 = np.stack([s, s])
    check("two channels", si_sdr(e2, s2), 10 * np.log10(8.0 / 2.0))
    check("silent reference", si_sdr(e, np.zeros(4)), float("nan"))
    check("exact copy", si_sdr(2 * s, s), float("inf"))
    # Orthogonal estimate: alpha = 0.
    check("orthogonal", si_sdr(np.array([1.0, 1.0, -1.0, -1.0]), s), float("-inf"))
    # gap_error at 16 kHz (50 ms frames of 800 samples): a 100 Hz sine of amplitude 1 in the
    # first second (100 periods), silence in the second. The estimate adds 0.5 cos (same
    # frequency: orthogonal to the sine over whole periods) in the first second and a
    # 250 Hz sine of amplitude 0.25 (250 periods) in the second. Every part has mean 0, so
    # alpha = 1, ||target||^2 = 8000, error 0.25 * 8000 = 2000 in the active second and
    # 0.0625 * 8000 = 500 in the gap: share 500/2500 = 0.2, SI-SDR 10 log10(8000/2500),
    # without the gap's error 10 log10(8000/2000).
    t = np.arange(16000) / 16000.0
    z = np.zeros(16000)
    ref = np.concatenate([np.sin(2 * np.pi * 100 * t), z])
    est = ref + np.concatenate([0.5 * np.cos(2 * np.pi * 100 * t),
                                0.25 * np.sin(2 * np.pi * 250 * t)])
    share, active = gap_error(est, ref, 16000)
    check("gap share", share, 0.2, 1e-9)
    check("gap: SI-SDR", si_sdr(est, ref), 10 * np.log10(8000 / 2500.0), 1e-9)
    check("gap: without the gap's error", active, 10 * np.log10(4.0), 1e-9)
    share, active = gap_error(np.stack([est, ref]), np.stack([ref, ref]), 16000)
    check("gap share, two channels", share, 0.2, 1e-9)
    check("gap: two channels", active, 10 * np.log10(16000 / 2000.0), 1e-9)
    share, active = gap_error(ref, ref, 16000)
    check("gap: exact estimate", share, 0.0)
    check("gap: exact estimate SI-SDR", active, float("inf"))
    check("gap: silent reference", gap_error(est, np.zeros(32000), 16000)[1], float("nan"))
    # chunked (ref_separate.py): the plan, by hand; a separator that works sample by sample
    # (three fixed gains) comes back unchanged whatever the pieces, so the cross-fade
    # weights sum to one everywhere; one that returns ones everywhere, ones.
    check("chunk plan 100/40/10", str(chunk_plan(100, 40, 10)), "[(0, 40), (30, 70), (60, 100)]")
    check("chunk plan 101/40/10", str(chunk_plan(101, 40, 10)),
          "[(0, 40), (30, 70), (60, 100), (90, 101)]")
    check("chunk plan, one piece", str(chunk_plan(100, 0, 0)), "[(0, 100)]")
    rng = np.random.default_rng(12345)
    x = rng.standard_normal((2, 1000))
    gains = lambda v: np.stack([0.5 * v, -0.3 * v, 2.0 * v], axis=1)  # noqa: E731
    for n, o in ((7, 3), (64, 0), (100, 50), (999, 20), (1000, 100), (4000, 10), (0, 0)):
        err = float(np.abs(chunked(gains, x, n, o) - gains(x)).max())
        check("chunked, pieces %d overlap %d: largest error" % (n, o), err, 0.0, 1e-12)
    # consistent: by hand on one sample, stems along axis 1 as the separators give them
    y = np.array([[[1.0], [2.0], [3.0]]])  # [C=1, S=3, L=1]; the input is 9: residual 3
    src = ["music", "speech", "sfx"]
    check("consistent all", str(consistent(y, np.array([[9.0]]), "all", src, axis=1).ravel().tolist()),
          "[2.0, 3.0, 4.0]")
    check("consistent music_sfx",
          str(consistent(y, np.array([[9.0]]), "music_sfx", src, axis=1).ravel().tolist()),
          "[2.5, 2.0, 4.5]")
    check("consistent pass", str(consistent(y, np.array([[9.0]]), "pass", src, axis=1).ravel().tolist()),
          "[1.0, 2.0, 3.0]")
    ones = lambda v: np.ones((v.shape[0], 3, v.shape[1]))  # noqa: E731
    check("chunked ones", float(np.abs(chunked(ones, x, 300, 100) - 1.0).max()), 0.0, 1e-12)
    return fails


# ---------------------------------------------------------------------------------
# separation back ends

def find_tracks(root):
    """Folders under root (root included) holding mix.wav, sorted by relative path."""
    tracks = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if "mix.wav" in filenames:
            tracks.append(dirpath)
    return sorted(tracks, key=lambda p: os.path.relpath(p, root))


def mrxcl_info(binary, model, key):
    """A line of `mrxcl info MODEL` (the embedded model without MODEL): its value after
    "key:", up to any parenthesised remark."""
    r = subprocess.run([binary, "info"] + ([model] if model else []), capture_output=True,
                       text=True, env=_no_model_env() if not model else None)
    if r.returncode != 0:
        raise RuntimeError("%s info %s failed: %s" % (binary, model, r.stderr.strip()))
    for line in r.stdout.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].split("(", 1)[0].strip()
    raise RuntimeError("%s info %s printed no %s line" % (binary, model, key))


def mrxcl_sources(binary, model):
    """The model's source names, from `mrxcl info MODEL`."""
    return [s.strip() for s in mrxcl_info(binary, model, "sources").split(",") if s.strip()]


def _no_model_env():
    """The environment without MRXCL_MODEL, so that mrxcl uses its embedded default."""
    env = dict(os.environ)
    env.pop("MRXCL_MODEL", None)
    return env


class BinarySeparator:
    def __init__(self, binary, model, device=None, chunk_s=0.0, overlap_s=0.0, loudness=True,
                 consistency="pass"):
        self.binary, self.model, self.device = binary, model, device
        self.pieces = ["--chunk", repr(chunk_s)] + (["--overlap", repr(overlap_s)] if chunk_s > 0 else [])
        self.pieces += ["--loudness", "on" if loudness else "off", "--consistency", consistency]
        self.sources = mrxcl_sources(binary, model)
        self.tmp = tempfile.mkdtemp(prefix="mrxcl-eval-")

    def __call__(self, mix_path, mix, rate):
        out = os.path.join(self.tmp, "stems")
        shutil.rmtree(out, ignore_errors=True)
        cmd = [self.binary, "separate", mix_path, "-o", out, "-q"] + self.pieces
        if self.model:
            cmd += ["-m", self.model]
        if self.device is not None:
            cmd += ["--device", str(self.device)]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=_no_model_env() if not self.model else None)
        if r.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode,
                                                            r.stderr.strip()))
        stems = {}
        for s in self.sources:
            x, sr = read_wav(os.path.join(out, s + ".wav"))
            if sr != rate:
                raise RuntimeError("mrxcl wrote %s at %d Hz, the mixture is %d Hz" % (s, sr, rate))
            stems[s] = x
        return stems

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class ReferenceSeparator:
    def __init__(self, model, device=None, chunk_s=0.0, overlap_s=0.0, loudness=True,
                 consistency="pass"):
        import torch
        import mrx_ref

        self.torch = torch
        self.device = torch.device(device or "cpu")
        self.net, self.config = mrx_ref.load_model(model)
        self.net = self.net.to(self.device).eval()
        self.sources = list(self.config["sources"])
        rate = self.config["sample_rate"]
        self.loudness, self.consistency = loudness, consistency
        self.chunk = max(1, seconds_to_frames(chunk_s, rate)) if chunk_s > 0 else 0
        self.overlap = seconds_to_frames(overlap_s, rate) if chunk_s > 0 else 0

    def _run(self, x):
        torch = self.torch
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            return self.net(t).cpu().numpy()  # [C, S, L]

    def __call__(self, mix_path, mix, rate):
        if rate != self.config["sample_rate"]:
            raise RuntimeError("%s is at %d Hz, the model at %d Hz; --reference does not "
                               "resample" % (mix_path, rate, self.config["sample_rate"]))
        sep = lambda x: consistent(chunked(self._run, x, self.chunk, self.overlap),  # noqa: E731
                                   x, self.consistency, self.sources, axis=1)
        y = at_level(sep, mix, rate) if self.loudness else sep(mix)  # whole when chunk is 0
        return {s: y[:, k, :] for k, s in enumerate(self.sources)}

    def close(self):
        pass


class OracleSeparator:
    """Ideal ratio masks at an MRX configuration's resolutions, from the track's references.

    For resolution r (window N_r, hop H) and source s, with S_{s,r} the STFT of reference s
    (the model's: reflect padding, periodic Hann, 1/sqrt(N); torch.stft/istft, which the
    ctest reference_selfcheck holds mrx_ref.stft/istft to), the mask is
        M_{s,r} = |S_{s,r}| / sum_k |S_{k,r}|   (0 in bins where every reference is zero)
    the estimate of s is sum over r of istft(M_{s,r} * X_r) / R, X_r the mixture's STFT:
    the masks are real and non-negative like MRX's decoder masks, and since they sum to 1
    over the sources in every bin, the estimates sum to the mixture. Float64, per channel.
    """

    def __init__(self, config):
        import torch
        import mrx_ref

        self.torch, self.ref = torch, mrx_ref
        self.windows = [int(n) for n in config["window_lengths"]]
        self.hop = int(config["hop"])
        self.rate = int(config["sample_rate"])
        self.sources = list(REFERENCE_NAMES)

    def __call__(self, mix_path, mix, rate):
        if rate != self.rate:
            raise RuntimeError("%s is at %d Hz; the oracle's configuration is at %d Hz"
                               % (mix_path, rate, self.rate))
        refs = []
        for s in self.sources:
            path = os.path.join(os.path.dirname(mix_path), s + ".wav")
            if not os.path.exists(path):
                raise RuntimeError("--oracle needs every reference: %s is missing" % path)
            x, r = read_wav(path)
            if r != rate or x.shape != mix.shape:
                raise RuntimeError("%s: rate or shape differs from mix.wav" % path)
            refs.append(x)
        return self.masked(mix, refs)

    def masked(self, mix, refs):
        """Estimates {source: [C, L]} of mix [C, L] given the references (list of [C, L])."""
        torch, ref = self.torch, self.ref
        x = torch.from_numpy(np.asarray(mix, dtype=np.float64))
        rs = [torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in refs]
        L = x.shape[-1]
        out = [torch.zeros_like(x) for _ in rs]
        for N in self.windows:
            w = ref.hann(N, x.dtype)
            stft = lambda v: torch.stft(v, N, self.hop, window=w, center=True,
                                        pad_mode="reflect", normalized=True,
                                        return_complex=True)
            X = stft(x)
            mags = [stft(v).abs() for v in rs]
            total = sum(mags)
            safe = torch.where(total > 0, total, torch.ones_like(total))
            for k, m in enumerate(mags):
                mask = torch.where(total > 0, m / safe, torch.zeros_like(m))
                out[k] += torch.istft(X * mask, N, self.hop, window=w, center=True,
                                      normalized=True, length=L) / len(self.windows)
        return {s: out[k].numpy() for k, s in enumerate(self.sources)}

    def close(self):
        pass


def oracle_selftest(seed=None):
    """OracleSeparator against what it must do; returns a list of failures (seed printed).

    - the three estimates sum to the mixture (the masks sum to 1 where any source is
      non-zero; the STFT round trip is exact to ~1e-12);
    - a source alone in the mixture comes back whole, and the others as silence;
    - sources in disjoint frequency bands (sines far apart) come back to within the
      leakage of the Hann window (SI-SDR above 30 dB).
    """
    fails = []
    seed = int(np.random.SeedSequence().entropy % (2**32)) if seed is None else seed
    rng = np.random.default_rng(seed)
    sep = OracleSeparator({"window_lengths": [256, 512, 1024], "hop": 128,
                           "sample_rate": 16000})
    L = 8000 + int(rng.integers(0, 500))
    refs = [rng.standard_normal((2, L)) * g for g in (0.5, 1.0, 0.2)]
    mix = sum(refs)
    est = sep.masked(mix, refs)
    err = np.max(np.abs(sum(est.values()) - mix))
    if not err < 1e-9:
        fails.append("estimates do not sum to the mixture: max error %.3g (seed %d)"
                     % (err, seed))
    alone = [refs[0], np.zeros_like(refs[0]), np.zeros_like(refs[0])]
    est = sep.masked(refs[0], alone)
    e0 = np.max(np.abs(est["music"] - refs[0]))
    e1 = max(np.max(np.abs(est["speech"])), np.max(np.abs(est["sfx"])))
    if not (e0 < 1e-9 and e1 == 0.0):
        fails.append("a source alone: error %.3g, others %.3g (seed %d)" % (e0, e1, seed))
    t = np.arange(L) / 16000.0
    f = [300.0 + 50 * rng.random(), 2500.0 + 200 * rng.random(), 6000.0 + 300 * rng.random()]
    refs = [np.stack([np.sin(2 * np.pi * fk * t + rng.random() * 6)] * 2) for fk in f]
    est = sep.masked(sum(refs), refs)
    for k, s in enumerate(sep.sources):
        v = si_sdr(est[s], refs[k])
        if not v > 30.0:
            fails.append("disjoint bands: %s SI-SDR %.1f dB, want > 30 (seed %d)"
                         % (s, v, seed))
    return fails


# ---------------------------------------------------------------------------------
# scoring

def score_tracks(tracks, root, separate, log=sys.stderr):
    """Separate and score each track: list of per-track result dicts."""
    results = []
    for n, td in enumerate(tracks):
        mix_path = os.path.join(td, "mix.wav")
        mix, rate = read_wav(mix_path)
        t0 = time.time()
        est = separate(mix_path, mix, rate)
        dt = time.time() - t0
        rec = {"track": os.path.relpath(td, root) if td != root else ".",
               "seconds": mix.shape[1] / rate, "channels": mix.shape[0],
               "separate_seconds": dt, "stems": {}}
        for s, e in est.items():
            ref_path = os.path.join(td, s + ".wav")
            if not os.path.exists(ref_path):
                continue  # a source this folder has no reference for
            ref, ref_rate = read_wav(ref_path)
            if ref_rate != rate or ref.shape[0] != mix.shape[0]:
                raise RuntimeError("%s: rate or channels differ from mix.wav" % ref_path)
            L = min(ref.shape[1], e.shape[1], mix.shape[1])
            if L != ref.shape[1] or L != e.shape[1]:
                print("eval: %s: lengths differ (mix %d, %s %d, estimate %d); scoring %d"
                      % (rec["track"], mix.shape[1], s, ref.shape[1], e.shape[1], L), file=log)
            est_db = si_sdr(e[:, :L], ref[:, :L])
            mix_db = si_sdr(mix[:, :L], ref[:, :L])
            share, active_db = gap_error(e[:, :L], ref[:, :L], rate)
            rec["stems"][s] = {"estimate": est_db, "mixture": mix_db,
                               "improvement": est_db - mix_db, "gap_share": share,
                               "silent_gaps": active_db - est_db}
        results.append(rec)
        print("eval: [%d/%d] %s (%.1f s, separated in %.1f s): %s"
              % (n + 1, len(tracks), rec["track"], rec["seconds"], dt,
                 "  ".join("%s %.2f (mix %.2f)" % (s, v["estimate"], v["mixture"])
                           for s, v in rec["stems"].items())), file=log)
    return results


def summarize(results):
    """{stem: {kind: {"mean", "median", "count"}}} over tracks with a finite value."""
    stems = []
    for r in results:
        for s in r["stems"]:
            if s not in stems:
                stems.append(s)
    order = [s for s in REFERENCE_NAMES if s in stems] + [s for s in stems
                                                          if s not in REFERENCE_NAMES]
    out = {}
    for s in order:
        out[s] = {}
        for kind in ("estimate", "mixture", "improvement", "gap_share", "silent_gaps"):
            v = np.array([r["stems"][s].get(kind, np.nan) for r in results if s in r["stems"]],
                         dtype=float)
            v = v[np.isfinite(v)]
            out[s][kind] = {"mean": float(v.mean()) if len(v) else float("nan"),
                            "median": float(np.median(v)) if len(v) else float("nan"),
                            "count": int(len(v))}
    return out


def format_table(summary):
    lines = ["SI-SDR (dB)   estimate           mixture            improvement        tracks",
             "              mean    median     mean    median     mean    median"]
    for s, d in summary.items():
        lines.append("%-12s %7.2f %8.2f   %7.2f %8.2f   %7.2f %8.2f   %5d" % (
            s, d["estimate"]["mean"], d["estimate"]["median"], d["mixture"]["mean"],
            d["mixture"]["median"], d["improvement"]["mean"], d["improvement"]["median"],
            d["estimate"]["count"]))
    lines.append("error in the reference's gaps (frames %.0f dB below its loudest): share of "
                 "the error energy, and the SI-SDR gained were the estimate silent there"
                 % -GAP_BELOW_DB)
    for s, d in summary.items():
        if "gap_share" in d:
            lines.append("%-12s share %4.2f (median %4.2f)   gain %5.2f dB (median %5.2f)" % (
                s, d["gap_share"]["mean"], d["gap_share"]["median"], d["silent_gaps"]["mean"],
                d["silent_gaps"]["median"]))
    return "\n".join(lines)


def _json_safe(o):
    if isinstance(o, float) and not np.isfinite(o):
        return None if np.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_json_safe(v) for v in o]
    return o


def main(argv=None):
    ap = argparse.ArgumentParser(description="SI-SDR of MRX separations on a DnR-layout folder.")
    ap.add_argument("dir", nargs="?", help="folder of track folders (mix.wav, music.wav, ...)")
    ap.add_argument("--mrxcl", help="path of the mrxcl binary")
    ap.add_argument("-m", "--model", help="model file (.safetensors); with --mrxcl it may be "
                    "left out to score the model embedded in the binary")
    ap.add_argument("--reference", action="store_true",
                    help="separate with the PyTorch reference instead of the binary")
    ap.add_argument("--oracle", action="store_true",
                    help="score ideal ratio masks at MODEL's STFT resolutions (no network)")
    ap.add_argument("--chunk", type=float, default=0.0, metavar="S",
                    help="separate in pieces of S seconds, cross-faded, as mrxcl separate "
                         "--chunk does (default 0: each track whole)")
    ap.add_argument("--overlap", type=float, default=None, metavar="S",
                    help="with --chunk: seconds by which pieces overlap (default 2)")
    ap.add_argument("--loudness", choices=("on", "off"), default="on",
                    help="separate each mixture at -27 LUFS, the gain undone on the stems, as "
                         "mrxcl separate does by default (default on)")
    ap.add_argument("--consistency", choices=("pass", "all", "music_sfx", "model"),
                    default="model",
                    help="share the residual among the stems as mrxcl separate "
                         "--consistency (default model: the mode the model file names, "
                         "pass when it names none)")
    ap.add_argument("--device", default=None,
                    help="mrxcl: OpenCL device index or name part; --reference: torch device")
    ap.add_argument("--limit", type=int, default=None, help="score the first N tracks only")
    ap.add_argument("--json", dest="json_out", default=None, help="write the results here")
    ap.add_argument("--selftest", action="store_true",
                    help="test si_sdr and the oracle masks, and exit")
    args = ap.parse_args(argv)

    if args.selftest:
        fails = selftest()
        for f in fails:
            print("FAIL %s" % f)
        print("si_sdr selftest: %s" % ("FAILED" if fails else "ok"))
        ofails = oracle_selftest()
        for f in ofails:
            print("FAIL %s" % f)
        print("oracle selftest: %s" % ("FAILED" if ofails else "ok"))
        return 1 if fails or ofails else 0
    if sum(bool(v) for v in (args.reference, args.mrxcl, args.oracle)) != 1 or not args.dir:
        ap.error("need DIR and one of --mrxcl PATH [-m MODEL], --reference -m MODEL, "
                 "--oracle [-m MODEL]")
    if args.reference and not args.model:
        ap.error("--reference needs -m MODEL")
    if args.overlap is None:
        args.overlap = 2.0 if args.chunk > 0 else 0.0
    if args.chunk < 0 or args.overlap < 0 or (args.chunk == 0 and args.overlap > 0) or \
            2 * args.overlap > args.chunk > 0 or (args.oracle and args.chunk > 0):
        ap.error("--chunk S needs --mrxcl or --reference, S >= 0, and --overlap at most S / 2")
    tracks = find_tracks(args.dir)
    if args.limit is not None:
        tracks = tracks[:args.limit]
    if not tracks:
        print("eval: no track folders with mix.wav under %s" % args.dir, file=sys.stderr)
        return 1
    from_model = args.consistency == "model" and not args.oracle
    if from_model and args.reference:
        import mrx_io
        args.consistency = mrx_io.model_consistency(args.model)
    elif from_model:
        args.consistency = mrxcl_info(args.mrxcl, args.model, "consistency")
    if args.oracle:
        import mrx_io
        config = (mrx_io.read_model_file(args.model)[1] if args.model
                  else mrx_io.default_config())
        sep = OracleSeparator(config)
        backend = "oracle ratio masks (windows %s, hop %d)" % (
            ",".join(str(n) for n in sep.windows), sep.hop)
    elif args.reference:
        sep = ReferenceSeparator(args.model, args.device, args.chunk, args.overlap,
                                 args.loudness == "on", args.consistency)
        backend = "reference (PyTorch, %s)" % sep.device
    else:
        sep = BinarySeparator(args.mrxcl, args.model, args.device, args.chunk, args.overlap,
                              args.loudness == "on", args.consistency)
        backend = "mrxcl (%s)" % args.mrxcl
    if args.chunk > 0:
        backend += ", %g s pieces overlapping by %g s" % (args.chunk, args.overlap)
    if not args.oracle:
        backend += ", loudness %s, consistency %s%s" % (args.loudness, args.consistency,
                                                         " (the model's)" if from_model else "")
    t0 = time.time()
    try:
        results = score_tracks(tracks, args.dir, sep)
    finally:
        sep.close()
    wall = time.time() - t0
    summary = summarize(results)
    audio = sum(r["seconds"] for r in results)
    sep_time = sum(r["separate_seconds"] for r in results)
    model_name = args.model or ("authors' configuration" if args.oracle
                                else "embedded default model")
    print("%s on %d tracks of %s, model %s" % (backend, len(results), args.dir, model_name))
    print(format_table(summary))
    print("audio %.1f s, separation %.1f s (%.2fx real time), total %.1f s"
          % (audio, sep_time, audio / max(sep_time, 1e-9), wall))
    if args.json_out:
        doc = {"dir": os.path.abspath(args.dir), "model": os.path.abspath(args.model) if args.model else model_name,
               "backend": ("oracle" if args.oracle else "reference" if args.reference
                           else "mrxcl"),
               "binary": os.path.abspath(args.mrxcl) if args.mrxcl else None,
               "device": args.device, "chunk_seconds": args.chunk,
               "overlap_seconds": args.overlap, "loudness": args.loudness,
               "consistency": args.consistency, "consistency_from_model": from_model,
               "audio_seconds": audio, "separate_seconds": sep_time,
               "summary": summary, "tracks": results}
        with open(args.json_out, "w") as f:
            json.dump(_json_safe(doc), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
