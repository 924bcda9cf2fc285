#!/usr/bin/python3
"""Write the model card (models/MODEL_CARD.md) of the shipped default model from facts on disk.

    model_card.py --run RUN --manifest /work/corpus/manifest.json --eval EVAL.json \\
        --model models/default.safetensors [-o models/MODEL_CARD.md] [--which best|last] \\
        [--hardware "2-core AMD EPYC, 24 GB, no GPU"] [--baseline-note TEXT]
    model_card.py --selftest

Reads RUN/{best,last}.pt (train.py checkpoints: step, config, args, val, train_seconds,
device_name; the weights only to check that the model file holds them, nothing is run; --which
names the exported one), RUN/log.jsonl (training lines, validation records and session
records: each session's flags, so that a run trained in phases with different schedules is
described as such and reproduced by one command per phase), the corpus manifest
(build_corpus.py), the JSON of `eval.py ... --json`, the model file (safetensors
header and metadata) and the repository root (for a LICENSE file). Writes the Markdown card
to -o ('-': stdout). The numbers come from these files or the tools' code (mrx_io.flop_estimate,
dnr_mix.MixConfig, train.parse_args' defaults); the verdicts against the issue's targets are
computed. A missing or malformed input: a message on stderr, exit status 1.
"""

import argparse
import hashlib
import json
import math
import os
import re
import struct
import sys
import tempfile

import numpy as np

TRAINING = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TRAINING)
sys.path[:0] = [TRAINING, os.path.join(REPO, "tools")]  # training/, the product's tools/
import dnr_mix  # noqa: E402
import mrx_io  # noqa: E402
import train  # noqa: E402  (imports torch)

TARGETS = {"speech": 8.0, "music": 6.0, "sfx": 6.0}       # issue 3: mean SI-SDRi at least (dB)
PUBLISHED = {"speech": 11.5, "music": 11.0, "sfx": 10.7}  # authors' DnR SI-SDRi (the issue's)
HISTORY_ROWS = 15
NOT_TRAINING_FLAGS = ("run", "resume", "export", "which", "f16", "flops_only", "time_limit",
                      "selftest")
# train.py's model flags: a resumed session takes the configuration from the checkpoint
MODEL_FLAGS = ("hidden", "layers", "windows", "hop", "sample_rate")
# flags that only the session starting a run uses (a resumed one leaves them unset)
START_FLAGS = ("init",)
EMBEDDED = "embedded default model"  # eval.py's model name without -m


class CardError(Exception):
    pass


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise CardError("%s %s: %s" % (what, path, e.strerror))
    except ValueError as e:
        raise CardError("%s %s is not valid JSON: %s" % (what, path, e))


def need(d, keys, what):
    missing = [k for k in keys if not isinstance(d, dict) or k not in d]
    if missing:
        raise CardError("%s lacks %s" % (what, ", ".join(missing)))


def load_checkpoint(path):
    if not os.path.isfile(path):
        raise CardError("checkpoint %s does not exist" % path)
    try:
        ck = train.torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many kinds
        raise CardError("checkpoint %s cannot be read: %s" % (path, e))
    need(ck, ("step", "config", "args", "train_seconds"), "checkpoint %s" % path)
    if not isinstance(ck["args"], dict):
        raise CardError("checkpoint %s: args is not a dict" % path)
    # flags added to train.py after the run was started: their defaults
    ck["args"] = dict(vars(train.parse_args([])), **ck["args"])
    return ck


def read_log(path):
    """(training log lines in file order, validation records by step, session records by
    step; a resumed run repeats steps, and the later record counts)."""
    lines, vals, sessions = [], {}, {}
    try:
        with open(path) as f:
            for n, text in enumerate(f, 1):
                try:
                    rec = json.loads(text) if text.strip() else None
                    step = rec and int(rec["step"])
                except (ValueError, KeyError, TypeError):
                    raise CardError("%s:%d is not a train.py log record" % (path, n))
                if rec and isinstance(rec.get("val"), dict):
                    vals[step] = rec
                elif rec and isinstance(rec.get("session"), dict):
                    need(rec["session"], ("args",), "%s:%d (a session record)" % (path, n))
                    sessions[step] = rec
                elif rec and "loss" in rec:
                    lines.append(rec)
    except OSError as e:
        raise CardError("log %s: %s" % (path, e.strerror))
    return lines, [vals[k] for k in sorted(vals)], [sessions[k] for k in sorted(sessions)]


def training_flags(args):
    """The flags that shape a session's training, apart from --steps and the model's flags
    (which a resumed session takes from the checkpoint)."""
    return {k: v for k, v in args.items()
            if k not in NOT_TRAINING_FLAGS + MODEL_FLAGS + START_FLAGS + ("steps",)}


def phases(sessions, last):
    """The run's schedule as [{"start", "end", "args", "sessions"}]: consecutive sessions
    with the same training flags form one phase (the data drawn do not depend on where a run
    was interrupted). A log without session records (train.py wrote none before they were
    added) gives one phase with the last checkpoint's flags."""
    defaults = vars(train.parse_args([]))
    if not sessions:
        return [{"start": 0, "end": last["step"], "args": last["args"], "sessions": 1}]
    if sessions[0]["step"] != 0:
        raise CardError("the log's first session record is at step %d: the flags of the "
                        "sessions before it are not recorded" % sessions[0]["step"])
    out = []
    for rec in sessions:
        a = dict(defaults, **rec["session"]["args"])
        if out and training_flags(out[-1]["args"]) == training_flags(a):
            out[-1]["sessions"] += 1
        else:
            out.append({"start": rec["step"], "args": a, "sessions": 1})
    for p, q in zip(out, out[1:] + [None]):
        p["end"] = q["start"] if q else last["step"]
    return out


def lr_before(lines, step):
    """The learning rate of the last training line at or before step (None if none)."""
    known = [r["lr"] for r in lines if r["step"] <= step and r.get("lr") is not None]
    return known[-1] if known else None


def schedule_text(ph, lines):
    """The learning-rate schedule of the phases, as one sentence."""
    parts = []
    for p in ph:
        a, s, e = p["args"], p["start"], p["end"]
        ds = a.get("decay_start")
        w = a.get("warmup") or 0
        if w > s:
            parts.append("steps %d-%d: rising linearly from %g to %g%s" % (
                s, min(e, w), a["lr"] / w, a["lr"],
                "" if ds is None or ds >= min(e, w) else " (times the cosine below)"))
            s = min(e, w)
        upto = e if ds is None else min(e, ds)
        if upto > s:
            lr0 = a["lr"] if s in (0, w) else lr_before(lines, s)
            # the plateau scheduler only acts at validations: every --val-every steps and
            # at the end of the phase
            validated = upto == e or upto // a["val_every"] > s // a["val_every"]
            parts.append("steps %d-%d: %s%s" % (
                s, upto, "%g" % lr0 if s in (0, w) else
                "the checkpoint's %s" % ("%g" % lr0 if lr0 else "rate"),
                ", halved after %d validations without improvement (floor %g)"
                % (a["patience"], a["min_lr"]) if validated else ""))
        if ds is not None and ds < e and max(s, ds) < e:
            end = ds + a["decay_steps"]
            parts.append("steps %d-%d: a cosine from %g down to %g over steps %d-%d%s" % (
                max(s, ds), e, a["lr"], a["decay_lr"], ds, end,
                ", then %g" % a["decay_lr"] if end < e else ""))
    return "; ".join(parts)


def read_model(path):
    """(float32 tensors, config, dtype names, bytes)."""
    try:
        tensors, config = mrx_io.read_model_file(path)
        with open(path, "rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    except Exception as e:
        raise CardError("model file %s: %s" % (path, e))
    dtypes = sorted({v["dtype"] for k, v in header.items() if k != "__metadata__"})
    return tensors, config, dtypes, os.path.getsize(path)


def weights_match(tensors, dtypes, state):
    """How the model file's tensors compare with the checkpoint's, as a phrase."""
    if not state:
        return "not compared (the checkpoint holds no weights)"
    width, worst = (np.float16 if dtypes == ["F16"] else np.float32), 0.0
    for k, a in tensors.items():
        if k not in state or tuple(state[k].shape) != a.shape:
            return "DIFFERS from the checkpoint: %s is missing there or has another shape" % k
        b = state[k].detach().float().numpy().astype(width).astype(np.float32)
        worst = max(worst, float(np.abs(a - b).max()) if a.size else 0.0)
    if worst == 0.0:
        return "identical to the checkpoint's weights rounded to %s" % "/".join(dtypes)
    return "DIFFERS from the checkpoint's weights (max abs difference %.3g)" % worst


def num(x):
    """float or None from a JSON value (eval.py writes NaN as null, inf as "inf")."""
    try:
        return float(x) if math.isfinite(float(x)) else None
    except (TypeError, ValueError):
        return None


def db(x):
    return "n/a" if num(x) is None else "%.2f" % num(x)


def hm(seconds):
    m = int(round(seconds / 60.0))
    return "%.2f h (%d h %02d min)" % (seconds / 3600.0, m // 60, m % 60)


def table(header, rows):
    cell = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows])


def licence_summary(lic):
    """The copyright file's License: fields, or, when there are none, what its text names."""
    if lic.get("licenses"):
        return ", ".join(lic["licenses"])
    text = "\n".join(lic.get("license_lines") or lic.get("head") or [])
    found = re.findall(r"common-licenses/([A-Za-z0-9.+-]+[0-9A-Za-z])", text)
    for pat, name in ((r"Creative Commons", "Creative Commons"), (r"\bMIT\b", "MIT"),
                      (r"Lesser General Public|Library General Public|\bLGPL", "LGPL"),
                      (r"GNU General Public License|\bGPL", "GPL"), (r"Apache License", "Apache"),
                      (r"\bBSD\b|Redistribution and use in source", "BSD-style"),
                      (r"public domain", "public domain")):
        if re.search(pat, text, re.I) and not any(f.startswith(name) for f in found):
            found.append(name)
    return ("%s (from the text; see the copyright file)" % ", ".join(dict.fromkeys(found))
            if found else "see the copyright file")


def train_command(args, last_step, config, resume=False, before=None):
    """train.py's command line: the flags whose values differ from its defaults. The model's
    flags come from the checkpoint's configuration: a resumed session's args hold their
    defaults, as --resume takes the configuration from the checkpoint; with resume, the
    command of a later phase, they and the data flags (seed, batch, crop) are left out, and
    a flag back at its default after `before` (the previous phase's args) is given too, as
    --resume takes every flag not given from the checkpoint."""
    from_config = {"hidden": config["hidden"], "layers": config["lstm_layers"],
                   "windows": ",".join(map(str, config["window_lengths"])),
                   "hop": config["hop"], "sample_rate": config["sample_rate"]}
    cmd = ["/usr/bin/python3 training/train.py --run %s%s" % (args["run"], " --resume" if resume else "")]
    for key, dflt in vars(train.parse_args([])).items():
        if resume and key in MODEL_FLAGS + START_FLAGS + ("seed", "batch", "crop"):
            continue
        # a flag newer than the run: it ran with the default
        v = last_step if key == "steps" else from_config.get(key, args.get(key, dflt))
        back = (resume and before is not None and not isinstance(dflt, bool)
                and before.get(key, dflt) != v)
        if key not in NOT_TRAINING_FLAGS and (v != dflt or back):
            flag = "--" + key.replace("_", "-")
            cmd.append(flag if isinstance(dflt, bool) else "%s %s" % (
                flag, "%g" % v if isinstance(v, float) else v))
    return " ".join(cmd)


def init_text(init):
    """The starting point of a run begun with train.py --init, as a phrase."""
    where = ("`%s` at commit %s" % (init["repo_path"], init["commit"][:12])
             if init.get("commit") else "`%s`" % init["path"])
    return "the weights of %s (sha256 %s...)" % (where, init["sha256"][:16])


def lineage_text(train_seconds, init):
    """What the training time line adds for a run begun with --init: the runs before it,
    from the training record of the file it started from (mrx_io), when it has one."""
    prior = (init or {}).get("training")
    if not init:
        return ""
    if not prior or not prior["history"]:
        return "; the model it started from trained before that (its file records no history)"
    hist = prior["history"]
    steps = sum(int(h["steps"]) for h in hist)
    before = sum(float(h["seconds"]) for h in hist)
    return ("; with the %d run%s before it that its starting file records (%d steps, %.2f h), "
            "%s in all%s" % (len(hist), "" if len(hist) == 1 else "s", steps, before / 3600.0,
                             hm(train_seconds + before),
                             "" if prior["complete"] else ", and more before those, which "
                             "recorded no history"))


def summary_section(o, config, manifest, init=None):
    path = os.path.abspath(o.model)
    how = ("trained it from scratch (no pretrained weights, no DnR data)" if init is None else
           "trained it (no weights from elsewhere, no DnR data)")
    cont = ([] if init is None else [
        "This version continues an earlier default model: its training run started from %s, "
        "not from random weights, so the steps, hours and history below are this run's only; "
        "%s." % (init_text(init), "the model it started from, its card and the runs before it "
                 "are in the repository's history at that commit" if init.get("commit") else
                 "that model's own training is not described here"), ""])
    return ["# Model card: mrxcl default model", "",
            "`%s` is an MRX network (Petermann, Wichern, Wang, Le Roux, \"The Cocktail Fork "
            "Problem\", ICASSP 2022) that separates a soundtrack into speech, music and sound "
            "effects. The mrxcl project %s on DnR-style mixtures of freely licensed audio from %d Debian packages. When "
            "the file is in the tree at build time it is embedded in the mrxcl library and "
            "binary, which use it when neither `-m` nor `MRXCL_MODEL` names a model. Its sources, "
            "in output order: %s."
            % (os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else o.model, how,
               len(manifest["packages"]), ", ".join(config["sources"])), ""] + cont + [
            "This card is generated by `training/model_card.py` from the training run, the corpus "
            "manifest, the evaluation results and the model file; regenerate it rather than "
            "editing it.", ""]


def config_section(config, dtypes, size, match):
    f, sr, hop = mrx_io.flop_estimate(config), config["sample_rate"], config["hop"]
    params, mb = mrx_io.parameter_count(config), size / 1e6
    within = lambda v, b: "within" if v <= b else "OVER"  # noqa: E731
    if mb > mrx_io.MB_BUDGET or f["total"] > mrx_io.GFLOP_BUDGET:
        print("model_card: WARNING: the model is over the issue's budget (%.2f MB of %.0f, "
              "%.3f GFLOP/s of %.1f); a file over 25 MB fails ctest default_model_budget: "
              "store it as F16 (tools/convert.py MODEL OUT --f16)"
              % (mb, mrx_io.MB_BUDGET, f["total"], mrx_io.GFLOP_BUDGET), file=sys.stderr)
    rows = [("Sample rate", "%d Hz" % sr),
            ("STFT hop", "%d samples (%.1f ms)" % (hop, 1000.0 * hop / sr)),
            ("Windows", ", ".join("%d (%.1f ms)" % (n, 1000.0 * n / sr)
                                  for n in config["window_lengths"])),
            ("Hidden size", config["hidden"]),
            ("LSTM layers", "%d (bidirectional, one stack per source)" % config["lstm_layers"]),
            ("Sources (output order)", ", ".join(config["sources"])),
            ("Parameters", "{:,} ({:.2f} M)".format(params, params / 1e6)),
            ("Model file", "%.2f MB (10^6 bytes), %s; issue budget %.0f MB: %s"
             % (mb, "/".join(dtypes), mrx_io.MB_BUDGET, within(mb, mrx_io.MB_BUDGET))),
            ("Forward cost", "%.3f GFLOP per mono audio second (GEMM %.3f, LSTM %.3f, FFT %.3f, "
             "other %.3f); issue budget %.1f: %s"
             % (f["total"], f["gemm"], f["lstm"], f["fft"], f["other"], mrx_io.GFLOP_BUDGET,
                within(f["total"], mrx_io.GFLOP_BUDGET))),
            ("Weights", match)]
    return ["## Configuration", ""] + table(("Item", "Value"), rows) + [""]


def training_section(o, ck, last, lines, vals, ph, run_val):
    a, sources = ck["args"], ck["config"]["sources"]
    seen = ck["step"] * a["batch"] * a["crop"] / 3600.0
    logged = {v["step"]: v["val"] for v in vals}
    score = (ck.get("val") or logged.get(ck["step"]) or {}).get("score")
    out = ["## Training", "",
           "- Steps: the exported checkpoint (`%s.pt`) is step %d; the run reached step %d."
           % (o.which, ck["step"], last["step"]),
           "- Batch: %d mixtures x %g s crops; training audio seen up to the exported step: "
           "%.2f h of mixtures (steps x batch x crop)." % (a["batch"], a["crop"], seen),
           "- Loss and optimiser: the authors' SNR loss%s%s; Adam, gradient norm clipped at "
           "%g; LSTM dropout %g; seed %d." % (
               " plus a silent-reference term of weight %g" % a["silent_weight"]
               if a["silent_weight"] else " (silent-reference weight 0)",
               ", the stems' terms weighted %s" % a["stem_weights"].replace(",", ", ")
               if a.get("stem_weights") else "", a["clip"],
               a["lstm_dropout"], a["seed"]),
           "- Learning rate: %s." % schedule_text(ph, lines)]
    if ck.get("init"):
        out.insert(2, "- Starting point: %s (train.py --init); the optimiser started afresh."
                   % init_text(ck["init"]))
    averaged = [p for p in ph if p["args"].get("ema")]
    if averaged:
        out.append("- Weight averaging: %s; validation, the choice of the best checkpoint and "
                   "the export use the average, training goes on from the raw weights%s." % (
                       "; ".join("steps %d-%d: an exponential moving average of the weights, "
                                 "decay %g per step" % (p["start"], p["end"], p["args"]["ema"])
                                 for p in averaged),
                       "" if ck.get("ema") is not None or ck.get("weights_dropped") == "ema" else
                       " (the exported checkpoint predates it: raw weights)"))
    lr_lines = [r for r in lines if r.get("lr") is not None]
    if lr_lines:
        out.append("- Final learning rate: %g (log line at step %d)."
                   % (lr_lines[-1]["lr"], lr_lines[-1]["step"]))
    out += ["- Training time (data and compute, validation excluded): %s to the exported step, "
            "%s for the whole run%s." % (hm(ck["train_seconds"]), hm(last["train_seconds"]),
                                        lineage_text(ck["train_seconds"], ck.get("init"))),
            "- Hardware: \"%s\" (train.py's record)%s." % (
                last.get("device_name", "not recorded"), "; " + o.hardware if o.hardware else ""),
            "- Exported checkpoint: `%s.pt`, step %d; %s." % (o.which, ck["step"], (
                "mean validation SI-SDR improvement over the stems %s dB" % db(score))
                if num(score) is not None else "no validation at that step"),
            "- Validation during training: %d fixed mixtures (seed %d) in `%s`%s%s, every %d "
            "steps; the best checkpoint is the one with the highest mean improvement."
            % (val_tracks(run_val, a["val_count"]), a["val_seed"], run_val,
               "" if a["val_limit"] is None
               else ", the first %d of them scored" % a["val_limit"], "" if a["val_seconds"]
               is None else " on their first %g s" % a["val_seconds"], a["val_every"])]
    def phase_of(step):
        return next((p for p in ph if p["start"] < step <= p["end"]), ph[-1])

    # Validations at a phase's end are reproduced by its command's --steps; others off the
    # --val-every schedule ended a session. During a decay they feed nothing.
    off = [v["step"] for v in vals
           if v["step"] % phase_of(v["step"])["args"]["val_every"]
           and v["step"] not in [p["end"] for p in ph]
           and (phase_of(v["step"])["args"].get("decay_start") is None
                or v["step"] < phase_of(v["step"])["args"]["decay_start"])]
    if off:
        out.append("- %s off the --val-every schedule (step%s %s%s), at the "
                   "end%s; %s the learning-rate scheduler, which an "
                   "uninterrupted run would not do." % (
                       "One validation ran" if len(off) == 1 else "%d validations ran" % len(off),
                       "" if len(off) == 1 else "s", ", ".join(map(str, off[:8])),
                       " ..." if len(off) > 8 else "", " of a session" if len(off) == 1 else "s of sessions",
                       "it fed" if len(off) == 1 else "they fed"))
    if not vals:
        return out + ["", "The log holds no validation records.", ""]
    idx = set(np.linspace(0, len(vals) - 1, min(HISTORY_ROWS, len(vals))).round().astype(int))
    idx |= {i for i, v in enumerate(vals) if v["step"] == ck["step"]}
    lr_at = {r["step"]: r.get("lr") for r in lines}
    rows = [[v["step"]] + [db((v["val"].get(s) or {}).get("improvement")) for s in sources]
            + [db(v["val"].get("score")), "%.3g" % lr_at[v["step"]] if lr_at.get(v["step"]) else "",
               "exported" if v["step"] == ck["step"] else ""]
            for v in (vals[i] for i in sorted(idx))]
    return out + ["", "Validation history (SI-SDR improvement in dB, mean over the mixtures; %d "
                  "of %d validations shown; lr from the log line of that step):"
                  % (len(rows), len(vals)), ""] + table(
        ["Step"] + list(sources) + ["Mean", "lr", ""], rows) + [""]


def consistency_note(ev):
    """How eval.py shared the residual among the stems (its JSON's "consistency")."""
    mode = ev.get("consistency")
    if mode is None:
        return ""
    return ", mixture consistency `%s`%s" % (
        mode, " (the mode the model file names, mrxcl separate's default for it)"
        if ev.get("consistency_from_model") else "")


def eval_section(o, ev, config, run_val):
    summ, tracks = ev["summary"], ev.get("tracks") or []
    audio, sep = num(ev.get("audio_seconds")) or 0.0, num(ev.get("separate_seconds"))
    backend = ("the mrxcl binary (`%s`)" % repo_relative(ev.get("binary")) if ev.get("backend") == "mrxcl"
               else "the PyTorch reference (tools/mrx_ref.py)")
    out = ["## Validation results", "",
           "Scored with `training/eval.py` on %d tracks (%.1f min of audio) in `%s`, separated by "
           "%s%s, model: %s%s. Separation ran at %s real time."
           % (len(tracks), audio / 60.0, ev["dir"], backend,
              "" if ev.get("device") is None else " on device %s" % ev["device"],
              "`%s`" % repo_relative(ev.get("model")),
              consistency_note(ev),
              "%.2fx" % (audio / sep) if sep else "an unrecorded multiple of"), ""]
    if os.path.realpath(ev["dir"]) == os.path.realpath(run_val):
        out += ["These are the mixtures the run validated on%s." % (
            ", so the exported checkpoint was chosen on them: the figures are somewhat "
            "optimistic" if o.which == "best" else ""), ""]
    rows, verdicts = [], []
    for s in sorted(summ, key=lambda s: (config["sources"] + [s]).index(s)):
        d = summ[s]
        need(d, ("estimate", "mixture", "improvement"), "eval summary of %s" % s)
        imp, verdict = num(d["improvement"].get("mean")), ""
        if s in TARGETS:
            verdict = "not scored" if imp is None else "met" if imp >= TARGETS[s] else "not met"
            verdicts.append("%s %s dB against at least %g: %s" % (s, db(imp), TARGETS[s], verdict))
        rows.append([s] + [db(d[k].get(m)) for k in ("estimate", "mixture", "improvement")
                           for m in ("mean", "median")]
                    + [d["estimate"].get("count", ""),
                       "%g dB: %s" % (TARGETS[s], verdict) if s in TARGETS else "",
                       "%.1f" % PUBLISHED[s] if s in PUBLISHED else ""])
    out += table(("Stem", "SI-SDR mean", "median", "Mixture mean", "median", "SI-SDRi mean",
                  "median", "Tracks", "Issue target", "Authors on DnR"), rows)
    out += ["", "SI-SDR in dB; \"Mixture\" scores the mixture itself as the estimate, SI-SDRi is "
            "the model's improvement over it, per track. Issue targets (mean SI-SDRi): %s. The "
            "authors' published figures are SI-SDR improvements on DnR's test set, not on these "
            "mixtures, so they are a reference point rather than a like-for-like comparison."
            % "; ".join(verdicts), ""]
    return out + (["Note: " + o.baseline_note, ""] if o.baseline_note else [])


def limits_rows(sources, ev, fit, oracle):
    """Rows [stem, validation, training-pool mixtures, oracle masks, gain were the
    validation estimates silent in their references' gaps] of mean SI-SDRi (dB strings,
    "n/a" where a JSON is absent or the stem was not scored)."""
    def mean(e, s, kind="improvement"):
        if e is None or s not in e["summary"] or kind not in e["summary"][s]:
            return None
        return num(e["summary"][s][kind].get("mean"))
    gain = lambda v: "n/a" if v is None else "+%.2f" % v  # noqa: E731
    return [[s, db(mean(ev, s)), db(mean(fit, s)), db(mean(oracle, s)),
             gain(mean(ev, s, "silent_gaps"))] for s in sources]


def repo_relative(path):
    """A path under the repository as the card shows it (relative to the repository root,
    as its commands run there); any other path as it is."""
    if path and os.path.isabs(path) and path.startswith(REPO + os.sep):
        return os.path.relpath(path, REPO)
    return path


def same_model(a, b):
    """Whether two eval JSONs' model paths name the same weights: the same path, or two files
    that are still there and hold the same bytes (a run's export and its copy in models/)."""
    if a == b:
        return True
    if not (a and b and os.path.isfile(a) and os.path.isfile(b)):
        return False
    digest = lambda p: hashlib.sha256(open(p, "rb").read()).digest()  # noqa: E731
    return digest(a) == digest(b)


def limits_section(o, ev, fit, oracle, config):
    """What limits the model, in figures: the same model on fixed mixtures of its training
    pools (--fit-eval) and ideal ratio masks at its resolutions (--oracle-eval)."""
    if fit is None and oracle is None:
        return []
    if oracle is not None and oracle.get("backend") != "oracle":
        raise CardError("--oracle-eval %s was not written by eval.py --oracle" % o.oracle_eval)
    if fit is not None and fit.get("backend") == "oracle":
        raise CardError("--fit-eval %s holds oracle scores, not the model's" % o.fit_eval)
    if fit is not None and not same_model(fit.get("model"), ev.get("model")):
        raise CardError("--fit-eval scored model %s, --eval %s" % (fit.get("model"),
                                                                    ev.get("model")))
    n = lambda e: len(e.get("tracks") or [])
    out = ["### What limits it", "",
           "Mean SI-SDR improvement (dB) of the validation results above, next to the same "
           "model on fixed mixtures of its training pools and to ideal ratio masks at its "
           "STFT resolutions (`training/eval.py --oracle`, which masks with the references "
           "themselves). A model that scores low on both mixture sets is limited by its "
           "training (too few steps, too small a network); one that scores well only on its "
           "training pools by how far the validation audio lies from them; the oracle bounds "
           "what masking at these resolutions can reach. The last column is what the "
           "validation score would gain were the model's output silent wherever the stem is "
           "absent (its reference's 50 ms frames 50 dB or more below the loudest, eval.py's "
           "gap_error) and unchanged elsewhere: the most that training absent stems towards "
           "silence (train.py --silent-weight) could bring.", ""]
    out += table(("Stem", "Validation (%d tracks)" % n(ev),
                   "Training-pool mixtures (%s)" % ("%d tracks, `%s`" % (n(fit), fit["dir"])
                                                    if fit else "not scored"),
                   "Oracle ratio masks (%s)" % ("%d tracks" % n(oracle) if oracle
                                                else "not scored"),
                   "Validation: gain if silent in the stem's gaps"),
                  limits_rows(config["sources"], ev, fit, oracle))
    return out + [""]


def pack_text(pack, manifest):
    """Markdown lines on the subset of the train pools a GPU run trained on (the pack.json
    training/gpu/train.sh brings back), or [] without one."""
    if not pack:
        return []
    need(pack, ("pack", "shards", "of", "hours", "packages", "kbps_hours"), "pack summary")
    full = {c: d["train"]["hours"] for c, d in manifest["classes"].items()}
    parts = ", ".join("%s %.2f h of %.2f" % (c, pack["hours"].get(c, 0.0), full.get(c, 0.0))
                      for c in ("speech", "music", "sfx"))
    rates = ", ".join("%s kbit/s %.2f h" % (k, v) for k, v in
                      sorted(pack["kbps_hours"].items(), key=lambda kv: float(kv[0])))
    return ["This run trained on a GPU machine from a pack of the train pools "
            "(training/gpu/pools.py, pack %s, shards %s of %d arrived): %s; each package thinned "
            "evenly, the files drawn at random. The pack carries the audio as Ogg Opus at a "
            "bitrate chosen by each file's bandwidth (%s), decoded to 44.1 kHz before mixing, "
            "so the sources carry that codec's artefacts. Its validation used Opus copies of "
            "the first validation mixtures' stems; the validation results above are on the "
            "originals."
            % (pack["pack"], ",".join(map(str, pack["shards"])), pack["of"], parts, rates), ""]


def val_tracks(folder, asked):
    """Mixtures in the run's validation folder (train.py writes --val-count of them only
    when it finds none, so the folder may hold more), or the count asked for if it is
    gone."""
    try:
        return sum(os.path.isfile(os.path.join(folder, d, "mix.wav"))
                   for d in os.listdir(folder)) or asked
    except OSError:
        return asked


def augment_text(a):
    """The speech augmentation of train.py --speech-speed/--speech-formant/--speech-reverb/
    --speech-eq/--speech-package-power and --level-range, as a clause."""
    parts = []
    power = a.get("speech_package_power")
    if power is not None and power != 1.0:
        parts.append("each speech clip's package drawn with probability proportional to its "
                     "file count to the power %g (DnR's file-uniform draw is power 1)" % power)
    if a.get("speech_speed"):
        # runs older than --speech-speed-range used the default range
        text = a.get("speech_speed_range") or "%g,%g" % dnr_mix.SPEED_RANGE
        downs = dnr_mix.speed_downs(*(float(v) for v in text.split(",")))
        lo, hi = min(downs) / dnr_mix.SPEED_UP, max(downs) / dnr_mix.SPEED_UP
        parts.append("speech clips sped up or slowed down by a factor of %g to %g (pitch with "
                     "it) at probability %g" % (lo, hi, a["speech_speed"]))
    if a.get("speech_formant"):
        lo, hi = (float(v) for v in (a.get("speech_formant_range") or "0.85,1.18").split(","))
        parts.append("their formants moved by a factor of %g to %g (pitch and timing kept; "
                     "Praat's Change gender) at probability %g" % (lo, hi, a["speech_formant"]))
    if a.get("speech_reverb"):
        parts.append("put in a random room (RT60 %g to %g s, direct-to-reverberant ratio %g "
                     "to %g dB; the reverberant voice the target) at probability %g"
                     % (dnr_mix.REVERB_RT60_S + dnr_mix.REVERB_DRR_DB + (a["speech_reverb"],)))
    if a.get("speech_eq"):
        parts.append("passed through a random EQ (tilt +-2 dB per octave, one bell of +-9 dB) "
                     "at probability %g" % a["speech_eq"])
    levels = a.get("level_range")
    if levels and levels != "2,1":
        layer, clip = (float(v) for v in levels.split(","))
        parts.append("the class levels offset at random by up to +-%g LU per layer and "
                     "mixture and +-%g LU per clip (the validation mixtures: +-2 and +-1)"
                     % (layer, clip))
    if not parts:
        return ""
    return "; " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


def high_pass_text(hz):
    """The pools' high-pass (train.py records dnr_mix.HIGH_PASS_HZ in its checkpoints; runs
    before it had none), as a sentence."""
    if not hz:
        return ("The pools were not high-passed (runs before dnr_mix's cache version 2): "
                "they kept the recordings' DC offsets, hum and rumble. ")
    return ("The pools are high-passed as they are decoded (zero phase, %s), which takes "
            "out the recordings' DC offsets, mains hum and rumble. "
            % ", ".join("%s at %g Hz" % (c, hz[c]) for c in sorted(hz)))


def data_section(manifest, a, pack=None, high_pass_hz=None):
    cfg = dnr_mix.MixConfig()
    lv = cfg.levels
    out = ["## Data", "",
           "Mixtures follow Divide and Remaster (training/dnr_mix.py): four layers on a 60 s "
           "timeline (music, speech, sfx, and a quieter sfx background summed into the sfx "
           "stem), clips placed with random gaps at %s clips per minute; levels (BS.1770-4) "
           "speech %g, sfx %g, music %g, background %g LUFS with uniform offsets of +-%g LU per "
           "layer and mixture and +-%g LU per clip, then the mixture normalised to %g LUFS with "
           "the same gain on every stem, so the stems sum to the mix. %sMusic and sfx clips are "
           "band-limited at random as often as the speech pool is narrowband. Training mixtures "
           "are drawn on the fly from the train pools (%g s crops, seed %d, with a random "
           "+-6 dB gain and whole-mix band-limiting at probability 0.1%s); validation mixtures "
           "are fixed 60 s files from packages held out of training."
           % ("/".join("%g" % v for v in cfg.clips_per_minute.values()), lv["speech"],
              lv["sfx"], lv["music"], lv["background"], cfg.layer_range_lu, cfg.clip_range_lu,
              cfg.mix_lufs, high_pass_text(high_pass_hz), a["crop"], a["seed"],
              augment_text(a)), "",
           "Corpus: manifest version %s, rules version %s, built %s; %d files, %.2f h in all."
           % (manifest.get("manifest_version"), manifest.get("rules_version"),
              manifest.get("created"), manifest["totals"]["files"], manifest["totals"]["hours"]),
           ""] + pack_text(pack, manifest)
    for c, d in manifest["classes"].items():
        need(d, ("train", "validation"), "manifest class %s" % c)
        rows = []
        for split in ("train", "validation"):
            rows += [(p, split, v["files"], "%.2f" % v["hours"]) for p, v in
                     sorted(d[split]["packages"].items(), key=lambda kv: -kv[1]["hours"])]
            rows.append(("**%s total**" % split, "", d[split]["files"], "%.2f" % d[split]["hours"]))
        out += ["### %s" % c, ""] + table(("Package", "Split", "Files", "Hours"), rows) + [""]
    rows = [(n, p.get("version", "?"), ", ".join("%s (%s)" % (c, k.get("split", "?"))
                                                 for c, k in (p.get("kept") or {}).items()),
             licence_summary(p.get("license") or {}),
             "`%s`" % (p.get("license") or {}).get("file", "?"))
            for n, p in sorted(manifest["packages"].items())]
    sf = (manifest.get("rules") or {}).get("midi_soundfont")
    if sf:
        rows.append((sf.get("package", "?"), "not recorded", "renders the MIDI files (`%s`)"
                     % sf.get("file", "?"), licence_summary(sf.get("license") or {}),
                     "`%s`" % (sf.get("license") or {}).get("file", "?")))
    lic = [p for p in ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING")
           if os.path.exists(os.path.join(REPO, p))]
    out += ["### Licences", ""] + table(("Package", "Version", "Used for", "Licences",
                                         "Copyright file"), rows)
    out += ["", "The licences are those the packages' Debian copyright files declare for the "
            "package as a whole (its `License:` fields, or, where the file is not machine-"
            "readable, the licences its text names); they are not resolved per audio file. The "
            "model file is distributed under the project's terms%s. Several sources are "
            "copyleft (GPL, CC-BY-SA): whether a network's weights are a derivative of its "
            "training audio is unsettled, so redistributors should read the table above."
            % (" (`%s`)" % lic[0] if lic else
               "; the repository declares no licence file yet, so those terms are still to "
               "be set by the project"), ""]
    return out


def limitations_section(manifest, ev, a, seen):
    cl = manifest["classes"]
    bw = {c: cl[c]["train"].get("bandwidth_fraction_of_hours") or {} for c in cl}
    share = lambda c, k: "%.0f %%" % (100 * bw[c][k]) if k in bw.get(c, {}) else "n/a"  # noqa
    out = ["## Limitations", ""]
    if "speech" in bw:
        out.append("- Narrowband speech: %s of the speech training hours are at most 8 kHz wide "
                   "and %s at most 16 kHz (music: %s and %s). Music and sfx are band-limited "
                   "at random to match, but full-band speech is scarce in training."
                   % (share("speech", "<=8000"), share("speech", "<=16000"),
                      share("music", "<=8000"), share("music", "<=16000")))
    out += ["- Small pools: %s of training audio, from which the exported model drew %.2f h of "
            "mixtures, so clips recur often." % (", ".join(
                "%s %.2f h (%d packages)" % (c, d["train"]["hours"], len(d["train"]["packages"]))
                for c, d in cl.items()), seen),
            "- The sources are the assets of games, telephony prompts, speech synthesis and "
            "educational software (the packages above), not film or broadcast soundtracks; "
            "validation holds out %s." % "; ".join(
                "%s: %s" % (c, ", ".join(p))
                for c, p in (manifest.get("validation_packages") or {}).items()),
            "- The results above are on our synthetic validation mixtures (%d tracks), not on "
            "DnR. To score DnR itself: `training/eval.py DNR_DIR --mrxcl build/mrxcl`."
            % len(ev.get("tracks") or []),
            "- Trained on mono %g s crops at %d Hz; multichannel input is separated one channel "
            "at a time, and other rates are resampled." % (a["crop"], a["sample_rate"]), ""]
    return out


def portable(cmds, names, derived=None):
    """Replace this machine's folders in cmds by shell variables: names is a list of
    (variable, path); derived maps further paths to text written with those variables
    (e.g. train.py's default validation folder next to the run). Returns the lines that set
    the variables (folders of the reader's choice, with this run's shown) and the commands."""
    subs = [(os.path.abspath(p) if os.path.isabs(p) else p, '"$%s"' % v) for v, p in names]
    subs += list((derived or {}).items())
    subs.sort(key=lambda t: -len(t[0]))  # /x/corpus-cache before /x/corpus
    pat = re.compile("|".join("(?:%s)(?=$|[ /])" % re.escape(p) for p, _ in subs))
    table = dict(subs)
    out = [pat.sub(lambda m: table[m.group(0)], c) for c in cmds]
    pre = ["# folders of your choice (this run's in the comments)"]
    pre += ["%s=$PWD/%s  # %s" % (v, os.path.basename(p.rstrip("/")) if v != "RUN"
                                 else "runs/" + os.path.basename(p.rstrip("/")), p)
            for v, p in names]
    return pre, out


def reproduce_section(o, last, ev, dtypes, ph, pack=None):
    a, pool = last["args"], os.path.dirname(os.path.abspath(o.manifest))
    train_defaults = vars(train.parse_args([]))
    which = " --which last" if o.which == "last" else ""
    m = repo_relative(ev.get("model")) or EMBEDDED
    if ev.get("backend") == "mrxcl":
        how = "--mrxcl build/mrxcl" + ("" if m == EMBEDDED else " -m " + m)
    else:
        how = "--reference -m %s" % m
    cmds = ["# 1. corpus (Debian 12; see training/corpus/README.md)",
            "training/corpus/build_corpus.py --cache %s-cache --out %s --jobs 2" % (pool, pool),
            "# 2. training (flags that differ from train.py's defaults)%s" % (
                "" if len(ph) == 1 else ", in %d phases with different schedules" % len(ph))]
    cmds += [train_command(p["args"], p["end"], last["config"], resume=i > 0,
                           before=ph[i - 1]["args"] if i > 0 else None)
             + ("" if p["args"]["corpus"] != train_defaults["corpus"] else " --corpus " + pool)
             for i, p in enumerate(ph)]
    init = last.get("init")
    if init and init.get("commit") and ph[0]["args"].get("init"):
        # the starting weights as they were at their commit, whatever the tree holds now
        k = 3
        cmds[k] = cmds[k].replace("--init %s" % ph[0]["args"]["init"], "--init init.safetensors")
        cmds.insert(k, "git show %s:%s > init.safetensors   # the weights it started from"
                    % (init["commit"][:12], init["repo_path"]))
    started = sorted({p["args"]["steps"] for p in ph if p["args"]["steps"] != p["end"]})
    if len(ph) == 1 and started:
        cmds.append("#    --steps: where the run stopped (it was started with --steps %d)"
                    % started[0])
    elif started:
        cmds.append("#    --steps: where each phase ended (its sessions were started with "
                    "--steps %s)" % " or ".join(map(str, started)))
    if sum(p["sessions"] for p in ph) > len(ph) or a["time_limit"] is not None:
        cmds.append("#    trained in sessions: repeat with --resume [--time-limit M]; the "
                    "mixtures drawn do not depend on the interruptions")
    cmds += ["# 3. export",
             "/usr/bin/python3 training/train.py --run %s --export models/default.safetensors%s%s"
             % (a["run"], " --f16" if dtypes == ["F16"] else "", which),
             "# 4. build (embeds models/default.safetensors) and evaluate",
             "cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && "
             "cmake --build build -j\"$(nproc)\"",
             "/usr/bin/python3 training/eval.py %s %s%s --json EVAL.json" % (
                 ev["dir"], how, "" if ev.get("device") is None else " --device %s" % ev["device"]),
             "# 5. this card",
             "/usr/bin/python3 training/model_card.py --run %s --manifest %s --eval EVAL.json "
             "--model models/default.safetensors%s%s -o models/MODEL_CARD.md"
             % (a["run"], os.path.abspath(o.manifest), which,
                (" --fit-eval FIT.json" if o.fit_eval else "")
                + (" --oracle-eval ORACLE.json" if o.oracle_eval else ""))]
    if o.fit_eval:
        cmds[-2:-2] = ["/usr/bin/python3 training/dnr_mix.py validation TRAINSPLIT --split train "
                       "--corpus %s" % pool,
                       "/usr/bin/python3 training/eval.py TRAINSPLIT %s --json FIT.json" % how]
    if o.oracle_eval:
        cmds[-2:-2] = ["/usr/bin/python3 training/eval.py %s --oracle -m models/default.safetensors "
                       "--json ORACLE.json" % ev["dir"]]
    run_val = a["val_dir"] or os.path.join(os.path.dirname(os.path.abspath(a["run"])),
                                           "validation-%d" % a["val_seed"])
    names = [("DOWNLOADS", pool + "-cache"), ("CORPUS", pool), ("RUN", a["run"])]
    if a.get("cache"):
        names.append(("POOLS", a["cache"]))
    derived = {}
    if os.path.dirname(os.path.abspath(run_val)) == os.path.dirname(os.path.abspath(a["run"])):
        derived[run_val] = '"$RUN"/../%s' % os.path.basename(run_val.rstrip("/"))
    if pack is not None:
        # trained through training/gpu/train.sh: its --corpus and --val-dir are the unpacked pack
        k = next(i for i, c in enumerate(cmds) if c.startswith("# 2. training"))
        cmds[k + 1:k + 1] = [
            "#    on a GPU machine through training/gpu/train.sh (training/gpu/README.md): pack the "
            "pools here with training/gpu/pools.py pack (this run: pack %s, shards %s of %d), "
            "unpack them there; --corpus and --val-dir below are the unpacked pools and the "
            "Opus copies of the validation mixtures"
            % (pack["pack"], ",".join(map(str, pack["shards"])), pack["of"])]
    pre, cmds = portable(cmds, names, derived)
    return ["## How to reproduce", "", "```sh"] + pre + cmds + ["```", "",
            "GPU training is not bit-reproducible; expect figures close to, not equal to, these."]


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Write the default model's model card.")
    ap.add_argument("--run", required=True, help="train.py run folder")
    ap.add_argument("--manifest", required=True, help="corpus manifest.json")
    ap.add_argument("--eval", required=True, help="JSON written by training/eval.py --json")
    ap.add_argument("--model", required=True, help="the model file the card describes")
    ap.add_argument("-o", "--out", default="models/MODEL_CARD.md", help="'-' for stdout")
    ap.add_argument("--which", default="best", choices=("best", "last"),
                    help="the checkpoint the model file was exported from")
    ap.add_argument("--hardware", default=None, help="free-text description of the machine")
    ap.add_argument("--pack", default=None, help="pack.json of a run trained through "
                    "training/gpu/train.sh (the subset of the pools it trained on)")
    ap.add_argument("--baseline-note", default=None, help="a note under the results table")
    ap.add_argument("--fit-eval", default=None, help="eval.py JSON of the same model on fixed "
                    "mixtures of the training pools (dnr_mix.py validation --split train)")
    ap.add_argument("--oracle-eval", default=None, help="eval.py --oracle JSON on the "
                    "validation mixtures")
    return ap.parse_args(argv)


def build(o):
    ck = load_checkpoint(os.path.join(o.run, "%s.pt" % o.which))
    last_path = os.path.join(o.run, "last.pt")
    last = ck if o.which == "last" or not os.path.exists(last_path) else load_checkpoint(last_path)
    lines, vals, sessions = read_log(os.path.join(o.run, "log.jsonl"))
    ph = phases(sessions, last)
    manifest = load_json(o.manifest, "manifest")
    need(manifest, ("classes", "packages", "totals"), "manifest %s" % o.manifest)
    ev = load_json(o.eval, "eval results")
    pack = load_json(o.pack, "pack summary") if o.pack else None
    need(ev, ("dir", "summary"), "eval results %s" % o.eval)
    fit = oracle = None
    if o.fit_eval:
        fit = load_json(o.fit_eval, "training-pool eval results")
        need(fit, ("dir", "summary"), "training-pool eval results %s" % o.fit_eval)
    if o.oracle_eval:
        oracle = load_json(o.oracle_eval, "oracle eval results")
        need(oracle, ("dir", "summary"), "oracle eval results %s" % o.oracle_eval)
        if os.path.realpath(oracle["dir"]) != os.path.realpath(ev["dir"]):
            raise CardError("--oracle-eval scored %s, --eval %s: not the same mixtures"
                            % (oracle["dir"], ev["dir"]))
    tensors, config, dtypes, size = read_model(o.model)
    if config != ck["config"]:
        raise CardError("%s holds configuration %s, the checkpoint %s" % (
            o.model, mrx_io.describe_config(config), mrx_io.describe_config(ck["config"])))
    # a run slimmed for the trip back from a GPU machine (training/gpu/train.sh) keeps no weights
    # (weights_dropped names which: the exported files hold them); an older slim run kept the
    # average (ema), which is what was exported
    held = ck.get("model") is not None or ck.get("ema") is not None
    match = weights_match(tensors, dtypes, train.exported_weights(ck) if held else None)
    if match.startswith("DIFFERS"):
        print("model_card: warning: %s %s" % (o.model, match), file=sys.stderr)
    a = ck["args"]
    run_val = a["val_dir"] or os.path.join(os.path.dirname(os.path.abspath(o.run)),
                                           "validation-%d" % a["val_seed"])
    md = (summary_section(o, config, manifest, ck.get("init")) + config_section(config, dtypes, size, match)
          + training_section(o, ck, last, lines, vals, ph, run_val)
          + eval_section(o, ev, config, run_val) + limits_section(o, ev, fit, oracle, config)
          + data_section(manifest, a, pack, ck.get("pool_high_pass_hz"))
          + limitations_section(manifest, ev, a, ck["step"] * a["batch"] * a["crop"] / 3600.0)
          + reproduce_section(o, last, ev, dtypes, ph, pack))
    return "\n".join(md).rstrip() + "\n"


def selftest():
    """Check the schedule logic (phases, schedule_text, train_command) on a made-up run of
    four sessions: the first two with the same training flags (the second's model flags hold
    train.py's defaults, as a resumed session's do), then a decay, then a warm restart.
    Returns a list of failures."""
    fails = []

    def check(name, got, want):
        if got != want:
            fails.append("%s:\n  got  %r\n  want %r" % (name, got, want))

    d = vars(train.parse_args([]))
    base = dict(d, run="runs/x", crop=4.0, steps=100000, hidden=192, layers=2, hop=512,
                time_limit=100.0)
    resumed = dict(base, resume=True, hidden=d["hidden"], layers=d["layers"], hop=d["hop"])
    sessions = [{"step": 0, "session": {"args": base}},
                {"step": 1744, "session": {"args": resumed}},
                {"step": 1750, "session": {"args": dict(resumed, decay_start=2900,
                                                        decay_steps=1200, decay_lr=1e-4)}},
                {"step": 4291, "session": {"args": dict(resumed, lr=4e-4, decay_start=4292,
                                                        decay_steps=2450, decay_lr=2e-5)}}]
    last = {"step": 7000, "args": sessions[-1]["session"]["args"]}
    ph = phases(sessions, last)
    check("phases", [(p["start"], p["end"], p["sessions"]) for p in ph],
          [(0, 1750, 2), (1750, 4291, 1), (4291, 7000, 1)])
    lines = [{"step": 1750, "lr": 1e-3}, {"step": 4275, "lr": 1e-4}, {"step": 4300, "lr": 4e-4}]
    check("schedule", schedule_text(ph, lines),
          "steps 0-1750: 0.001, halved after %d validations without improvement (floor %g); "
          "steps 1750-2900: the checkpoint's 0.001, halved after %d validations without "
          "improvement (floor %g); steps 2900-4291: a cosine from 0.001 down to 0.0001 over "
          "steps 2900-4100, then 0.0001; steps 4291-4292: the checkpoint's 0.0001; "
          "steps 4292-7000: a cosine from 0.0004 down to 2e-05 over steps 4292-6742, then 2e-05"
          % ((d["patience"], d["min_lr"]) * 2))
    check("high-pass, none", high_pass_text(None).startswith("The pools were not high-passed"),
          True)
    check("high-pass", high_pass_text({"speech": 60.0, "music": 20.0, "sfx": 20.0}),
          "The pools are high-passed as they are decoded (zero phase, music at 20 Hz, sfx at "
          "20 Hz, speech at 60 Hz), which takes out the recordings' DC offsets, mains hum and "
          "rumble. ")
    config = {"hidden": 192, "lstm_layers": 2, "window_lengths": [1024, 2048, 4096],
              "hop": 512, "sample_rate": 44100}
    check("first command", train_command(ph[0]["args"], ph[0]["end"], config),
          "/usr/bin/python3 training/train.py --run runs/x --hidden 192 --layers 2 --hop 512 "
          "--steps 1750 --crop 4")
    check("resumed command", train_command(ph[2]["args"], ph[2]["end"], config, resume=True),
          "/usr/bin/python3 training/train.py --run runs/x --resume --steps 7000 --lr 0.0004 "
          "--decay-start 4292 --decay-steps 2450 --decay-lr 2e-05")
    # --resume keeps the checkpoint's flags: one back at its default is given again
    check("resumed command, a flag back at its default",
          train_command(dict(ph[2]["args"], speech_eq=0.0), ph[2]["end"], config, resume=True,
                        before=dict(ph[1]["args"], speech_eq=0.5, lr=4e-4)),
          "/usr/bin/python3 training/train.py --run runs/x --resume --steps 7000 --lr 0.0004 "
          "--decay-start 4292 --decay-steps 2450 --decay-lr 2e-05 --speech-eq 0")
    check("no session records", phases([], last),
          [{"start": 0, "end": 7000, "args": last["args"], "sessions": 1}])
    try:
        phases(sessions[2:], last)
        fails.append("a log whose first session record is not at step 0: no CardError")
    except CardError:
        pass
    # a run started with --init and --warmup, resumed once
    init = {"path": "models/default.safetensors", "sha256": "ab" * 32, "bytes": 1,
            "commit": "1cea4f1" + "0" * 33, "repo_path": "models/default.safetensors"}
    first = dict(base, init="models/default.safetensors", seed=2, lr=3e-4, warmup=100,
                 decay_start=100, decay_steps=3000, decay_lr=1e-5, ema=0.998)
    sessions = [{"step": 0, "session": {"args": first, "init": init}},
                {"step": 900, "session": {"args": dict(first, resume=True, init=None)}}]
    last = {"step": 2000, "args": sessions[-1]["session"]["args"], "init": init}
    ph = phases(sessions, last)
    check("phases from --init", [(p["start"], p["end"], p["sessions"]) for p in ph],
          [(0, 2000, 2)])
    check("schedule from --init", schedule_text(ph, []),
          "steps 0-100: rising linearly from 3e-06 to 0.0003; steps 100-2000: a cosine from "
          "0.0003 down to 1e-05 over steps 100-3100")
    check("command from --init", train_command(ph[0]["args"], ph[0]["end"], config),
          "/usr/bin/python3 training/train.py --run runs/x --hidden 192 --layers 2 --hop 512 "
          "--steps 2000 --crop 4 --lr 0.0003 --decay-start 100 --decay-steps 3000 "
          "--decay-lr 1e-05 --ema 0.998 --init models/default.safetensors --warmup 100 --seed 2")
    check("init text", init_text(init), "the weights of `models/default.safetensors` at "
          "commit 1cea4f100000 (sha256 abababababababab...)")
    check("lineage without a record", lineage_text(3600.0, init),
          "; the model it started from trained before that (its file records no history)")
    stage = {"steps": 8400, "seconds": 26820.0, "device": "cpu", "batch": 8, "crop": 4.0,
             "seed": 1, "started_from": None}
    hist = dict(init, training={"history": [stage, dict(stage, steps=1650, seconds=4896.0)],
                                "complete": True})
    check("lineage with a record", lineage_text(1800.0, hist),
          "; with the 2 runs before it that its starting file records (10050 steps, 8.81 h), "
          "9.31 h (9 h 19 min) in all")
    hist["training"]["complete"] = False
    check("lineage with an incomplete record", lineage_text(0.0, hist),
          "; with the 2 runs before it that its starting file records (10050 steps, 8.81 h), "
          "8.81 h (8 h 49 min) in all, and more before those, which recorded no history")
    check("no lineage from scratch", lineage_text(1.0, None), "")
    summ = lambda d: {"summary": {s: {"improvement": {"mean": v}} for s, v in d.items()}}
    ev = summ({"music": 6.96, "speech": 5.81, "sfx": 5.62})
    ev["summary"]["speech"]["silent_gaps"] = {"mean": 0.234}
    check("limits rows", limits_rows(["music", "speech", "sfx"], ev,
                                     summ({"music": 9.5, "speech": None}), None),
          [["music", "6.96", "9.50", "n/a", "n/a"], ["speech", "5.81", "n/a", "n/a", "+0.23"],
           ["sfx", "5.62", "n/a", "n/a", "n/a"]])
    check("portable", portable(["a --cache /d/c-cache --out /d/c",
                                "b --manifest /d/c/manifest.json --run /r/x /r/validation-1",
                                "c /d/cx /r/x2"],
                               [("DOWNLOADS", "/d/c-cache"), ("CORPUS", "/d/c"), ("RUN", "/r/x")],
                               {"/r/validation-1": '"$RUN"/../validation-1'}),
          (["# folders of your choice (this run's in the comments)",
            "DOWNLOADS=$PWD/c-cache  # /d/c-cache", "CORPUS=$PWD/c  # /d/c",
            "RUN=$PWD/runs/x  # /r/x"],
           ['a --cache "$DOWNLOADS" --out "$CORPUS"',
            'b --manifest "$CORPUS"/manifest.json --run "$RUN" "$RUN"/../validation-1',
            "c /d/cx /r/x2"]))
    with tempfile.TemporaryDirectory() as d:
        a, b, c = (os.path.join(d, n) for n in ("a", "b", "c"))
        for path, data in ((a, b"same"), (b, b"same"), (c, b"other")):
            with open(path, "wb") as f:
                f.write(data)
        check("same model: one path", same_model("x/gone.safetensors", "x/gone.safetensors"),
              True)
        check("same model: the same bytes", same_model(a, b), True)
        check("same model: other bytes", same_model(a, c), False)
        check("same model: one file gone", same_model(a, os.path.join(d, "gone")), False)
        check("same model: none", same_model(None, a), False)
    check("repository path", repo_relative(os.path.join(REPO, "models", "x.safetensors")),
          os.path.join("models", "x.safetensors"))
    check("outside path", repo_relative("/elsewhere/x.safetensors"), "/elsewhere/x.safetensors")
    check("no path", repo_relative(None), None)
    return fails


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--selftest"]:
        fails = selftest()
        for f in fails:
            print("model_card selftest: FAIL %s" % f)
        print("model_card selftest: %s" % ("%d failures" % len(fails) if fails else "ok"))
        return 1 if fails else 0
    o = parse_args(argv)
    try:
        text = build(o)
    except CardError as e:
        print("model_card: %s" % e, file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        print("model_card: malformed input (%s: %s)" % (type(e).__name__, e), file=sys.stderr)
        return 1
    if o.out == "-":
        sys.stdout.write(text)
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    with open(o.out, "w") as f:
        f.write(text)
    print("model_card: wrote %s" % o.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
