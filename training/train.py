#!/usr/bin/python3
"""Train MRX (the reference module, mrx_ref.MRX) on DnR-style mixtures drawn on the fly.

    train.py --run runs/NAME --corpus CORPUS [--val-dir DIR] [--steps N]
             [--hidden 256 --layers 3 --windows 1024,2048,4096 --hop 256 --sample-rate 44100]
             [--batch 8 --crop 6 --lr 1e-3 --clip 5] [--device cuda] [--workers 4]
    train.py --run runs/NAME --resume [--steps N]        continue from RUN/last.pt, with its
                                                         flags but for those given again
    train.py --run runs/NEW --init MODEL.safetensors ... a new run from a model file's weights
    train.py ... --time-limit 9                          stop (validated, saved) within 9 min
    train.py --run runs/NAME --export models/default.safetensors [--f16] [--which best]
             [--consistency all]                 the mode the file names for mrxcl separate
    train.py --flops-only [model flags]                  print the cost of a configuration

Loss: the authors' SNR loss with scale_invariant=False, as their default checkpoint was
trained ("output levels match the mixture"): per stem
    SNR = 10 log10( ||s||^2 / (||s - s_hat||^2 + 1e-8) + 1e-8 ),
loss = -(mean of SNR over the stems and batch items whose reference is not silent). Under the
authors' formula a silent reference gives a constant -80 dB with no gradient; it is left out
of the mean instead of adding that constant. --silent-weight W > 0 adds, for silent references,
W * 10 log10(||s_hat||^2 / ||mix||^2 + 1e-4): a push towards a silent output for an absent
class, which the authors' loss never gives (default 0: their loss). --stem-weights
music=A,speech=B,sfx=C makes it a weighted mean (each active term counts its stem's weight;
default all 1, their loss), to spend the shared layers' capacity on one stem at another's cost.
Optimiser: Adam (lr 1e-3 as the authors), gradient norm clipped at 5 (theirs), learning rate
halved when the validation score has not improved for --patience validations; or, with
--decay-start S, a cosine from --lr to --decay-lr over steps S .. S + --decay-steps (the usual
way to end a run whose length is fixed by the time available).

Data: dnr_mix.MixSampler (train pools, seeded; example i of the run depends only on
(--seed, i), so a resumed run sees the data an uninterrupted one would). --speech-speed P and
--speech-eq P change a speech clip's speed (--speech-speed-range, default 0.85 to 1.15, voice
pitch with it) or pass it through a random EQ with probability P each, and --speech-formant P
moves its formants with pitch and timing kept (--speech-formant-range, default 0.85 to 1.18;
Praat's Change gender, through the praat-parselmouth package), and --speech-reverb P puts it
in a random room (dnr_mix.draw_reverb, the reverberant voice its target): the speech pools hold few
speakers and studios, and the model does worst on the voices least like them. Validation: the fixed
mixtures in --val-dir (written there by dnr_mix.make_validation_set from the validation pools
if the folder has no tracks), scored with SI-SDR (eval.si_sdr) per stem next to the mixture
as the estimate; the best checkpoint is the one with the highest mean SI-SDR improvement
over the stems. BatchNorm: train mode while training (batch statistics, running statistics
updated), eval mode for validation and export (running statistics, what the engine uses).

Starting point: random weights (seeded), or with --init MODEL the weights of an mrxcl model
file (the shipped default model, a converted checkpoint), whose configuration then replaces
the model flags; the optimiser starts afresh, so --warmup W (the learning rate rising
linearly over steps 0 .. W) keeps Adam's first, unscaled steps from throwing away what the
weights already know. The file's SHA-256 is kept in the checkpoints and the session record.

--train-consistency all (or music_sfx) applies mrxcl separate's mixture consistency to the
network's stems before the loss and in validation (Wisdom et al., "Differentiable consistency
constraints for improved deep speech enhancement", ICASSP 2019): the network then learns the
outputs that the projection turns into its stems, instead of having the projection added
after training; --export names that mode in the file unless --consistency says otherwise.

--train-only speech (with --init) trains the speech decoders alone: every other weight is
frozen and the modules holding them stay in eval mode, so their BatchNorm statistics do not
move and music and sfx come out exactly as the starting model's; a step then skips the
backward pass through the LSTMs and costs well under half a full one on a CPU.

Weight averaging: --ema D keeps an exponential moving average of the weights, updated after
every optimiser step as avg = D avg + (1 - D) w (BatchNorm's running statistics too), started
from the weights at the step it was first asked for. Validation scores the average, best.pt
is chosen by it and --export writes it; training goes on from the raw weights.

Checkpoints RUN/last.pt and RUN/best.pt hold the model (raw weights), its average ("ema",
with --ema), optimiser, scheduler, step, RNG states, configuration, best score and
accumulated training time; RUN/log.jsonl the history:
a {"step", "session": {"args", ...}} record when a session starts, a training line every
--log-every steps, a {"step", "val"} record at each validation.
"""

import argparse
import json
import math
import os
import random
import sys
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tools")]  # training/, the product's tools/
import mrx_io  # noqa: E402
import mrx_ref  # noqa: E402

SNR_EPS = 1e-8
# The budgets and a configuration's cost live in tools/mrx_io.py, beside the model
# file, so that the engine's tests check the shipped model without training's code.
from mrx_io import GFLOP_BUDGET, MB_BUDGET, flop_estimate  # noqa: E402,F401


# ---------------------------------------------------------------------------------
# cost of a configuration

def model_bytes(config, bytes_per_value=2):
    """Size of the mrxcl model file's tensor data (every stored tensor, BatchNorm running
    statistics included, num_batches_tracked not) at the given width."""
    n = sum(int(np.prod(s)) for s in mrx_io.expected_shapes(config).values())
    return n * bytes_per_value


def describe_cost(config):
    f = flop_estimate(config)
    params = mrx_io.parameter_count(config)
    mb = model_bytes(config) / 1e6
    lines = [
        "configuration: %s" % mrx_io.describe_config(config),
        "parameters: %d (%.2f M); model file at F16: %.2f MB (F32 %.2f MB); budget %.0f MB"
        % (params, params / 1e6, mb, 2 * mb, MB_BUDGET),
        "forward cost: %.3f GFLOP per mono audio second (GEMM %.3f, LSTM %.3f, FFT %.3f, "
        "other %.3f); budget %.1f" % (f["total"], f["gemm"], f["lstm"], f["fft"], f["other"],
                                      GFLOP_BUDGET),
    ]
    if f["total"] > GFLOP_BUDGET or mb > MB_BUDGET:
        lines.append("WARNING: this configuration is over the issue's budget")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# loss and metrics

def snr_terms(estimate, target, mix, silent_weight=0.0, stem_weights=None):
    """(loss, per-stem mean SNR over active items [S] (nan where none), active mask [B,S]).

    estimate, target: [B, S, L]; mix: [B, L]; stem_weights: None (all 1) or [S] weights of
    the stems' SNR terms in the mean. See the module docstring."""
    t_pow = (target ** 2).sum(-1)
    err = ((target - estimate) ** 2).sum(-1)
    snr = 10 * torch.log10(t_pow / (err + SNR_EPS) + SNR_EPS)          # [B, S]
    active = t_pow > 1e-10
    w = active.to(snr.dtype)
    if stem_weights is not None:
        w = w * torch.as_tensor(stem_weights, dtype=snr.dtype, device=snr.device)
    loss = -(snr * w).sum() / w.sum().clamp(min=1e-12)
    if silent_weight > 0 and (~active).any():
        e_pow = (estimate ** 2).sum(-1)
        m_pow = (mix ** 2).sum(-1, keepdim=True).clamp(min=1e-10)
        pen = 10 * torch.log10(e_pow / m_pow + 1e-4)
        loss = loss + silent_weight * (pen * ~active).sum() / (~active).sum()
    with torch.no_grad():
        per = torch.where(active, snr, torch.zeros_like(snr)).sum(0) / active.sum(0).clamp(min=1)
        per = torch.where(active.sum(0) > 0, per, torch.full_like(per, float("nan")))
    return loss, per, active


def consistent_t(estimate, mix, mode, sources):
    """Mixture consistency in torch, as ref_separate.consistent and mrxcl separate apply it:
    estimate [B, S, L], mix [B, L]; 'pass' returns estimate, 'all' adds (mix - sum of the
    stems) / S to each stem, 'music_sfx' half of it to music and half to sfx."""
    if mode is None or mode == "pass":
        return estimate
    takers = [i for i, s in enumerate(sources) if mode == "all" or s in ("music", "sfx")]
    r = (mix - estimate.sum(1)) / len(takers)                          # [B, L]
    share = torch.zeros(len(sources), dtype=estimate.dtype, device=estimate.device)
    share[takers] = 1.0
    return estimate + share[None, :, None] * r[:, None, :]

def _parse_range(text, flag, check):
    """text "LO,HI" -> (LO, HI), checked by check(LO, HI) (ValueError: SystemExit naming flag)."""
    try:
        lo, hi = (float(v) for v in text.split(","))
        check(lo, hi)
    except ValueError as e:
        raise SystemExit("train.py: %s '%s': %s" % (
            flag, text, e if "range" in str(e) else "want LO,HI (two numbers)"))
    return lo, hi


def parse_speed_range(text):
    """--speech-speed-range "0.7,1.4" -> (0.7, 1.4), checked by dnr_mix.speed_downs."""
    import dnr_mix

    return _parse_range(text, "--speech-speed-range", dnr_mix.speed_downs)


def parse_formant_range(text):
    """--speech-formant-range "0.85,1.18" -> (0.85, 1.18), checked by dnr_mix.formant_range."""
    import dnr_mix

    return _parse_range(text, "--speech-formant-range", dnr_mix.formant_range)


def parse_stem_weights(text, sources):
    """--stem-weights "speech=1.5,music=0.75" -> [w per source] (unnamed stems 1), or None."""
    if not text:
        return None
    w = {s: 1.0 for s in sources}
    for item in text.split(","):
        name, sep, val = item.partition("=")
        name = name.strip()
        if not sep or name not in w:
            raise SystemExit("train.py: --stem-weights: '%s' is not NAME=WEIGHT with NAME one "
                             "of %s" % (item, ", ".join(sources)))
        try:
            w[name] = float(val)
        except ValueError:
            raise SystemExit("train.py: --stem-weights: '%s' is not a number" % val)
        if not (w[name] >= 0 and math.isfinite(w[name])):
            raise SystemExit("train.py: --stem-weights: %s's weight must be >= 0" % name)
    if not any(v > 0 for v in w.values()):
        raise SystemExit("train.py: --stem-weights: every weight is 0")
    return [w[s] for s in sources]


def load_validation(val_dir, limit=None, seconds=None):
    """[(name, mix [1, L] float32, refs [S, L] float32)] from a DnR-layout folder."""
    import dnr_mix
    from eval import find_tracks

    out = []
    for td in find_tracks(val_dir)[:limit]:
        mix, sr = dnr_mix.read_wav(os.path.join(td, "mix.wav"))
        refs = [dnr_mix.read_wav(os.path.join(td, s + ".wav"))[0][0] for s in dnr_mix.SOURCES]
        n = mix.shape[1] if seconds is None else min(mix.shape[1], int(seconds * sr))
        out.append((os.path.relpath(td, val_dir), mix[:1, :n], np.stack(refs)[:, :n]))
    return out


def validate(model, tracks, device, sources, consistency=None):
    """Mean SI-SDR per stem of the model (eval mode, its stems made consistent with the mix
    by `consistency` as in training) and of the mixture, over the tracks."""
    from eval import si_sdr

    was_training = model.training
    model.eval()
    est_db = {s: [] for s in sources}
    mix_db = {s: [] for s in sources}
    with torch.no_grad():
        for name, mix, refs in tracks:
            x = torch.from_numpy(mix).to(device)
            y = consistent_t(model(x), x, consistency, sources)[0].float().cpu().numpy()  # [S, L]
            for k, s in enumerate(sources):
                a, b = si_sdr(y[k], refs[k]), si_sdr(mix[0], refs[k])
                if np.isfinite(a) and np.isfinite(b):
                    est_db[s].append(a)
                    mix_db[s].append(b)
    model.train(was_training)
    res = {}
    for s in sources:
        e, m = np.array(est_db[s]), np.array(mix_db[s])
        res[s] = {"si_sdr": float(e.mean()) if len(e) else float("nan"),
                  "mixture": float(m.mean()) if len(m) else float("nan"),
                  "improvement": float((e - m).mean()) if len(e) else float("nan"),
                  "tracks": int(len(e))}
    imps = [r["improvement"] for r in res.values() if np.isfinite(r["improvement"])]
    res["score"] = float(np.mean(imps)) if imps else float("-inf")
    return res


# ---------------------------------------------------------------------------------
# data

class SamplerStream(torch.utils.data.IterableDataset):
    """Batches for steps start, start+1, ...; worker w of W makes the steps = w mod W, and
    the DataLoader takes from its workers in turn, so the steps arrive in order."""

    def __init__(self, sampler, batch, start):
        self.sampler, self.batch, self.start = sampler, batch, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        step = self.start + wid
        while True:
            mix, stems = self.sampler.batch(step, self.batch)
            yield step, torch.from_numpy(mix), torch.from_numpy(stems)
            step += nw


# ---------------------------------------------------------------------------------
# checkpoints

def rng_state():
    st = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
          "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st):
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def save_checkpoint(path, **kw):
    tmp = path + ".tmp"
    torch.save(kw, tmp)
    os.replace(tmp, path)


class WeightAverage:
    """Exponential moving average of a module's state (float tensors; others copied).
    update() after each optimiser step; scored(module) is a context in which the module
    holds the average, and its own state again afterwards, bit for bit."""

    def __init__(self, module, decay, state=None):
        self.decay = float(decay)
        self.live = module.state_dict()  # detached views of the parameters and buffers
        self.avg = {k: (state[k] if state is not None else v).detach().clone()
                    for k, v in self.live.items()}
        self.keys = [k for k, v in self.live.items() if v.is_floating_point()]

    @torch.no_grad()
    def update(self):
        a = [self.avg[k] for k in self.keys]
        torch._foreach_mul_(a, self.decay)
        torch._foreach_add_(a, [self.live[k] for k in self.keys], alpha=1.0 - self.decay)
        for k, v in self.live.items():
            if not v.is_floating_point():
                self.avg[k].copy_(v)

    def state_dict(self):
        return self.avg

    def scored(self, module):
        avg, live = self.avg, self.live

        class Swap:
            def __enter__(self):
                self.raw = {k: v.clone() for k, v in live.items()}
                module.load_state_dict(avg)

            def __exit__(self, *exc):
                module.load_state_dict(self.raw)
        return Swap()


def train_only(model, names, sources):
    """Freeze every weight of `model` but the decoders of the sources named in `names`
    (comma-separated) and keep the frozen modules in eval mode whatever model.train() is
    asked, so their BatchNorm running statistics stay too: the other sources' output is then
    exactly what it was. Returns the frozen modules."""
    want = [n.strip() for n in names.split(",") if n.strip()]
    bad = [n for n in want if n not in sources]
    if not want or bad:
        raise ValueError("%s: not a source of this model (%s)"
                         % (", ".join(bad) or "nothing named", ", ".join(sources)))
    keep = tuple("_decoders.%d." % sources.index(n) for n in want)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(keep))
    frozen = [m for name, m in model.named_modules()  # the modules holding tensors
              if not (name + ".").startswith(keep)
              and (list(m.parameters(recurse=False)) or list(m.buffers(recurse=False)))]
    base_train = model.train

    def train(mode=True):
        base_train(mode)
        for m in frozen:
            m.eval()
        return model
    model.train = train
    model.train(model.training)
    return frozen


def exported_weights(ck):
    """The weights a checkpoint stands for: its average with --ema, else its model."""
    return ck["ema"] if ck.get("ema") is not None else ck["model"]


def selftest(seed=None):
    """WeightAverage against the average recomputed in float64 from the recorded weights of
    a few Adam steps (within 1e-6 of the largest element), and scored() restoring the
    module's state exactly. Returns a list of failures."""
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    torch.manual_seed(seed)
    fails = []
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7),
                              torch.nn.Linear(7, 3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    decay = 0.5 + 0.45 * float(torch.rand(()))
    wa = WeightAverage(net, decay)
    want = {k: v.double().clone() for k, v in net.state_dict().items()
            if v.is_floating_point()}
    for _ in range(20):
        net(torch.randn(16, 5)).square().mean().backward()
        opt.step()
        opt.zero_grad()
        wa.update()
        for k, v in net.state_dict().items():
            if k in want:
                want[k] = decay * want[k] + (1 - decay) * v.double()
    for k, w in want.items():
        err = float((wa.state_dict()[k].double() - w).abs().max() / (w.abs().max() + 1e-12))
        if not err < 1e-6:
            fails.append("average of %s off by %.3g (relative)" % (k, err))
    if wa.state_dict()["1.num_batches_tracked"] != net[1].num_batches_tracked:
        fails.append("num_batches_tracked not copied")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with wa.scored(net):
        inside = net.state_dict()
        if any(not torch.equal(inside[k], wa.state_dict()[k]) for k in inside):
            fails.append("scored(): the module does not hold the average")
    if any(not torch.equal(v, before[k]) for k, v in net.state_dict().items()):
        fails.append("scored(): the module's own state not restored")
    fails += schedule_selftest()
    fails += loss_selftest(seed)
    fails += init_selftest(seed)
    fails += resume_selftest()
    fails += train_only_selftest(seed)
    if fails:
        fails.insert(0, "train.py --selftest failed (seed %d, decay %.4f)" % (seed, decay))
    return fails


def loss_selftest(seed):
    """snr_terms with and without --stem-weights against the loss written out in float64,
    one reference silent; parse_stem_weights, parse_speed_range and parse_formant_range on
    good and bad flags."""
    fails = []
    g = torch.Generator().manual_seed(seed)
    B, S, L = 3, 3, 50
    target = torch.randn(B, S, L, generator=g)
    target[1, 2] = 0.0
    est = target + 0.3 * torch.randn(B, S, L, generator=g)
    mix = target.sum(1)
    t = target.double()
    snr = 10 * torch.log10((t ** 2).sum(-1) / (((t - est.double()) ** 2).sum(-1) + SNR_EPS)
                           + SNR_EPS)
    active = torch.ones(B, S, dtype=torch.float64)
    active[1, 2] = 0.0
    for weights in (None, [0.5, 2.0, 1.0], [0.0, 1.0, 0.0]):
        w = active * (1.0 if weights is None else torch.tensor(weights, dtype=torch.float64))
        want = float(-(snr * w).sum() / w.sum())
        got = float(snr_terms(est, target, mix, 0.0, weights)[0])
        if not abs(got - want) <= 1e-4 * max(1.0, abs(want)):
            fails.append("snr_terms with stem weights %s: %.6f, want %.6f" % (weights, got, want))
    src = ["music", "speech", "sfx"]
    if parse_stem_weights("speech=1.5, music=0.5", src) != [0.5, 1.5, 1.0]:
        fails.append("parse_stem_weights: 'speech=1.5, music=0.5' misread")
    if parse_speed_range("0.7, 1.4") != (0.7, 1.4):
        fails.append("parse_speed_range: '0.7, 1.4' misread")
    for bad in ("1.4,0.7", "0.7", "a,b", "0.3,1.2", "1,1"):
        try:
            parse_speed_range(bad)
            fails.append("parse_speed_range: '%s' accepted" % bad)
        except SystemExit:
            pass
    if parse_formant_range("0.8, 1.25") != (0.8, 1.25):
        fails.append("parse_formant_range: '0.8, 1.25' misread")
    for bad in ("1.2,0.9", "1.1", "a,b", "0.3,1.2", "1,1", "0.9,2.5"):
        try:
            parse_formant_range(bad)
            fails.append("parse_formant_range: '%s' accepted" % bad)
        except SystemExit:
            pass
    if parse_stem_weights(None, src) is not None:
        fails.append("parse_stem_weights: no flag should give None")
    # consistent_t against ref_separate.consistent (numpy, float64), stems along axis 1
    from ref_separate import consistent
    mix_x = mix + 0.2 * torch.randn(B, L, generator=g)
    for mode in ("pass", "all", "music_sfx"):
        got = consistent_t(est, mix_x, mode, src).double().numpy()
        want = consistent(est.numpy(), mix_x.numpy(), mode, src, axis=1)
        if not np.allclose(got, want, rtol=0, atol=1e-5):
            fails.append("consistent_t %s differs from ref_separate.consistent by %.3g"
                         % (mode, float(np.abs(got - want).max())))
        if mode != "pass" and not np.allclose(got.sum(1), mix_x.double().numpy(), atol=1e-5):
            fails.append("consistent_t %s: the stems do not sum to the mix" % mode)
    for bad in ("voice=2", "speech", "speech=x", "speech=-1", "music=0,speech=0,sfx=0"):
        try:
            parse_stem_weights(bad, src)
            fails.append("parse_stem_weights accepted '%s'" % bad)
        except SystemExit:
            pass
    return fails


def train_only_selftest(seed):
    """train_only() on a small random MRX: after Adam steps in train mode on fresh noise,
    every tensor but the named source's decoders (BatchNorm statistics included) is bit for
    bit what it was, so the other sources' output is too; the named decoders did move;
    names that are not sources are refused."""
    fails = []
    config = dict(mrx_io.default_config(), hidden=8, lstm_layers=1,
                  window_lengths=[64, 128], hop=32)
    model = mrx_ref.MRX(**config)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in
                           mrx_io.random_state_dict(config, (seed + 1) % (1 << 31)).items()},
                          strict=False)
    sources = config["sources"]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 1024, generator=gen) * 0.1
    model.eval()
    with torch.no_grad():
        y0 = model(x)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for bad in ("", "voice", "speech,voice"):
        try:
            train_only(mrx_ref.MRX(**config), bad, sources)
            fails.append("train_only(%r) was accepted" % bad)
        except ValueError:
            pass
    train_only(model, "speech", sources)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        est = model(torch.randn(2, 1024, generator=gen) * 0.1)
        loss = est.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        y1 = model(x)
    mine = "_decoders.%d." % sources.index("speech")
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    if any(not k.startswith(mine) for k in changed):
        fails.append("train_only: frozen tensors changed: %s"
                     % [k for k in changed if not k.startswith(mine)][:4])
    if not any(k.endswith(".weight") for k in changed):
        fails.append("train_only: the speech decoders did not train")
    others = [k for k, s in enumerate(sources) if s != "speech"]
    if not torch.equal(y0[:, others], y1[:, others]):
        fails.append("train_only: the other sources' output changed")
    if torch.equal(y0[:, sources.index("speech")], y1[:, sources.index("speech")]):
        fails.append("train_only: the speech output did not change")
    return fails


def schedule_selftest():
    """scheduled_lr against the schedule written out by hand."""
    fails = []
    a = parse_args(["--lr", "4e-4", "--warmup", "4", "--decay-start", "2", "--decay-steps", "8",
                    "--decay-lr", "0"])
    cos = lambda k: 4e-4 * 0.5 * (1 + math.cos(math.pi * k / 8))  # noqa: E731
    want = [4e-4 * 1 / 4, 4e-4 * 2 / 4, cos(0) * 3 / 4, cos(1), cos(2), cos(8), cos(8)]
    got = [scheduled_lr(a, s) for s in (0, 1, 2, 3, 4, 10, 50)]
    if any(g is None or abs(g - w) > 1e-15 for g, w in zip(got, want)):
        fails.append("scheduled_lr with warm-up inside the decay: %s, want %s" % (got, want))
    a = parse_args(["--lr", "1e-3", "--warmup", "2"])
    got = [scheduled_lr(a, s) for s in (0, 1, 2, 3)]
    if got != [5e-4, 1e-3, 1e-3, None]:
        fails.append("scheduled_lr, warm-up alone: %s, want [5e-4, 1e-3, 1e-3, None]" % got)
    if [scheduled_lr(parse_args([]), s) for s in (0, 1, 100)] != [None] * 3:
        fails.append("scheduled_lr without a schedule sets a rate")
    return fails


def init_selftest(seed):
    """read_init on a random model file written by mrx_io: the same tensors, the file's
    configuration and SHA-256; a truncated file refused with mrx_io.ModelError."""
    import hashlib
    import tempfile

    import safetensors.numpy

    fails = []
    config = dict(mrx_io.default_config(), hidden=8, lstm_layers=1,
                  window_lengths=[64, 128], hop=32)
    sd = mrx_io.random_state_dict(config, seed % (1 << 31))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.safetensors")
        mrx_io.save_model(path, sd, config, dtype="f32")
        rec, got, cfg = read_init(path)
        with open(path, "rb") as f:
            data = f.read()
        if rec["sha256"] != hashlib.sha256(data).hexdigest() or rec["bytes"] != len(data):
            fails.append("read_init: wrong sha256 or size")
        if cfg != mrx_io.config_from_metadata(mrx_io.config_to_metadata(config)):
            fails.append("read_init: configuration %s, want %s" % (cfg, config))
        bad = [k for k, v in sd.items() if k in got and not np.array_equal(
            got[k].numpy(), np.asarray(v, dtype=np.float32))]
        if bad or set(got) - set(sd):
            fails.append("read_init: tensors differ: %s" % (bad or sorted(set(got) - set(sd))))
        model = mrx_ref.MRX(**cfg)
        missing, unexpected = model.load_state_dict(got, strict=False)
        if [k for k in missing if not k.endswith("num_batches_tracked")] or unexpected:
            fails.append("read_init: state_dict does not load into MRX: %s %s"
                         % (missing, unexpected))
        with open(path, "wb") as f:
            f.write(data[:len(data) - 100])
        try:
            read_init(path)
            fails.append("read_init: a truncated file was accepted")
        except mrx_io.ModelError:
            pass
        # training records: a run from scratch, one from a file with a history, one from a
        # file without
        args = {"batch": 8, "crop": 4.0, "seed": 3}
        first = training_record({"args": args, "step": 500, "train_seconds": 3600.04,
                                 "device_name": "cpu"})
        want = {"history": [{"steps": 500, "seconds": 3600.0, "device": "cpu", "batch": 8,
                             "crop": 4.0, "seed": 3, "started_from": None}], "complete": True}
        if first != want:
            fails.append("training_record from scratch: %s, want %s" % (first, want))
        mrx_io.save_model(path, sd, config, dtype="f16", training=first)
        rec, _, _ = read_init(path)
        if rec["training"] != first:
            fails.append("read_init: training record %s, want %s" % (rec["training"], first))
        second = training_record({"args": dict(args, seed=4), "step": 70, "train_seconds": 60,
                                  "device_name": "cuda", "init": rec})
        if ([h["steps"] for h in second["history"]] != [500, 70] or not second["complete"]
                or second["history"][1]["started_from"] != rec["sha256"]):
            fails.append("training_record after --init: %s" % second)
        orphan = training_record({"args": args, "step": 9, "train_seconds": 1.0,
                                  "init": dict(rec, training=None)})
        if len(orphan["history"]) != 1 or orphan["complete"]:
            fails.append("training_record from a file without history: %s" % orphan)
        mrx_io.save_model(path, sd, config, dtype="f32")
        if read_init(path)[0]["training"] is not None:
            fails.append("read_init: a training record where the file has none")
        for bad in ("{", "[]", '{"history": 3, "complete": true}'):
            meta = dict(mrx_io.config_to_metadata(config), training=bad)
            safetensors.numpy.save_file({k: np.asarray(v, dtype=np.float32)
                                         for k, v in mrx_io.validate_state_dict(sd, config)
                                         .items()}, path, metadata=meta)
            try:
                read_init(path)
                fails.append("read_init: training metadata %r was accepted" % bad)
            except mrx_io.ModelError:
                pass
    return fails


def resume_selftest():
    """resume_args: a resumed run keeps its checkpoint's data, augmentation, loss and
    schedule flags unless they are given again, its data stream always, and none of the
    first sitting's own flags (time limit, device, --init)."""
    first = ["--run", "r", "--corpus", "c", "--init", "m.safetensors", "--steps", "1900",
             "--lr", "1.5e-4", "--speech-formant", "0.5", "--stem-weights", "speech=1.5",
             "--seed", "21", "--batch", "8", "--crop", "4", "--time-limit", "120",
             "--device", "cuda", "--threads", "2"]
    saved = vars(parse_args(first))
    fails = []
    again = ["--run", "r", "--resume", "--lr", "5e-5", "--seed", "3", "--threads", "1"]
    given = given_flags(again)
    if given != {"run", "resume", "lr", "seed", "threads"}:
        fails.append("given_flags(%s) = %s" % (" ".join(again), sorted(given)))
    args = parse_args(again)
    lines = resume_args(args, given, saved)
    want = dict(saved, resume=True, lr=5e-5, init=None, time_limit=None, device="cpu",
                threads=1)
    for key, value in sorted(want.items()):
        if getattr(args, key) != value:
            fails.append("resume_args: --%s %s, want %s" % (key, getattr(args, key), value))
    said = "\n".join(lines)
    for part in ("--speech-formant 0.5", "--steps 1900", "--seed 21 (not 3)",
                 "changes --lr 5e-05 (was 0.00015)"):
        if part not in said:
            fails.append("resume_args does not say %r:\n%s" % (part, said))
    return fails


def training_record(ck):
    """The model file's training record (mrx_io) for checkpoint `ck`: the history of the
    model its run started from, when that file recorded one, and this run as its last stage."""
    a, init = ck["args"], ck.get("init")
    stage = {"steps": int(ck["step"]), "seconds": round(float(ck.get("train_seconds", 0.0)), 1),
             "device": ck.get("device_name"), "batch": a["batch"], "crop": a["crop"],
             "seed": a["seed"], "started_from": init["sha256"] if init else None}
    if init and init.get("commit"):
        stage["commit"] = init["commit"]
    prior = (init or {}).get("training")
    return {"history": (list(prior["history"]) if prior else []) + [stage],
            "complete": init is None or bool(prior and prior["complete"])}


def export(args):
    ck_path = os.path.join(args.run, "%s.pt" % args.which)
    if not os.path.exists(ck_path):
        print("train: %s does not exist (no validation has run yet? try --which last)"
              % ck_path, file=sys.stderr)
        return 1
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    config = ck["config"]
    model = mrx_ref.MRX(**config)
    model.load_state_dict(exported_weights(ck))
    model.eval()
    dtype = "f16" if args.f16 else "f32"
    out_dir = os.path.dirname(os.path.abspath(args.export))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.export + ".tmp"
    training = training_record(ck)
    consistency = args.consistency
    if consistency is None:
        trained = (ck.get("args") or {}).get("train_consistency") or "pass"
        consistency = None if trained == "pass" else trained
    mrx_io.save_model(tmp, model.state_dict(), config, dtype=dtype, training=training,
                      consistency=consistency)
    os.replace(tmp, args.export)
    # Read it back and compare with the checkpoint on one second of noise.
    back, _ = mrx_ref.load_model(args.export)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, int(config["sample_rate"]), generator=gen) * 0.05
    with torch.no_grad():
        a, b = model(x), back(x)
    snr = 10 * math.log10(float((a ** 2).sum()) / max(float(((a - b) ** 2).sum()), 1e-30))
    print(describe_cost(config))
    print("exported %s (step %d, %s%s) to %s as %s; %d bytes; read back: output SNR %.1f dB "
          "against the checkpoint" % (ck_path, ck["step"], args.which,
                                      ", weight average" if ck.get("ema") is not None else "",
                                      args.export, dtype.upper(),
                                      os.path.getsize(args.export), snr))
    if os.path.getsize(args.export) > MB_BUDGET * 1e6:
        print("WARNING: %s is %.2f MB, over the %.0f MB the embedded default model may take "
              "(issue 3); export with --f16, or store it again with tools/convert.py %s OUT "
              "--f16" % (args.export, os.path.getsize(args.export) / 1e6, MB_BUDGET,
                         args.export), file=sys.stderr)
    if ck.get("val"):
        print("validation at that step: %s" % json.dumps(ck["val"]))
    print("training time %.2f h on %s, %d steps" % (ck.get("train_seconds", 0) / 3600,
                                                   ck.get("device_name", "?"), ck["step"]))
    hist = training["history"]
    if len(hist) > 1:
        print("with the runs before it: %d steps, %.2f h in %d runs%s" % (
            sum(h["steps"] for h in hist), sum(h["seconds"] for h in hist) / 3600, len(hist),
            "" if training["complete"] else " (the first started from a model file that "
            "recorded no history)"))
    return 0


# ---------------------------------------------------------------------------------
# training

def build_parser():
    """train.py's flags, in groups (--help lists them so); one command line trains, resumes,
    exports or checks. The order the flags are added in is the order model_card.py writes
    them in its commands, so a new flag goes at the end of its group's calls."""
    ap = argparse.ArgumentParser(
        description="Train MRX on DnR-style mixtures, resume a run, or export its model. "
        "A resumed run takes the flags it is not given from its checkpoint, except those of "
        "the session (where and how long it runs, what it exports).")
    run = ap.add_argument_group("run", "where the run lives, where and how long this session "
                                "runs")
    data = ap.add_argument_group("data", "the pools and the training mixtures drawn from them")
    aug = ap.add_argument_group("speech augmentation", "changes to speech clips before mixing")
    model = ap.add_argument_group("model", "the network's configuration (--init: a model "
                                  "file's replaces it)")
    speed = ap.add_argument_group("training speed", "how the same function is computed "
                                  "(no result changes beyond rounding)")
    loss = ap.add_argument_group("loss", "what the SNR loss weighs and trains")
    opt = ap.add_argument_group("optimisation and schedule", "Adam's learning rate over the "
                                "steps, the weight average")
    val = ap.add_argument_group("validation", "the fixed mixtures scored during training")
    export = ap.add_argument_group("export and other modes", "instead of training")
    run.add_argument("--run", default="runs/mrx", help="run folder (checkpoints, log)")
    data.add_argument("--corpus", default=None, metavar="CORPUS",
                    help="the pools: build_corpus.py's --out folder (needed to train)")
    data.add_argument("--cache", default=None, help="pool decode cache (dnr_mix default)")
    data.add_argument("--decode-jobs", type=int, default=None,
                    help="processes that decode the pools into the cache (default: all cores)")
    val.add_argument("--val-dir", default=None,
                    help="fixed validation mixtures (default RUN/../validation-SEED); written "
                         "from the validation pools if empty")
    val.add_argument("--val-count", type=int, default=20, help="mixtures to write if needed")
    val.add_argument("--val-seed", type=int, default=1)
    val.add_argument("--val-limit", type=int, default=None, help="score only the first N")
    val.add_argument("--val-seconds", type=float, default=None,
                    help="score only the first S seconds of each validation mixture")
    val.add_argument("--val-every", type=int, default=500)
    model.add_argument("--hidden", type=int, default=256)
    model.add_argument("--layers", type=int, default=3)
    model.add_argument("--windows", default="1024,2048,4096")
    model.add_argument("--hop", type=int, default=256)
    model.add_argument("--sample-rate", type=int, default=44100)
    speed.add_argument("--nn-lstm", action="store_true",
                    help="train with nn.LSTM itself instead of fast_lstm's batched recurrence "
                         "(same function, same parameters; fast_lstm is several times faster "
                         "on the CPU)")
    speed.add_argument("--reference-istft", action="store_true",
                    help="train with mrx_ref's inverse STFT (F.fold, once per source and "
                         "resolution) instead of fast_istft's (same function; fast_istft makes "
                         "a CPU training step about a quarter faster)")
    speed.add_argument("--free-heap", action="store_true",
                    help="leave glibc's malloc at its defaults (return freed tensors to the "
                         "kernel); by default train.py keeps them for reuse, which makes a CPU "
                         "step about a third faster and holds the peak working set")
    model.add_argument("--lstm-dropout", type=float, default=0.0,
                    help="dropout between LSTM layers while training (the authors use 0.4)")
    opt.add_argument("--steps", type=int, default=100000, help="train until this step")
    data.add_argument("--batch", type=int, default=8)
    data.add_argument("--crop", type=float, default=6.0, help="training crop in seconds")
    opt.add_argument("--lr", type=float, default=1e-3)
    opt.add_argument("--clip", type=float, default=5.0, help="gradient norm clip")
    opt.add_argument("--patience", type=int, default=5,
                    help="validations without improvement before the lr is halved")
    opt.add_argument("--min-lr", type=float, default=1e-5)
    opt.add_argument("--decay-start", type=int, default=None, metavar="STEP",
                    help="from this step on, follow a cosine from --lr down to --decay-lr "
                         "over --decay-steps steps (replaces the plateau halving)")
    opt.add_argument("--decay-steps", type=int, default=1000)
    opt.add_argument("--decay-lr", type=float, default=1e-4)
    opt.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                    help="validate, keep as best and export an exponential moving average of "
                         "the weights with this decay per step (e.g. 0.999; 0: off)")
    model.add_argument("--init", default=None, metavar="MODEL",
                    help="start a new run from the weights of an mrxcl model file "
                         "(its configuration replaces the model flags)")
    opt.add_argument("--warmup", type=int, default=0, metavar="STEPS",
                    help="learning rate rising linearly from lr/STEPS to lr over steps 0..STEPS")
    loss.add_argument("--silent-weight", type=float, default=0.0, metavar="W",
                    help="weight of a penalty on what a stem puts out where its reference "
                         "is silent in a whole item (0, the default: the authors' loss, "
                         "which leaves such a stem out)")
    data.add_argument("--level-range", default="2,1", metavar="LAYER,CLIP",
                    help="LU of the uniform random offsets on the class levels of a "
                         "training mixture: per layer and mixture, per clip (default 2,1, "
                         "as the validation mixtures; wider draws harder and easier "
                         "mixtures)")
    aug.add_argument("--speech-speed", type=float, default=0.0, metavar="P",
                    help="probability of a speech clip sped up or slowed down (tempo and "
                         "pitch together; dnr_mix.speed_change) by one of the speeds of "
                         "--speech-speed-range")
    aug.add_argument("--speech-speed-range", default="0.85,1.15", metavar="LO,HI",
                    help="speeds for --speech-speed, in steps of 0.05, 1 left out "
                         "(0.5 <= LO <= HI <= 2; default 0.85,1.15)")
    aug.add_argument("--speech-eq", type=float, default=0.0, metavar="P",
                    help="probability of a speech clip through a random EQ (dnr_mix.draw_eq)")
    aug.add_argument("--speech-package-power", type=float, default=1.0, metavar="A",
                    help="a speech clip's package drawn with probability proportional to "
                         "its file count ** A (1, the default: every file equally likely, "
                         "as DnR; 0.5 lifts the small packages; 0: packages equally likely)")
    aug.add_argument("--speech-formant", type=float, default=0.0, metavar="P",
                    help="probability of a speech clip's formants moved, pitch and timing "
                         "kept (dnr_mix.formant_shift: Praat's Change gender), by a ratio "
                         "drawn log-uniformly in --speech-formant-range")
    aug.add_argument("--speech-formant-range", default="0.85,1.18", metavar="LO,HI",
                    help="formant ratios for --speech-formant (0.5 <= LO < HI <= 2; "
                         "default 0.85,1.18)")
    aug.add_argument("--speech-reverb", type=float, default=0.0, metavar="P",
                    help="probability of a speech clip put in a random room (dnr_mix."
                         "draw_reverb: RT60 0.15 to 0.9 s, direct-to-reverberant ratio 0 to "
                         "15 dB), its reverberant voice the speech target")
    loss.add_argument("--train-only", default=None, metavar="NAME[,NAME]",
                    help="train only these sources' decoders; every other weight and "
                         "BatchNorm statistic stays as it is, so the other stems' output "
                         "does not change (with --init: a fine-tune of one stem)")
    loss.add_argument("--stem-weights", default=None, metavar="NAME=W,...",
                    help="weights of the stems' SNR terms in the loss (default all 1)")
    loss.add_argument("--train-consistency", default="pass", choices=mrx_io.CONSISTENCY_MODES,
                    help="make the stems consistent with the mixture (as mrxcl separate "
                         "--consistency) before the loss and in validation, so the network "
                         "learns the outputs that the projection turns into its stems "
                         "(Wisdom et al., ICASSP 2019); --export then names this mode "
                         "unless --consistency says otherwise (default pass: the authors')")
    data.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="cpu")
    run.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    run.add_argument("--workers", type=int, default=1, help="data-loader processes (0: inline)")
    run.add_argument("--no-tf32", action="store_true", help="CUDA: keep float32 matmuls exact")
    run.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                    help="stop after this many minutes of wall time (validating and "
                         "checkpointing first), e.g. to fit a time-limited GPU session")
    run.add_argument("--log-every", type=int, default=25)
    run.add_argument("--ckpt-every", type=int, default=250)
    run.add_argument("--resume", action="store_true", help="continue from RUN/last.pt")
    export.add_argument("--export", default=None, metavar="PATH",
                    help="write the run's checkpoint as an mrxcl model file and exit")
    export.add_argument("--which", default="best", choices=("best", "last"))
    export.add_argument("--f16", action="store_true", help="export F16 tensors")
    export.add_argument("--consistency", default=None, choices=mrx_io.CONSISTENCY_MODES,
                    help="with --export: the mixture consistency the file names, which "
                         "mrxcl separate then applies by default (score the modes with "
                         "training/eval.py --consistency first; default: the file names none, "
                         "which means pass)")
    export.add_argument("--flops-only", action="store_true", help="print the cost and exit")
    export.add_argument("--selftest", action="store_true",
                    help="check the weight averaging, schedule, loss, --init, --resume and --train-only logic and exit")
    return ap


def parse_args(argv):
    return build_parser().parse_args(argv)


def given_flags(argv):
    """The destinations of the flags that `argv` gives (not those left at their default)."""
    ap = build_parser()
    for action in ap._actions:
        action.default = argparse.SUPPRESS  # a flag not given leaves no attribute
    return set(vars(ap.parse_args(argv)))


# Flags of one sitting (where to run, how long, what to do), not of the run itself: a
# resumed run takes all the others (data, augmentation, loss, schedule, validation) from its
# checkpoint unless this command line gives them again.
SESSION_FLAGS = frozenset((
    "run", "resume", "init", "device", "threads", "workers", "decode_jobs", "no_tf32",
    "free_heap", "nn_lstm", "reference_istft", "time_limit", "export", "which", "f16",
    "flops_only", "selftest"))
# The data stream of a run depends on these: a resumed run keeps the checkpoint's always.
STREAM_FLAGS = ("seed", "batch", "crop")


def resume_args(args, given, saved):
    """Fill `args` (a namespace) for a resumed run from `saved`, its checkpoint's flags:
    the flags not in `given` become the checkpoint's, STREAM_FLAGS are the checkpoint's
    whatever is given. Returns lines that say what was taken and what this session changes."""
    taken, changed, kept = [], [], []
    for key in sorted(saved):
        if key in SESSION_FLAGS or not hasattr(args, key):
            continue
        value, flag = saved[key], "--" + key.replace("_", "-")
        if getattr(args, key) == value:
            continue
        if key in STREAM_FLAGS:
            kept.append("%s %s (not %s)" % (flag, value, getattr(args, key)))
        elif key in given:
            changed.append("%s %s (was %s)" % (flag, getattr(args, key), value))
            continue
        else:
            taken.append("%s %s" % (flag, value))
        setattr(args, key, value)
    lines = []
    if taken:
        lines.append("train: resuming with the checkpoint's " + ", ".join(taken))
    if kept:
        lines.append("train: resuming with the checkpoint's data stream: " + ", ".join(kept))
    if changed:
        lines.append("train: this session changes " + ", ".join(changed))
    return lines


def config_from_args(args):
    config = {"sample_rate": args.sample_rate, "hop": args.hop,
              "window_lengths": [int(v) for v in args.windows.split(",")],
              "hidden": args.hidden, "lstm_layers": args.layers,
              "sources": ["music", "speech", "sfx"]}
    mrx_io.check_config(config)
    return config


def scheduled_lr(args, step):
    """The learning rate that the schedule sets for this step, or None where the optimiser
    keeps its own (constant --lr, or what the plateau scheduler made of it): the cosine from
    --decay-start on, times the warm-up factor (step+1)/W over steps 0..W-1; --lr again at
    step W (a resumed run finds it in the optimiser's state after that)."""
    lr = None
    if args.decay_start is not None and step >= args.decay_start:
        frac = min(1.0, (step - args.decay_start) / max(1, args.decay_steps))
        lr = args.decay_lr + (args.lr - args.decay_lr) * 0.5 * (1.0 + math.cos(math.pi * frac))
    if step < args.warmup:
        lr = (args.lr if lr is None else lr) * (step + 1) / args.warmup
    elif step == args.warmup and args.warmup and lr is None:
        lr = args.lr
    return lr


def read_init(path):
    """(record, state_dict of float32 tensors, config) of the model file a run starts from.
    The record: path, sha256, size, the file's training record (mrx_io; None if it has none)
    and, when the file is tracked by git and unmodified, the commit that last changed it (so
    that the model card can name the weights exactly).
    Raises OSError or mrx_io.ModelError."""
    import hashlib
    import subprocess

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    tensors, config, training = mrx_io.read_model_file(path, with_training=True)
    rec = {"path": path, "sha256": h.hexdigest(), "bytes": os.path.getsize(path),
           "training": training}
    where = os.path.dirname(os.path.abspath(path))
    try:
        git = lambda *a: subprocess.run(("git",) + a, cwd=where, capture_output=True,  # noqa
                                        text=True, timeout=30)
        name = os.path.basename(path)
        if (git("ls-files", "--error-unmatch", name).returncode == 0
                and git("diff", "--quiet", "HEAD", "--", name).returncode == 0):
            commit = git("log", "-1", "--format=%H", "--", name).stdout.strip()
            top = git("rev-parse", "--show-toplevel").stdout.strip()
            if commit and top:
                rec["commit"] = commit
                rec["repo_path"] = os.path.relpath(os.path.abspath(path), top)
    except (OSError, subprocess.SubprocessError):
        pass
    return rec, {k: torch.from_numpy(a) for k, a in tensors.items()}, config


def log_line(run, rec):
    with open(os.path.join(run, "log.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")


def keep_heap():
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the
    kernel. By default every tensor above the dynamic mmap threshold (at most 32 MiB) is a
    fresh mmap and is unmapped when freed, and the heap top is trimmed, so each training
    step faults in its activations page by page again: on the 2-core CPU this machine
    trains on, that was a third of a step (2.1 against 1.4 s for batch 8 x 4 s with
    fast_lstm and fast_istft; the same as MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_/
    MALLOC_TOP_PAD_ in the environment). The process then holds its peak working set.
    Returns whether glibc took the settings (False elsewhere, where nothing changes)."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
                and mallopt(M_TOP_PAD, 1 << 28))


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    last_val_seconds = 0.0
    if args.selftest:
        fails = selftest()
        print("\n".join(fails) if fails else "train.py selftest: weight average, schedule, loss, init, resume, train-only ok")
        return 1 if fails else 0
    if args.export:
        return export(args)
    if args.flops_only:
        print(describe_cost(config_from_args(args)))
        return 0
    ck = None
    last_path = os.path.join(args.run, "last.pt")
    if args.resume and args.init:
        print("train: --init starts a new run, --resume continues %s: not both" % last_path,
              file=sys.stderr)
        return 2
    if args.resume:
        if not os.path.exists(last_path):
            print("train: --resume but %s does not exist" % last_path, file=sys.stderr)
            return 1
        ck = torch.load(last_path, map_location="cpu", weights_only=False)
        for line in resume_args(args, given_flags(sys.argv[1:] if argv is None else argv),
                                ck["args"]):
            print(line)
    if args.corpus is None or not os.path.isdir(args.corpus):
        print("train: %s: pass --corpus CORPUS, the pools folder that "
              "training/corpus/build_corpus.py --out wrote"
              % ("no --corpus" if args.corpus is None else "no folder " + args.corpus),
              file=sys.stderr)
        return 2

    import dnr_mix

    speed_range = parse_speed_range(args.speech_speed_range)
    formant_range = parse_formant_range(args.speech_formant_range)
    try:
        layer_lu, clip_lu = (float(v) for v in args.level_range.split(","))
        if not (0 <= layer_lu <= 12 and 0 <= clip_lu <= 12):
            raise ValueError
    except ValueError:
        print("train: --level-range %s: want LAYER,CLIP in LU, each 0 to 12"
              % args.level_range, file=sys.stderr)
        return 2
    os.makedirs(args.run, exist_ok=True)
    device = torch.device(args.device)
    if not args.free_heap:
        keep_heap()
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda" and not args.no_tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    init = init_sd = None
    if args.warmup < 0:
        print("train: --warmup %d: a number of steps, 0 or more" % args.warmup, file=sys.stderr)
        return 2
    if ck is not None:
        config = ck["config"]  # the flags were made the checkpoint's above (resume_args)
        if config != config_from_args(args):
            print("train: resuming with the checkpoint's configuration")
    else:
        if args.init:
            try:
                init, init_sd, config = read_init(args.init)
            except (OSError, mrx_io.ModelError) as e:
                print("train: --init %s: %s" % (args.init, getattr(e, "strerror", None) or e),
                      file=sys.stderr)
                return 1
            # the session record and the checkpoints then state the model actually trained
            for key, value in (("hidden", config["hidden"]), ("layers", config["lstm_layers"]),
                               ("windows", ",".join(map(str, config["window_lengths"]))),
                               ("hop", config["hop"]), ("sample_rate", config["sample_rate"])):
                if getattr(args, key) != value:
                    print("train: --%s %s from %s" % (key.replace("_", "-"), value, args.init))
                    setattr(args, key, value)
            print("train: starting from the weights of %s (sha256 %s%s)" % (
                args.init, init["sha256"][:16],
                ", commit %s" % init["commit"][:12] if init.get("commit") else ""))
        config = config_from_args(args)
        torch.manual_seed(args.seed)
        np.random.seed(args.seed)
        random.seed(args.seed)
    print(describe_cost(config))

    model = mrx_ref.MRX(**config)
    if args.lstm_dropout > 0:
        for lstm in model._cross_net.lstm:  # nn.LSTM reads .dropout at every forward
            lstm.dropout = float(args.lstm_dropout)
    if not args.nn_lstm:
        import fast_lstm
        if not fast_lstm.selfcheck():
            print("train: fast_lstm.selfcheck failed; use --nn-lstm", file=sys.stderr)
            return 1
        fast_lstm.install(model)
    if not args.reference_istft:
        import fast_istft
        if not fast_istft.selfcheck():
            print("train: fast_istft.selfcheck failed; use --reference-istft", file=sys.stderr)
            return 1
        fast_istft.install(model)  # model.forward; the cross net's forward stays fast_lstm's
    if init_sd is not None:
        missing, unexpected = model.load_state_dict(init_sd, strict=False)
        missing = [k for k in missing if not k.endswith(".num_batches_tracked")]
        if missing or unexpected:  # read_init validated the names: cannot happen
            raise RuntimeError("--init: missing %s, unexpected %s" % (missing, unexpected))
    if args.train_only:
        try:
            train_only(model, args.train_only, config["sources"])
        except ValueError as e:
            print("train: --train-only: %s" % e, file=sys.stderr)
            return 2
        print("train: --train-only %s: %d of %d weights trained, the rest frozen" % (
            args.train_only, sum(p.numel() for p in model.parameters() if p.requires_grad),
            sum(p.numel() for p in model.parameters())))
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5,
                                                       patience=args.patience,
                                                       min_lr=args.min_lr)
    step = 0
    best = {"score": -math.inf}
    train_seconds = 0.0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        step = int(ck["step"])
        best = ck["best"]
        train_seconds = float(ck.get("train_seconds", 0.0))
        init = ck.get("init")
        set_rng_state(ck["rng"])
        print("train: resumed %s at step %d (best score %.3f dB)"
              % (last_path, step, best["score"]))
    average = None
    if args.ema > 0:
        if not args.ema < 1:
            print("train: --ema %g: the decay must be below 1" % args.ema, file=sys.stderr)
            return 2
        saved_avg = ck.get("ema") if ck is not None else None
        average = WeightAverage(model, args.ema, saved_avg)
        print("train: weight average, decay %g, %s" % (
            args.ema, "resumed" if saved_avg is not None else "from the weights of step %d" % step))
    elif ck is not None and ck.get("ema") is not None:
        print("train: the checkpoint's weight average is dropped (no --ema)")
    model.train()

    # validation set
    val_dir = args.val_dir or os.path.join(os.path.dirname(os.path.abspath(args.run)),
                                           "validation-%d" % args.val_seed)
    from eval import find_tracks
    if not (os.path.isdir(val_dir) and find_tracks(val_dir)):
        print("train: writing %d validation mixtures to %s" % (args.val_count, val_dir))
        dnr_mix.make_validation_set(val_dir, args.val_count, args.val_seed, args.corpus,
                                    cache_dir=args.cache, jobs=args.decode_jobs)
    val_tracks = load_validation(val_dir, args.val_limit, args.val_seconds)
    print("train: validation: %d mixtures from %s%s" % (
        len(val_tracks), val_dir, "" if args.val_seconds is None
        else " (first %.0f s of each)" % args.val_seconds))

    mix_cfg = dnr_mix.MixConfig(mix_bandlimit_prob=0.1, gain_db=6.0,
                                speech_speed_prob=args.speech_speed,
                                speech_eq_prob=args.speech_eq,
                                speech_speed_range=speed_range,
                                speech_formant_prob=args.speech_formant,
                                speech_formant_range=formant_range,
                                speech_reverb_prob=args.speech_reverb,
                                speech_package_power=args.speech_package_power,
                                layer_range_lu=layer_lu, clip_range_lu=clip_lu)
    sampler = dnr_mix.MixSampler(args.corpus, "train", args.seed, args.crop, args.cache,
                                 config=mix_cfg, jobs=args.decode_jobs)
    print("train: pools %s" % ", ".join("%s %d files %.2f h" % (c, len(p), p.hours())
                                         for c, p in sampler.pools.items()))
    loader = torch.utils.data.DataLoader(
        SamplerStream(sampler, args.batch, step), batch_size=None, num_workers=args.workers,
        pin_memory=device.type == "cuda", prefetch_factor=4 if args.workers > 0 else 2,
        persistent_workers=False)
    device_name = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else "CPU (%d torch threads)" % torch.get_num_threads())
    print("train: %s, batch %d x %.1f s, lr %g, steps %d -> %d, %d data workers"
          % (device_name, args.batch, args.crop, opt.param_groups[0]["lr"], step, args.steps,
             args.workers))

    def checkpoint(path, val=None):
        save_checkpoint(path, model=model.state_dict(),
                        ema=average.state_dict() if average is not None else None,
                        optimizer=opt.state_dict(),
                        scheduler=sched.state_dict(), step=step, config=config,
                        args=vars(args), rng=rng_state(), best=best, val=val,
                        train_seconds=train_seconds, device_name=device_name, init=init,
                        pool_high_pass_hz=dict(dnr_mix.HIGH_PASS_HZ))

    # Each session's flags, so that a run trained in sessions with different schedules (a
    # warm restart, a decay added later) can be described and reproduced (model_card.py).
    log_line(args.run, {"step": step, "session": {
        "args": vars(args), "device_name": device_name, "train_seconds": train_seconds,
        "init": init,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
    stem_weights = parse_stem_weights(args.stem_weights, config["sources"])
    acc = {"loss": [], "snr": [], "gnorm": [], "data": 0.0, "compute": 0.0}
    skipped = 0
    it = iter(loader)
    t_mark = time.time()
    deadline = None if args.time_limit is None else t_start + 60.0 * args.time_limit
    stop = False
    while step < args.steps and not stop:
        t0 = time.time()
        got_step, mix, stems = next(it)
        if got_step != step:
            raise RuntimeError("data stream out of order: got step %d, expected %d"
                               % (got_step, step))
        mix = mix.to(device, non_blocking=True)
        stems = stems.to(device, non_blocking=True)
        t1 = time.time()
        est = consistent_t(model(mix), mix, args.train_consistency, config["sources"])
        loss, per_stem, _ = snr_terms(est, stems, mix, args.silent_weight, stem_weights)
        opt.zero_grad(set_to_none=True)
        lr = scheduled_lr(args, step)
        if lr is not None:
            for group in opt.param_groups:
                group["lr"] = lr
        if not torch.isfinite(loss):
            skipped += 1
            print("train: step %d: non-finite loss, skipped (%d so far)" % (step, skipped))
        else:
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            if average is not None:
                average.update()
            acc["loss"].append(float(loss.detach()))
            acc["snr"].append(per_stem.cpu().numpy())
            acc["gnorm"].append(float(gnorm))
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.time()
        acc["data"] += t1 - t0
        acc["compute"] += t2 - t1
        train_seconds += t2 - t0
        step += 1

        if step % args.log_every == 0 or step == args.steps:
            n = max(1, len(acc["loss"]))
            with warnings.catch_warnings():  # a stem silent in every batch: nan, no warning
                warnings.simplefilter("ignore", RuntimeWarning)
                snr = (np.nanmean(np.stack(acc["snr"]), axis=0) if acc["snr"]
                       else [np.nan] * len(config["sources"]))
            now = time.time()
            rec = {"step": step, "loss": float(np.mean(acc["loss"])) if acc["loss"] else None,
                   "snr": {s: float(v) for s, v in zip(config["sources"], snr)},
                   "grad_norm": float(np.mean(acc["gnorm"])) if acc["gnorm"] else None,
                   "lr": opt.param_groups[0]["lr"],
                   "sec_per_step": (now - t_mark) / n, "data_wait": acc["data"] / n,
                   "compute": acc["compute"] / n, "train_hours": train_seconds / 3600}
            print("step %6d  loss %7.3f  SNR %s  |g| %6.2f  lr %.2g  %.2f s/step (data wait %.2f)"
                  % (step, rec["loss"] if rec["loss"] is not None else float("nan"),
                     " ".join("%s %6.2f" % kv for kv in rec["snr"].items()),
                     rec["grad_norm"] or float("nan"), rec["lr"], rec["sec_per_step"],
                     rec["data_wait"]), flush=True)
            log_line(args.run, rec)
            acc = {"loss": [], "snr": [], "gnorm": [], "data": 0.0, "compute": 0.0}
            t_mark = time.time()

        # Stop early enough to validate and save: one more step plus a validation as long
        # as the last one. At a scheduled validation, stop there if this validation and then
        # a step and another validation would not fit, rather than validating twice in a row.
        scheduled = step % args.val_every == 0
        if deadline is not None and (time.time() + (t2 - t0)
                                     + last_val_seconds * (2 if scheduled else 1)) > deadline:
            stop = True
        if scheduled or step == args.steps or stop:
            tv = time.time()
            if average is not None:
                with average.scored(model):
                    val = validate(model, val_tracks, device, config["sources"],
                                   args.train_consistency)
            else:
                val = validate(model, val_tracks, device, config["sources"],
                                   args.train_consistency)
            if args.decay_start is None or step < args.decay_start:
                sched.step(val["score"])
            is_best = val["score"] > best["score"]
            if is_best:
                best = {"score": val["score"], "step": step, "val": val}
            print("validation at step %d: %s  mean improvement %.2f dB%s  (%.1f s)" % (
                step, "  ".join("%s %.2f (mix %.2f, +%.2f)" % (
                    s, val[s]["si_sdr"], val[s]["mixture"], val[s]["improvement"])
                    for s in config["sources"]), val["score"], "  best" if is_best else "",
                time.time() - tv), flush=True)
            last_val_seconds = time.time() - tv
            log_line(args.run, {"step": step, "val": val, "best": is_best})
            if is_best:
                checkpoint(os.path.join(args.run, "best.pt"), val)
            checkpoint(last_path, val)
        elif step % args.ckpt_every == 0:
            checkpoint(last_path)
    checkpoint(last_path)
    print("train: %s at step %d; best mean SI-SDR improvement %.2f dB at step %s; %.2f h "
          "of training" % ("stopped by --time-limit" if stop and step < args.steps else "done",
                           step, best["score"], best.get("step"), train_seconds / 3600))
    return 0


if __name__ == "__main__":
    sys.exit(main())
