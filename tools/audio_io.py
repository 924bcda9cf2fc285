#!/usr/bin/python3
"""WAV files and loudness, for the reference tools and the tests (numpy, libebur128).

read_wav/write_wav read and write WAV with numpy alone (Python's `wave` module reads PCM
only; mrxcl writes float). loudness/input_loudness measure ITU-R BS.1770-4 integrated
loudness through libebur128 (Debian's libebur128-1, loaded with ctypes), as `mrxcl separate`
does for its --loudness step (ref_separate.py) and as training's mixer does
(training/dnr_mix.py, whose ctest loudness_selftest checks loudness() against BS.1770's
figures).
"""

import math
import os
import struct

import numpy as np

SAMPLE_RATE = 44100


# ---------------------------------------------------------------------------------
# WAV files (numpy only)

def read_wav(path):
    """Read a WAV file: (float32 array [channels, frames], sample_rate).

    PCM 8/16/24/32-bit and IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE. (Python's
    `wave` module reads PCM only; mrxcl and write_wav write float.)
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise ValueError("%s: not a RIFF/WAVE file" % path)
    pos = 12
    fmt = None
    payload = None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            payload = body  # a truncated last chunk is read as far as it goes
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise ValueError("%s: no fmt or data chunk" % path)
    tag, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if tag == 0xFFFE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # first two bytes of the subformat GUID
    width = bits // 8
    n = len(payload) // (width * channels)
    payload = payload[:n * width * channels]
    if tag == 3 and bits in (32, 64):
        x = np.frombuffer(payload, dtype="<f%d" % width).astype(np.float32)
    elif tag == 1 and bits == 8:
        x = (np.frombuffer(payload, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == 1 and bits == 16:
        x = np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32768.0
    elif tag == 1 and bits == 24:
        b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif tag == 1 and bits == 32:
        x = np.frombuffer(payload, dtype="<i4").astype(np.float64) / 2147483648.0
        x = x.astype(np.float32)
    else:
        raise ValueError("%s: unsupported WAV format tag %d with %d bits" % (path, tag, bits))
    return np.ascontiguousarray(x.reshape(n, channels).T), int(rate)


def write_wav(path, audio, sample_rate):
    """Write float32 WAV (IEEE float, format tag 3). audio: [frames] or [channels, frames]."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    channels, frames = a.shape
    payload = np.ascontiguousarray(a.T).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHHH", 3, channels, int(sample_rate), int(sample_rate) * 4 * channels,
                      4 * channels, 32, 0)
    fact = struct.pack("<I", frames)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(payload)) + payload)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------
# loudness, resampling

class _Ebur128:
    """libebur128 (the EBU R 128 / ITU-R BS.1770 loudness library, Debian's libebur128-1)
    through ctypes: mode I (integrated loudness), mono."""
    MODE_I = (1 << 2) | (1 << 0)

    def __init__(self):
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("ebur128") or "libebur128.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise RuntimeError("audio_io: cannot load libebur128 (%s); install it: apt-get "
                               "install libebur128-1" % e)
        self.ct, self.lib = ctypes, lib
        lib.ebur128_init.restype = ctypes.c_void_p
        lib.ebur128_init.argtypes = (ctypes.c_uint, ctypes.c_ulong, ctypes.c_int)
        lib.ebur128_add_frames_double.restype = ctypes.c_int
        lib.ebur128_add_frames_double.argtypes = (ctypes.c_void_p,
                                                  ctypes.POINTER(ctypes.c_double),
                                                  ctypes.c_size_t)
        lib.ebur128_loudness_global.restype = ctypes.c_int
        lib.ebur128_loudness_global.argtypes = (ctypes.c_void_p,
                                                ctypes.POINTER(ctypes.c_double))
        lib.ebur128_set_channel.restype = ctypes.c_int
        lib.ebur128_set_channel.argtypes = (ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
        lib.ebur128_destroy.restype = None
        lib.ebur128_destroy.argtypes = (ctypes.POINTER(ctypes.c_void_p),)

    # enum channel of ebur128.h
    UNUSED, LEFT, RIGHT, CENTER, LEFT_SURROUND, RIGHT_SURROUND, MP135, MM135 = 0, 1, 2, 3, 4, 5, 13, 14

    def channel_map(self, channels):
        """BS.1770-4 positions in WAV/SMPTE order, as host/cli/loudness.c sets them: L, R,
        C; with four or five channels the surrounds (weight 1.41, as pyloudnorm); with six
        (5.1) the fourth is the LFE, left out; past six, rear channels of weight 1."""
        m = []
        for c in range(channels):
            if c < 3:
                m.append((self.LEFT, self.RIGHT, self.CENTER)[c])
            elif c == 3:
                m.append(self.UNUSED if channels >= 6 else self.LEFT_SURROUND)
            elif c == 4:
                m.append(self.RIGHT_SURROUND if channels == 5 else self.LEFT_SURROUND)
            elif c == 5:
                m.append(self.RIGHT_SURROUND)
            else:
                m.append(self.MM135 if c % 2 else self.MP135)
        return m

    def integrated(self, x, sample_rate):
        """x: [samples] (mono) or [channels, samples]."""
        ct, lib = self.ct, self.lib
        x = np.asarray(x, dtype=np.float64)
        channels = 1 if x.ndim == 1 else x.shape[0]
        frames = np.ascontiguousarray(x if x.ndim == 1 else x.T)  # interleaved
        st = ct.c_void_p(lib.ebur128_init(channels, int(sample_rate), self.MODE_I))
        if not st.value:
            raise RuntimeError("libebur128: ebur128_init(%d, %d) failed" % (channels, sample_rate))
        try:
            for c, ch in enumerate(self.channel_map(channels)):
                if lib.ebur128_set_channel(st, c, ch):
                    raise RuntimeError("libebur128: ebur128_set_channel(%d, %d) failed" % (c, ch))
            out = ct.c_double()
            if (lib.ebur128_add_frames_double(st, frames.ctypes.data_as(ct.POINTER(ct.c_double)),
                                              frames.shape[0])
                    or lib.ebur128_loudness_global(st, ct.byref(out))):
                raise RuntimeError("libebur128: measuring %d samples at %d Hz failed"
                                   % (len(x), sample_rate))
            return out.value
        finally:
            lib.ebur128_destroy(ct.byref(st))


_EBUR128 = []


def loudness(x, sample_rate=SAMPLE_RATE):
    """ITU-R BS.1770-4 integrated loudness (LUFS) of mono x, by libebur128.

    -inf for silence (every 400 ms block under the -70 LUFS gate). A signal shorter than
    one 400 ms gating block is measured zero-padded to one block (its energy over 400 ms).
    """
    if not _EBUR128:
        _EBUR128.append(_Ebur128())
    x = np.ascontiguousarray(x, dtype=np.float64)
    need = int(0.4 * sample_rate) + 1
    if len(x) < need:
        x = np.concatenate([x, np.zeros(need - len(x))])
    value = _EBUR128[0].integrated(x, sample_rate)
    return float(value) if np.isfinite(value) else -math.inf


def input_loudness(x, sample_rate):
    """Integrated loudness (LUFS) of x [channels, samples] as `mrxcl separate` measures its
    input (host/cli/loudness.h: libebur128, BS.1770-4 channel weights, no padding): -inf
    when nothing passes the gates."""
    if not _EBUR128:
        _EBUR128.append(_Ebur128())
    value = _EBUR128[0].integrated(np.atleast_2d(x), sample_rate)
    return float(value) if np.isfinite(value) else -math.inf
