#!/usr/bin/python3
"""Build mrxcl's speech / music / sfx source pools from Debian packages.

    build_corpus.py --cache DIR --out POOL_DIR [--classes speech,music,sfx]
                    [--packages p1,p2] [--jobs 2] [--dry-run]

Stages, per package (each package is done once; rerunning skips finished packages):
  1. apt-get download PKG into CACHE/debs (nothing is installed);
  2. extract the audio, the archives (.zip/.pk3) and the copyright file from the .deb
     (dpkg-deb --fsys-tarfile, filtered while streaming, so 0ad-data's textures never hit
     the disk), then the audio members of the archives;
  3. sort each file into speech / music / sfx with the rules of corpus_rules.py;
  4. decode to mono 44.1 kHz float (ffmpeg; MIDI through fluidsynth first), drop files
     shorter than 0.5 s or near-silent, measure level and bandwidth, dedupe by a checksum
     of the decoded audio, and store Ogg Vorbis q5 in POOL_DIR/CLASS/PACKAGE/...;
  5. record the package's result in POOL_DIR/.state/PACKAGE.json.
Then the manifest (POOL_DIR/manifest.json) is rebuilt from every finished package: cross-
package duplicates removed, the validation split by package applied, hours, licenses.

Why Ogg Vorbis q5 and not FLAC: the pools have to travel to the training GPU in 64 MiB
pieces, and mono Vorbis q5 is ~4x smaller than FLAC (about 45 MB/hour against 150-200).
Almost every source is itself lossy (Vorbis, Opus, MP3) or narrowband, so a lossless copy
of a decoded lossy file buys nothing; q5 (~110-160 kbit/s stereo, less in mono) is
transparent for training purposes. Use --codec flac where bit-exact pools are wanted.

Needs: apt-get, dpkg-deb, sox with libsox-fmt-all, ffmpeg (Debian's, which has libopenmpt
and libspeex), fluidsynth for the MIDI packages, numpy. See README.md.
"""

import argparse
import concurrent.futures as cf
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_rules as R  # noqa: E402

SR = 44100
MANIFEST_VERSION = 1
T0 = time.time()


def log(msg):
    print("[%7.1fs] %s" % (time.time() - T0, msg), flush=True)


class CorpusError(Exception):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def need_tool(name, package):
    if shutil.which(name) is None:
        raise CorpusError("%s not found: install it with `apt-get install %s`" % (name, package))


# ---------------------------------------------------------------- apt: look-up, download
class Apt:
    def __init__(self):
        self.updated = False

    def _policy_candidate(self, pkg):
        r = run(["apt-cache", "policy", pkg])
        m = re.search(r"Candidate:\s*(\S+)", r.stdout.decode(errors="replace"))
        return m.group(1) if m and m.group(1) != "(none)" else None

    def candidate(self, pkg):
        """The candidate version, running `apt-get update` once if some package has none."""
        v = self._policy_candidate(pkg)
        if v is None and not self.updated:
            log("apt-cache has no candidate for %s: running apt-get update once" % pkg)
            r = run(["apt-get", "update", "-q"])
            self.updated = True
            if r.returncode != 0:
                log("apt-get update failed (%s); continuing with the old lists"
                    % r.stderr.decode(errors="replace").strip().splitlines()[-1:])
            v = self._policy_candidate(pkg)
        return v

    def show(self, pkg):
        r = run(["apt-cache", "show", "--no-all-versions", pkg])
        fields = {}
        for line in r.stdout.decode(errors="replace").splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m and m.group(1) not in fields:
                fields[m.group(1)] = m.group(2)
        return fields

    def cached_deb(self, debdir, pkg, version=None):
        debs = sorted(glob.glob(os.path.join(debdir, pkg + "_*.deb")), key=os.path.getmtime)
        if version:
            want = "%s_%s_" % (pkg, version.replace(":", "%3a"))
            exact = [d for d in debs if os.path.basename(d).startswith(want)]
            if exact:
                return exact[-1]
        return debs[-1] if debs else None

    def download(self, debdir, pkg, version):
        deb = self.cached_deb(debdir, pkg, version)
        if deb:
            return deb
        os.makedirs(debdir, exist_ok=True)
        log("downloading %s %s" % (pkg, version))
        r = run(["apt-get", "download", "-q", "%s=%s" % (pkg, version)], cwd=debdir)
        deb = self.cached_deb(debdir, pkg, version)
        if r.returncode != 0 or not deb:
            raise CorpusError("apt-get download %s failed: %s"
                              % (pkg, r.stderr.decode(errors="replace").strip()[-500:]))
        return deb


# ---------------------------------------------------------------- extraction
def wanted_member(path, pkg):
    low = path.lower()
    ext = os.path.splitext(low)[1]
    if re.match(r"^\.?/?usr/share/doc/[^/]+/copyright$", path):
        return True
    return ext in R.AUDIO_EXTS | R.TRACKER_EXTS | R.ARCHIVE_EXTS | R.MIDI_EXTS


def extract_deb(deb, dest, pkg):
    """Stream the .deb's data tar and keep only audio, archives and copyright files.

    Returns {"symlinked_doc": target} when the package's doc dir is a symlink (its
    copyright lives in another package)."""
    info = {}
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    p = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=p.stdout, mode="r|") as tf:
            for m in tf:
                name = m.name[2:] if m.name.startswith("./") else m.name
                if m.issym() and re.match(r"^usr/share/doc/[^/]+$", name):
                    info["symlinked_doc"] = m.linkname
                if not m.isfile() or not wanted_member(name, pkg):
                    continue
                out = os.path.join(dest, name)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                src = tf.extractfile(m)
                with open(out, "wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
    finally:
        p.stdout.close()
        err = p.stderr.read()
        rc = p.wait()
    if rc != 0:
        raise CorpusError("dpkg-deb --fsys-tarfile %s failed: %s" % (deb, err.decode()[-300:]))
    return info


def expand_archives(root):
    """Extract the audio members of .zip/.pk3 archives next to them (ARCHIVE.d/MEMBER),
    delete the archive copy and return {archive relpath: members extracted}."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for fn in files:
            if os.path.splitext(fn.lower())[1] not in R.ARCHIVE_EXTS:
                continue
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, root)
            n = 0
            try:
                with zipfile.ZipFile(path) as z:
                    for zi in z.infolist():
                        ext = os.path.splitext(zi.filename.lower())[1]
                        if zi.is_dir() or ext not in (R.AUDIO_EXTS | R.TRACKER_EXTS | R.MIDI_EXTS):
                            continue
                        member = os.path.normpath(zi.filename).lstrip("/")
                        if member.startswith(".."):
                            continue
                        out = os.path.join(path + ".d", member)
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with z.open(zi) as src, open(out, "wb") as f:
                            shutil.copyfileobj(src, f, 1 << 20)
                        n += 1
            except zipfile.BadZipFile as e:
                log("  bad archive %s: %s" % (rel, e))
            os.remove(path)
            found[rel] = n
    return found


def read_license(root, pkg, info):
    """License: fields of a machine-readable copyright file, else its first lines."""
    path = os.path.join(root, "usr/share/doc", pkg, "copyright")
    if not os.path.exists(path):
        cands = glob.glob(os.path.join(root, "usr/share/doc/*/copyright"))
        if not cands:
            return {"licenses": [], "note": "no copyright file in the .deb"
                    + (" (doc dir links to %s)" % info["symlinked_doc"]
                       if "symlinked_doc" in info else "")}
        path = cands[0]
    text = open(path, encoding="utf-8", errors="replace").read()
    return parse_copyright(text, os.path.relpath(path, root))


LICENSE_WORDS = re.compile(r"\b(L?GPL|General Public License|Creative Commons|CC[- ]BY|CC0|"
                           r"public domain|BSD|MIT|Artistic|OFL|Open Font|zlib|Apache|"
                           r"licen[cs]ed (under|as)|distributed under)\b")


def parse_copyright(text, rel):
    """License: fields (one per distinct value) of a Debian copyright file. A file that is
    not machine-readable (no Format: header) also gets its first 15 lines and the lines that
    name a license, since that is where such files say it."""
    lic = []
    for m in re.finditer(r"^License:[ \t]*(.+)$", text, re.M):
        v = m.group(1).strip()
        if v and v not in lic:
            lic.append(v)
    if re.search(r"^Format:\s*\S*(copyright-format|dep5)", text, re.M | re.I):
        return {"licenses": lic, "machine_readable": True, "file": rel}
    lines = [l.rstrip() for l in text.splitlines() if l.strip()]
    mentions = []
    for l in lines:
        if LICENSE_WORDS.search(l) and l.strip() not in mentions:
            mentions.append(l.strip())
    return {"licenses": lic, "machine_readable": False, "file": rel, "head": lines[:15],
            "license_lines": mentions[:30]}


def refresh_licenses(args, pkgs):
    """Re-read the copyright files of built packages from their cached .debs."""
    for p in pkgs:
        sp = os.path.join(args.out, ".state", p + ".json")
        if not os.path.exists(sp):
            continue
        st = json.load(open(sp))
        deb = os.path.join(args.cache, "debs", st.get("deb") or "")
        if st.get("missing") or not os.path.isfile(deb):
            log("%s: no cached .deb; license left as it was" % p)
            continue
        with tempfile.TemporaryDirectory(prefix="corpus-lic-") as td:
            info = {}
            p_ = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
            with tarfile.open(fileobj=p_.stdout, mode="r|") as tf:
                for m in tf:
                    name = m.name[2:] if m.name.startswith("./") else m.name
                    if m.issym() and re.match(r"^usr/share/doc/[^/]+$", name):
                        info["symlinked_doc"] = m.linkname
                    if m.isfile() and re.match(r"^usr/share/doc/[^/]+/copyright$", name):
                        out = os.path.join(td, name)
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with open(out, "wb") as f:
                            shutil.copyfileobj(tf.extractfile(m), f)
            p_.stdout.close()
            p_.wait()
            st["license"] = read_license(td, p, info)
        with open(sp + ".part", "w") as f:
            json.dump(st, f, indent=1, ensure_ascii=False)
        os.replace(sp + ".part", sp)
        lic = st["license"]
        log("%s: %s" % (p, lic.get("licenses") or lic.get("license_lines", [])[:3]))


# ---------------------------------------------------------------- decoding and analysis
def decode(path, ext, tmpdir, soundfont):
    """Decode to mono 44.1 kHz float32. Returns (samples, source description)."""
    src_info = {}
    if ext in R.MIDI_EXTS:
        wav = os.path.join(tmpdir, "midi.wav")
        r = run(["fluidsynth", "-ni", "-q", "-F", wav, "-r", str(SR), "-O", "float",
                 "-g", "0.5", soundfont, path], timeout=900)
        if r.returncode != 0 or not os.path.exists(wav):
            raise CorpusError("fluidsynth: " + r.stderr.decode(errors="replace")[-200:])
        src_info["rendered"] = "fluidsynth FluidR3_GM"
        path = wav
    # sox first: it starts in ~10 ms where Debian's ffmpeg takes ~60 ms, which is most of
    # the cost of the many short effects. "-c 1" averages the channels; "rate -v" is sox's
    # best resampler. ffmpeg (soxr resampler, its default downmix) takes what sox cannot
    # read: Speex, tracker modules, odd WAV codecs.
    if ext not in R.TRACKER_EXTS and ext != ".spx":
        r = run(["sox", "-V3", path, "-t", "f32", "-c", "1", "-", "rate", "-v", str(SR)],
                timeout=900)
        if r.returncode == 0 and r.stdout:
            err = r.stderr.decode(errors="replace")
            block = err.split("Output File", 1)[0]
            for key, rx in (("src_rate", r"Sample Rate\s*:\s*(\d+)"),
                            ("src_channels", r"Channels\s*:\s*(\d+)"),
                            ("codec", r"Sample Encoding\s*:\s*(.+)")):
                m = re.search(rx, block)
                if m:
                    src_info[key] = int(m.group(1)) if key != "codec" else m.group(1).strip()
            src_info["decoder"] = "sox"
            return np.frombuffer(r.stdout, dtype=np.float32), src_info
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "info", "-i", path, "-map", "0:a:0",
           "-vn", "-af", "aresample=%d:resampler=soxr" % SR, "-ac", "1", "-ar", str(SR),
           "-f", "f32le", "-"]
    r = run(cmd, timeout=900)
    err = r.stderr.decode(errors="replace")
    if (r.returncode != 0 or not r.stdout) and ext in R.TRACKER_EXTS and shutil.which("openmpt123"):
        wav = os.path.join(tmpdir, "mod.wav")
        r2 = run(["openmpt123", "--quiet", "--render", "--force", "-o", wav, path], timeout=900)
        if r2.returncode == 0 and os.path.exists(wav):
            src_info["rendered"] = "openmpt123"
            return decode(wav, ".wav", tmpdir, soundfont)[0], src_info
    if r.returncode != 0 or not r.stdout:
        last = [l for l in err.splitlines() if l.strip()][-1:] or ["no audio decoded"]
        raise CorpusError("ffmpeg: " + last[0][:200])
    m = re.search(r"Stream #0:\d+.*?: Audio: ([^,]+), (\d+) Hz, ([^,]+)", err)
    if m:
        src_info.update(codec=m.group(1).split()[0], src_rate=int(m.group(2)),
                        src_channels=m.group(3).strip())
    src_info["decoder"] = "ffmpeg"
    x = np.frombuffer(r.stdout, dtype=np.float32)
    return x, src_info


def analyse(x):
    """Level, activity and bandwidth of a mono 44.1 kHz signal."""
    n = len(x)
    hop = int(0.05 * SR)
    nf = max(1, n // hop)
    frames = x[: nf * hop].reshape(nf, hop) if n >= hop else x.reshape(1, -1)
    frms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)
    fdb = 20 * np.log10(frms)
    max_frame_db = float(fdb.max())
    peak = float(np.max(np.abs(x))) if n else 0.0
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if n else 0.0
    # Bandwidth from the power spectrum averaged over active frames (within 40 dB of the
    # loudest 50 ms): the highest bin within BANDWIDTH_RANGE_DB of the spectrum's peak.
    nfft = 4096
    bw = None
    if n >= nfft:
        starts = np.arange(0, n - nfft + 1, nfft)
        if len(starts) > 1500:
            starts = starts[np.linspace(0, len(starts) - 1, 1500).astype(int)]
        seg = np.stack([x[s:s + nfft] for s in starts]).astype(np.float64)
        e = np.sqrt(np.mean(seg ** 2, axis=1) + 1e-20)
        keep = 20 * np.log10(e) > max_frame_db - 40
        if keep.any():
            seg = seg[keep]
        spec = np.mean(np.abs(np.fft.rfft(seg * np.hanning(nfft), axis=1)) ** 2, axis=0)
        spec[0] = 0.0  # DC says nothing about bandwidth
        thr = spec.max() * 10 ** (-R.BANDWIDTH_RANGE_DB / 10)
        idx = np.nonzero(spec >= thr)[0]
        bw = int(round(idx[-1] * SR / nfft)) if len(idx) else 0
    active = float(np.mean(fdb > max_frame_db - 40))
    return {
        "max_frame_dbfs": round(max_frame_db, 2),
        "peak_dbfs": round(20 * np.log10(peak + 1e-12), 2),
        "rms_dbfs": round(20 * np.log10(rms + 1e-12), 2),
        "active_fraction": round(active, 3),
        "bandwidth_hz": bw,
    }


def encode(x, out, codec):
    """Write mono 44.1 kHz float samples as Ogg Vorbis q5 (or FLAC 16-bit) with sox."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    fmt = ["-t", "vorbis", "-C", "5"] if codec == "vorbis" else ["-t", "flac", "-b", "16"]
    r = subprocess.run(["sox", "-t", "f32", "-r", str(SR), "-c", "1", "-"] + fmt + [tmp],
                       input=np.ascontiguousarray(x, dtype=np.float32).tobytes(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise CorpusError("encode: " + r.stderr.decode(errors="replace")[-200:])
    os.replace(tmp, out)


def process_file(job):
    """Worker: decode, analyse, decide, encode one file. Returns a result dict."""
    pkg, root, rel, cls, reason, origin, classes, pool, codec, soundfont, min_dur = job
    ext = os.path.splitext(rel.lower())[1]
    res = {"source": rel}
    try:
        with tempfile.TemporaryDirectory(prefix="corpus-") as td:
            x, info = decode(os.path.join(root, rel), ext, td, soundfont)
    except (CorpusError, subprocess.TimeoutExpired) as e:
        res["skip"] = "undecodable(%s)" % ext
        res["error"] = str(e)[:300]
        return res
    dur = len(x) / SR
    res.update(info)
    res["duration"] = round(dur, 3)
    if dur < min_dur:
        res["skip"] = "shorter-than-%gs" % min_dur
        return res
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    a = analyse(x)
    res.update(a)
    if a["max_frame_dbfs"] < R.SILENCE_MAX_FRAME_DBFS:
        res["skip"] = "near-silent"
        return res
    cls, reason, origin = R.classify_after_decode(pkg, rel, cls, reason, origin, classes, dur)
    q = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    res["sha1"] = hashlib.sha1(q.tobytes()).hexdigest()
    suffix = ".ogg" if codec == "vorbis" else ".flac"
    outrel = "%s/%s/%s%s" % (cls, pkg, re.sub(r"^usr/(share/)?(games/)?", "", rel), suffix)
    res.update({"class": cls, "reason": reason, "origin": origin, "path": outrel})
    try:
        encode(x, os.path.join(pool, outrel), codec)
    except CorpusError as e:
        res["skip"] = "encode-failed"
        res["error"] = str(e)
    return res


# ---------------------------------------------------------------- one package
def build_package(pkg, apt, args, soundfont):
    classes = R.package_classes(pkg)
    state_path = os.path.join(args.out, ".state", pkg + ".json")
    if os.path.exists(state_path) and not args.force:
        st = json.load(open(state_path))
        wanted = set(classes) & set(args.classes)
        if (st.get("rules_version") == R.RULES_VERSION and st.get("codec") == args.codec
                and st.get("voice_lines") == args.voice_lines
                and st.get("min_duration", R.MIN_DURATION_S) == args.min_duration
                and wanted <= set(st.get("classes_built", classes))):
            log("%s: done already (%d files kept); skipping" % (pkg, len(st["files"])))
            return st
        log("%s: state from other rules/codec; redoing" % pkg)
    version = apt.candidate(pkg)
    if version is None:
        log("%s: NOT IN DEBIAN (no apt candidate); skipped" % pkg)
        return {"package": pkg, "missing": True}
    fields = apt.show(pkg)
    deb = apt.download(os.path.join(args.cache, "debs"), pkg, version)
    root = os.path.join(args.cache, "extract", pkg)
    t = time.time()
    info = extract_deb(deb, root, pkg)
    archives = expand_archives(root)
    lic = read_license(root, pkg, info)
    log("%s %s: extracted in %.0fs%s" % (pkg, version, time.time() - t,
        "".join(" [%s: %d audio]" % kv for kv in archives.items())))

    # Drop this package's old pool files so a redo leaves no strays.
    for c in R.CLASSES:
        shutil.rmtree(os.path.join(args.out, c, pkg), ignore_errors=True)

    jobs, skipped = [], {}
    for dirpath, _, files in os.walk(root):
        for fn in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            ext = os.path.splitext(fn.lower())[1]
            if ext not in R.AUDIO_EXTS | R.TRACKER_EXTS | R.MIDI_EXTS:
                continue
            cls, reason, origin = R.classify(pkg, rel, classes, args.voice_lines)
            if cls is None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            if cls not in args.classes:
                skipped["class-not-requested"] = skipped.get("class-not-requested", 0) + 1
                continue
            jobs.append((pkg, root, rel, cls, reason, origin, classes, args.out, args.codec,
                         soundfont, args.min_duration))
    jobs.sort(key=lambda j: j[2])
    log("%s: %d files to decode (%s dropped by rule)" % (pkg, len(jobs), sum(skipped.values())))

    kept, seen, errors = [], {}, []
    t = time.time()
    with cf.ProcessPoolExecutor(max_workers=args.jobs) as ex:
        for res in ex.map(process_file, jobs, chunksize=4):
            if "skip" in res:
                skipped[res["skip"]] = skipped.get(res["skip"], 0) + 1
                if "error" in res and len(errors) < 20:
                    errors.append("%s: %s" % (res["source"], res["error"]))
                if "path" in res:
                    _remove(os.path.join(args.out, res["path"]))
                continue
            if res["sha1"] in seen:  # the same decoded audio twice in one package
                skipped["duplicate-in-package"] = skipped.get("duplicate-in-package", 0) + 1
                _remove(os.path.join(args.out, res["path"]))
                continue
            seen[res["sha1"]] = res["path"]
            kept.append(res)
    hours = sum(r["duration"] for r in kept) / 3600
    log("%s: kept %d files, %.2f h, in %.0fs; skipped %s" % (
        pkg, len(kept), hours, time.time() - t, json.dumps(skipped, sort_keys=True)))
    for e in errors[:5]:
        log("  error: " + e)
    st = {
        "package": pkg, "version": version, "rules_version": R.RULES_VERSION,
        "codec": args.codec, "classes_listed": classes,
        "deb": os.path.basename(deb), "deb_size": os.path.getsize(deb),
        "installed_size_kib": int(fields.get("Installed-Size", "0") or 0),
        "homepage": fields.get("Homepage"), "license": lic, "archives": archives,
        "skipped": skipped, "errors": errors, "files": kept,
        "voice_lines": args.voice_lines, "min_duration": args.min_duration,
        "classes_built": sorted(set(classes) & set(args.classes)),
        "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    os.makedirs(os.path.dirname(state_path), exist_ok=True)
    with open(state_path + ".part", "w") as f:
        json.dump(st, f, indent=1, ensure_ascii=False)
    os.replace(state_path + ".part", state_path)
    if not args.keep_extracted:
        shutil.rmtree(root, ignore_errors=True)
    return st


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def ensure_soundfont(apt, args):
    sf = "/" + R.SOUNDFONT_PATH
    if os.path.exists(sf):
        return sf
    local = os.path.join(args.cache, "soundfont", R.SOUNDFONT_PATH)
    if os.path.exists(local):
        return local
    version = apt.candidate(R.SOUNDFONT_PACKAGE)
    if version is None:
        raise CorpusError("%s not in apt: cannot render MIDI" % R.SOUNDFONT_PACKAGE)
    deb = apt.download(os.path.join(args.cache, "debs"), R.SOUNDFONT_PACKAGE, version)
    r = run(["dpkg-deb", "-x", deb, os.path.join(args.cache, "soundfont")])
    if r.returncode != 0 or not os.path.exists(local):
        raise CorpusError("could not extract the soundfont from " + deb)
    return local


# ---------------------------------------------------------------- manifest
def bandwidth_summary(files):
    edges = [4000, 8000, 11025, 16000, 20000]
    tot = sum(f["duration"] for f in files) or 1.0
    out = {}
    for e in edges:
        h = sum(f["duration"] for f in files if (f.get("bandwidth_hz") or 0) <= e + 50)
        out["<=%d" % e] = round(h / tot, 4)
    return out


def soundfont_info(args):
    """Package and license of the soundfont that rendered the MIDI music."""
    out = {"package": R.SOUNDFONT_PACKAGE, "file": R.SOUNDFONT_PATH}
    for root in (os.path.join(args.cache, "soundfont"), "/"):
        if os.path.exists(os.path.join(root, "usr/share/doc", R.SOUNDFONT_PACKAGE, "copyright")):
            out["license"] = read_license(root, R.SOUNDFONT_PACKAGE, {})
            break
    return out


def build_manifest(args):
    states = {}
    for p in R.all_packages():
        sp = os.path.join(args.out, ".state", p + ".json")
        if os.path.exists(sp):
            states[p] = json.load(open(sp))
    order = [p for c in R.CLASSES for p in R.PACKAGE_LISTS[c]]
    order = [p for i, p in enumerate(order) if p not in order[:i]]
    seen, dups, files = {}, [], []
    for p in order:
        if p not in states:
            continue
        for f in states[p]["files"]:
            if f["sha1"] in seen:
                dups.append({"path": f["path"], "package": p, "duplicate_of": seen[f["sha1"]]})
                _remove(os.path.join(args.out, f["path"]))
                continue
            seen[f["sha1"]] = f["path"]
            split = "validation" if p in R.VALIDATION_PACKAGES.get(f["class"], []) else "train"
            files.append(dict(f, package=p, split=split))
    classes = {}
    for c in R.CLASSES:
        classes[c] = {}
        for split in ("train", "validation"):
            fs = [f for f in files if f["class"] == c and f["split"] == split]
            per = {}
            for f in fs:
                d = per.setdefault(f["package"], {"files": 0, "hours": 0.0})
                d["files"] += 1
                d["hours"] += f["duration"] / 3600
            for d in per.values():
                d["hours"] = round(d["hours"], 4)
            classes[c][split] = {
                "packages": per, "files": len(fs),
                "hours": round(sum(f["duration"] for f in fs) / 3600, 4),
                "bandwidth_fraction_of_hours": bandwidth_summary(fs),
            }
        tot = classes[c]["train"]["hours"] + classes[c]["validation"]["hours"]
        classes[c]["validation_fraction"] = (
            round(classes[c]["validation"]["hours"] / tot, 4) if tot else 0)
    pool_bytes = 0
    for f in files:
        try:
            pool_bytes += os.path.getsize(os.path.join(args.out, f["path"]))
        except FileNotFoundError:
            f["missing"] = True
    packages = {}
    for p, st in states.items():
        if st.get("missing"):
            continue
        packages[p] = {k: st.get(k) for k in ("version", "deb", "deb_size", "installed_size_kib",
                                               "min_duration",
                                               "homepage", "license", "classes_listed",
                                               "archives", "skipped", "built")}
        packages[p]["min_duration"] = st.get("min_duration", R.MIN_DURATION_S)
        pc = {}
        for f in files:
            if f["package"] == p:
                d = pc.setdefault(f["class"], {"files": 0, "hours": 0.0, "split": f["split"]})
                d["files"] += 1
                d["hours"] += f["duration"] / 3600
        for d in pc.values():
            d["hours"] = round(d["hours"], 4)
        packages[p]["kept"] = pc
        packages[p]["cross_package_duplicates"] = sum(1 for d in dups if d["package"] == p)
    listed = set(R.all_packages())
    man = {
        "manifest_version": MANIFEST_VERSION, "rules_version": R.RULES_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "audio": {"codec": args.codec,
                  "quality": "q5" if args.codec == "vorbis" else "lossless s16",
                  "sample_rate": SR, "channels": 1,
                  "bandwidth_definition": "highest frequency whose power, averaged over the "
                  "active 4096-point frames, is within %g dB of the spectrum's peak"
                  % R.BANDWIDTH_RANGE_DB},
        "rules": {"min_duration_s": R.MIN_DURATION_S,
                  "silence_max_frame_dbfs": R.SILENCE_MAX_FRAME_DBFS,
                  "long_sfx_as_music_s": R.LONG_SFX_AS_MUSIC_S,
                  "voice_lines": sorted({st.get("voice_lines") for st in states.values()
                                         if st.get("voice_lines")}),
                  "midi_soundfont": soundfont_info(args)},
        "validation_packages": R.VALIDATION_PACKAGES,
        "packages_not_built": sorted(listed - set(packages)),
        "packages_missing_in_debian": sorted(p for p, st in states.items() if st.get("missing")),
        "classes": classes,
        "packages": packages,
        "totals": {"files": len(files),
                   "hours": round(sum(f["duration"] for f in files) / 3600, 4),
                   "pool_bytes": pool_bytes,
                   "deb_bytes": sum(st.get("deb_size", 0) for st in states.values()),
                   "cross_package_duplicates": len(dups)},
        "duplicates": dups,
        "files": files,
    }
    with open(os.path.join(args.out, "manifest.json.part"), "w") as f:
        json.dump(man, f, indent=1, ensure_ascii=False)
    os.replace(os.path.join(args.out, "manifest.json.part"),
               os.path.join(args.out, "manifest.json"))
    return man


def print_summary(man):
    print("\nvalidation split (by package):")
    for c in R.CLASSES:
        print("  %-6s %s" % (c, ", ".join(R.VALIDATION_PACKAGES[c])))
    print("\n%-6s %-10s %6s %8s  packages" % ("class", "split", "files", "hours"))
    for c in R.CLASSES:
        for s in ("train", "validation"):
            d = man["classes"][c][s]
            print("%-6s %-10s %6d %8.2f  %d" % (c, s, d["files"], d["hours"], len(d["packages"])))
        print("%-6s validation fraction %.1f%%   bandwidth (train, share of hours) %s" % (
            c, 100 * man["classes"][c]["validation_fraction"],
            man["classes"][c]["train"]["bandwidth_fraction_of_hours"]))
    t = man["totals"]
    print("\ntotal %d files, %.2f h, pool %.1f MB, debs %.1f MB, %d cross-package duplicates"
          % (t["files"], t["hours"], t["pool_bytes"] / 1e6, t["deb_bytes"] / 1e6,
             t["cross_package_duplicates"]))
    if man["packages_not_built"]:
        print("not built yet: " + ", ".join(man["packages_not_built"]))
    if man["packages_missing_in_debian"]:
        print("missing in Debian: " + ", ".join(man["packages_missing_in_debian"]))


def show_hours(man):
    """Per class and package hours, to choose VALIDATION_PACKAGES."""
    for c in R.CLASSES:
        per = {}
        for s in ("train", "validation"):
            for p, d in man["classes"][c][s]["packages"].items():
                per[p] = (d["hours"], s)
        tot = sum(h for h, _ in per.values()) or 1
        print("\n%s: %.2f h" % (c, tot))
        for p, (h, s) in sorted(per.items(), key=lambda kv: -kv[1][0]):
            print("  %-30s %7.2f h %5.1f%%  %s" % (p, h, 100 * h / tot, s))


# ---------------------------------------------------------------- CLI
def select_packages(args):
    if args.packages:
        pk = [p.strip() for p in args.packages.split(",") if p.strip()]
        unknown = [p for p in pk if p not in R.all_packages()]
        if unknown:
            raise CorpusError("not in issue 3's lists: %s (the other packages are reserved "
                              "for evaluation)" % ", ".join(unknown))
    else:
        pk = R.all_packages()
    return [p for p in pk if set(R.package_classes(p)) & set(args.classes)]


def dry_run(args, pkgs):
    apt = Apt()
    total = 0
    print("%-30s %-17s %10s  %-6s %s" % ("package", "classes", "size MB", "cached", "version"))
    for p in pkgs:
        v = apt.candidate(p)
        if v is None:
            print("%-30s %-17s %10s" % (p, ",".join(R.package_classes(p)), "MISSING"))
            continue
        size = int(apt.show(p).get("Size", "0") or 0)
        cached = apt.cached_deb(os.path.join(args.cache, "debs"), p, v) is not None
        done = os.path.exists(os.path.join(args.out, ".state", p + ".json"))
        total += size
        print("%-30s %-17s %10.1f  %-6s %s%s" % (p, ",".join(R.package_classes(p)), size / 1e6,
              "yes" if cached else "no", v, "  (built)" if done else ""))
    print("total download %.1f MB for %d packages" % (total / 1e6, len(pkgs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="where .debs and extractions are kept")
    ap.add_argument("--out", required=True, help="POOL_DIR: pools and manifest.json")
    ap.add_argument("--classes", default="speech,music,sfx")
    ap.add_argument("--packages", help="comma-separated subset of the issue's packages")
    ap.add_argument("--jobs", type=int, default=2, help="parallel decoders (default 2)")
    ap.add_argument("--dry-run", action="store_true", help="list packages and sizes only")
    ap.add_argument("--force", action="store_true", help="redo packages already built")
    ap.add_argument("--keep-extracted", action="store_true",
                    help="keep CACHE/extract/PKG after a package is built")
    ap.add_argument("--codec", choices=["vorbis", "flac"], default="vorbis")
    ap.add_argument("--voice-lines", choices=["speech", "drop"], default="speech",
                    help="voice-line folders of sfx packages: to the speech pool (tagged "
                    "origin=voice-folder) or dropped")
    ap.add_argument("--min-duration", type=float, default=R.MIN_DURATION_S,
                    help="drop decoded files shorter than this many seconds (default %(default)s;"
                    " gcin-voice's syllables are ~0.3 s: see README)")
    ap.add_argument("--manifest-only", action="store_true",
                    help="rebuild manifest.json from the finished packages")
    ap.add_argument("--refresh-licenses", action="store_true",
                    help="re-read the copyright files of built packages from the cached .debs")
    ap.add_argument("--show-hours", action="store_true",
                    help="print hours per class and package (to choose the validation split)")
    args = ap.parse_args()
    args.classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    bad = [c for c in args.classes if c not in R.CLASSES]
    try:
        if bad:
            raise CorpusError("unknown class %s (choose from %s)" % (bad, ",".join(R.CLASSES)))
        if args.jobs < 1:
            raise CorpusError("--jobs must be at least 1")
        args.cache = os.path.abspath(args.cache)
        args.out = os.path.abspath(args.out)
        pkgs = select_packages(args)
        if args.dry_run:
            need_tool("apt-cache", "apt")
            dry_run(args, pkgs)
            return 0
        if args.refresh_licenses:
            need_tool("dpkg-deb", "dpkg")
            refresh_licenses(args, pkgs)
        elif not (args.manifest_only or args.show_hours):
            for tool, deb in (("apt-get", "apt"), ("dpkg-deb", "dpkg"), ("ffmpeg", "ffmpeg"),
                              ("sox", "sox libsox-fmt-all")):
                need_tool(tool, deb)
            os.makedirs(args.cache, exist_ok=True)
            os.makedirs(args.out, exist_ok=True)
            apt = Apt()
            soundfont = None
            if any(p in R.MIDI_PACKAGES for p in pkgs) and "music" in args.classes:
                need_tool("fluidsynth", "fluidsynth")
                soundfont = ensure_soundfont(apt, args)
            log("building %d packages into %s (cache %s, %d jobs)"
                % (len(pkgs), args.out, args.cache, args.jobs))
            failed = []
            for p in pkgs:
                try:
                    build_package(p, apt, args, soundfont)
                except CorpusError as e:
                    log("%s: FAILED: %s" % (p, e))
                    failed.append(p)
            if failed:
                log("failed packages (rerun to retry): " + ", ".join(failed))
        man = build_manifest(args)
        if args.show_hours:
            show_hours(man)
        else:
            print_summary(man)
        log("manifest written: " + os.path.join(args.out, "manifest.json"))
        return 0
    except CorpusError as e:
        print("build_corpus.py: error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun to resume (finished packages are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
