"""PyTorch reference implementation of MRX, written from docs/network.md.

This is the ground truth the OpenCL engine is tested against. It computes the
spec's forward pass steps 1-8 for one or more independent channels, in whatever
dtype the module is in (the parity tests run it in float64 with .double()).

It differs from the authors' code in one deliberate way: the STFT pads by index
gathering (reflect_indices) instead of torch's reflect pad, so that any length
L >= 1 works, including L <= N/2 where torch.stft refuses. For L > N/2 the two are
identical (stft_selfcheck() verifies it).

Submodule names reproduce the authors' state_dict names exactly (see
expected_state_dict_names and test_network.py --selfcheck).
"""

import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import mrx_io

# Configuration inference lives in mrx_io (it needs no torch); re-exported here.
config_from_state_dict = mrx_io.config_from_state_dict
expected_shapes = mrx_io.expected_shapes


# ---------------------------------------------------------------------------------
# STFT / inverse STFT

def reflect_indices(L, pad):
    """Source index of each sample of a signal of length L reflect-padded by `pad`.

    Returns an int64 numpy array of length L + 2*pad: padded[p] = x[idx[p]]. The rule
    is numpy.pad(mode='reflect') applied as often as needed (a mirror that does not
    repeat the edge sample: padded[pad-1] = x[1]):
        i = p - pad; with period P = 2*(L-1): i = i mod P (non-negative);
        if i >= L: i = P - i.
    Unlike torch's reflect pad this works for pad >= L: the signal is extended
    periodically with period P (x, then x reversed without its end samples, ...).
    For L == 1 every index is 0 (the signal is extended as a constant).
    """
    if L < 1:
        raise ValueError("reflect_indices needs L >= 1, got %d" % L)
    i = np.arange(-pad, L + pad, dtype=np.int64)
    if L == 1:
        return np.zeros_like(i)
    period = 2 * (L - 1)
    i = np.mod(i, period)  # numpy's mod is non-negative for a positive period
    return np.where(i >= L, period - i, i)


def num_frames(L, hop):
    """T = 1 + floor(L / hop) frames (torch.stft with center=True)."""
    return 1 + L // hop


def hann(N, dtype, device=None):
    """Periodic Hann window w[n] = 0.5 - 0.5 cos(2 pi n / N)."""
    return torch.hann_window(N, periodic=True, dtype=dtype, device=device)


def stft(x, N, hop):
    """Normalised STFT of real x [B, L]: complex [B, T, N/2+1] (frame-major).

    Frame t covers padded[t*hop : t*hop + N] where padded is x reflect-padded by N/2
    on both sides (reflect_indices), times the periodic Hann window, rfft, times
    1/sqrt(N). Works for any L >= 1.
    """
    B, L = x.shape
    T = num_frames(L, hop)
    src = reflect_indices(L, N // 2)
    # [T, N] table of source indices: frame t, tap n -> x index.
    taps = np.arange(T)[:, None] * hop + np.arange(N)[None, :]
    idx = torch.from_numpy(src[taps]).to(x.device)
    frames = x[:, idx] * hann(N, x.dtype, x.device)  # [B, T, N]
    return torch.fft.rfft(frames, n=N, dim=-1) * (1.0 / math.sqrt(N))


def istft(X, N, hop, L):
    """Inverse of stft(): complex [B, T, N/2+1] -> real [B, L].

    Per frame: zero the imaginary parts of bins 0 and N/2, irfft of N points, times
    sqrt(N), times the window. Overlap-add at t*hop into (T-1)*hop + N samples; the
    envelope is the overlap-added squared window. Keep samples [N/2, N/2 + L) (zeros
    past the end of the buffer) and divide by the envelope where it exceeds 1e-11
    (elsewhere the sample is left as it is). Same as torch.istft(normalized=True,
    center=True, length=L) wherever torch accepts the input.
    """
    B, T, nbins = X.shape
    assert nbins == N // 2 + 1
    X = X.clone()
    X[..., 0] = X[..., 0].real.to(X.dtype)
    X[..., -1] = X[..., -1].real.to(X.dtype)
    w = hann(N, X.real.dtype, X.device)
    frames = torch.fft.irfft(X, n=N, dim=-1, norm="backward") * math.sqrt(N) * w  # [B,T,N]
    buf_len = (T - 1) * hop + N
    # fold sums the N-sample blocks (columns) at stride hop: overlap-add in one call.
    y = F.fold(frames.transpose(1, 2), output_size=(1, buf_len),
               kernel_size=(1, N), stride=(1, hop)).reshape(B, buf_len)
    wsq = (w * w).reshape(1, N, 1).expand(1, N, T)
    env = F.fold(wsq, output_size=(1, buf_len), kernel_size=(1, N),
                 stride=(1, hop)).reshape(buf_len)
    return istft_trim(y, env, N, L)


def istft_trim(y, env, N, L):
    """The end of istft(): overlap-added frames y [B, buf_len] and their envelope env
    [buf_len] -> samples [N/2, N/2 + L) of y / env, zeros past the buffer, y itself where
    env <= 1e-11."""
    buf_len = y.shape[-1]
    start, end = N // 2, N // 2 + L
    if end > buf_len:  # only when hop > N/2; the missing tail reads as zero
        y = F.pad(y, (0, end - buf_len))
        env = F.pad(env, (0, end - buf_len))
    y = y[:, start:end]
    env = env[start:end]
    ok = env > 1e-11
    return torch.where(ok, y / torch.where(ok, env, torch.ones_like(env)), y)


def stft_selfcheck(verbose=False):
    """Compare stft/istft with torch.stft/torch.istft (float64) where torch works.

    Returns a list of failure messages (empty on success). Also checks that
    istft(stft(x)) reconstructs x for every length from 1 up, including L <= N/2.
    """
    failures = []
    g = torch.Generator().manual_seed(1234)
    cases = [(16, 4, 9), (16, 8, 100), (32, 8, 17), (24, 12, 1237), (64, 8, 33),
             (1024, 256, 44100 + 17), (2048, 256, 3000), (8192, 256, 8192 * 2 + 5),
             (96, 12, 49), (32, 16, 16 * 7)]
    for N, hop, L in cases:
        x = torch.randn(2, L, generator=g, dtype=torch.float64)
        # The spec's window, computed independently of hann().
        w = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(N, dtype=torch.float64) / N)
        ref = torch.stft(x, N, hop, window=w, center=True, pad_mode="reflect",
                         normalized=True, return_complex=True).transpose(1, 2)
        ours = stft(x, N, hop)
        err = (ours - ref).abs().max().item()
        scale = ref.abs().max().item()
        if ours.shape != ref.shape or err > 1e-12 * max(scale, 1.0):
            failures.append("stft N=%d hop=%d L=%d: shape %s vs %s, max err %.3g"
                            % (N, hop, L, tuple(ours.shape), tuple(ref.shape), err))
        # A random complex spectrogram, not only a consistent one, to exercise the
        # imaginary parts of bins 0 and N/2 that both must ignore.
        Z = torch.randn(ref.shape, generator=g, dtype=torch.complex128)
        for name, spec in (("stft(x)", ref), ("random", Z)):
            y_ref = torch.istft(spec.transpose(1, 2), N, hop, window=w, center=True,
                                normalized=True, length=L)
            y = istft(spec, N, hop, L)
            err = (y - y_ref).abs().max().item()
            if err > 1e-10 * max(y_ref.abs().max().item(), 1.0):
                failures.append("istft(%s) N=%d hop=%d L=%d: max err %.3g"
                                % (name, N, hop, L, err))
        if verbose:
            print("stft/istft N=%d hop=%d L=%d checked" % (N, hop, L))
    # Perfect reconstruction for any length, including those torch refuses.
    for N, hop in ((16, 8), (32, 4), (24, 12), (64, 16)):
        for L in list(range(1, 3 * N)) + [5 * N + 3]:
            x = torch.randn(1, L, generator=g, dtype=torch.float64)
            y = istft(stft(x, N, hop), N, hop, L)
            err = (y - x).abs().max().item()
            if err > 1e-12:
                failures.append("istft(stft(x)) N=%d hop=%d L=%d: max err %.3g"
                                % (N, hop, L, err))
    return failures


# ---------------------------------------------------------------------------------
# network

def _bn_rows(bn, x):
    """Apply a BatchNorm1d to the last dimension of x [..., C] (rows are samples)."""
    shape = x.shape
    return bn(x.reshape(-1, shape[-1])).reshape(shape)


class _Encoder(nn.Module):
    """|X_r| -> BatchNorm(F_r) -> Linear(F_r, hidden) -> BatchNorm(hidden) -> tanh."""

    def __init__(self, n_bins, hidden):
        super().__init__()
        # Tanh has no parameters: its place in the Sequential changes no names.
        self.layer = nn.Sequential(nn.BatchNorm1d(n_bins), nn.Linear(n_bins, hidden, bias=False),
                                   nn.BatchNorm1d(hidden), nn.Tanh())

    def forward(self, mag):  # [B, T, F_r] -> [B, T, hidden]
        B, T, f = mag.shape
        return self.layer(mag.reshape(B * T, f)).reshape(B, T, -1)


class _CrossNet(nn.Module):
    """One BiLSTM stack per source branch, all fed the same C1."""

    def __init__(self, n_branches, hidden, layers):
        super().__init__()
        # The authors also pass dropout=0.4, which only acts in training.
        self.lstm = nn.ModuleList(
            nn.LSTM(hidden, hidden // 2, num_layers=layers, bidirectional=True, batch_first=True)
            for _ in range(n_branches))

    def forward(self, c1):  # [B, T, hidden] -> C2 [B, T, hidden]
        return torch.stack([lstm(c1)[0] for lstm in self.lstm]).mean(dim=0)


class _Decoder(nn.Module):
    """D [.., 2*hidden] -> Linear -> BN -> ReLU -> Linear(hidden, F_r) -> BN -> ReLU."""

    def __init__(self, n_bins, hidden):
        super().__init__()
        self.block = nn.Sequential(
            nn.Linear(2 * hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, n_bins, bias=False), nn.BatchNorm1d(n_bins), nn.ReLU())

    def forward(self, d):  # [B, T, 2*hidden] -> mask [B, T, F_r]
        B, T, n = d.shape
        return self.block(d.reshape(B * T, n)).reshape(B, T, -1)


class MRX(nn.Module):
    """MRX (Multi-Resolution CrossNet), inference only (the module starts in eval mode).

    forward(x): x [B, L] (channels as batch, any L >= 1) -> [B, S, L] in `sources` order.
    """

    def __init__(self, sample_rate=44100, hop=256, window_lengths=(1024, 2048, 8192),
                 hidden=512, lstm_layers=3, sources=("music", "speech", "sfx")):
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.hop = int(hop)
        self.window_lengths = [int(n) for n in window_lengths]
        self.hidden = int(hidden)
        self.lstm_layers = int(lstm_layers)
        self.sources = list(sources)
        bins = [n // 2 + 1 for n in self.window_lengths]
        self._encoders = nn.ModuleList(_Encoder(f, self.hidden) for f in bins)
        self._cross_net = _CrossNet(len(self.sources), self.hidden, self.lstm_layers)
        self._decoders = nn.ModuleList(
            nn.ModuleList(_Decoder(f, self.hidden) for f in bins) for _ in self.sources)
        self.eval()

    def config(self):
        return {"sample_rate": self.sample_rate, "hop": self.hop,
                "window_lengths": list(self.window_lengths), "hidden": self.hidden,
                "lstm_layers": self.lstm_layers, "sources": list(self.sources)}

    def forward(self, x):
        if x.dim() != 2 or x.shape[-1] < 1:
            raise ValueError("MRX.forward expects [B, L] with L >= 1, got %s" % (tuple(x.shape),))
        L = x.shape[-1]
        # 1. STFT per resolution; 2. encoders
        specs = [stft(x, N, self.hop) for N in self.window_lengths]
        enc = [e(X.abs()) for e, X in zip(self._encoders, specs)]
        # 3. C1 = mean of the encodings; 4.-5. C2 = mean of the BiLSTM branches
        c1 = torch.stack(enc).mean(dim=0)
        c2 = self._cross_net(c1)
        d = torch.cat([c1, c2], dim=-1)
        # 6.-8. masks, inverse STFTs, sum over resolutions
        out = []
        for decs in self._decoders:
            y = 0
            for dec, X, N in zip(decs, specs, self.window_lengths):
                y = y + istft(dec(d) * X, N, self.hop, L)
            out.append(y)
        return torch.stack(out, dim=1)


def expected_state_dict_names(config=None):
    """The spec's tensor names (with num_batches_tracked), for the default config."""
    return list(expected_shapes(config or mrx_io.default_config(), num_batches_tracked=True))


def state_dict_selfcheck(config=None):
    """Compare MRX(**config).state_dict() names and shapes with the spec table."""
    config = config or mrx_io.default_config()
    got = {k: tuple(v.shape) for k, v in MRX(**config).state_dict().items()}
    want = expected_shapes(config, num_batches_tracked=True)
    failures = []
    for k in want:
        if k not in got:
            failures.append("state_dict lacks %s" % k)
        elif got[k] != want[k]:
            failures.append("state_dict %s has shape %s, spec says %s" % (k, got[k], want[k]))
    for k in got:
        if k not in want:
            failures.append("state_dict has %s, not in the spec" % k)
    if not failures and list(got) != list(want):
        failures.append("state_dict order differs from the spec order")
    return failures


def load_model(path):
    """Load an mrxcl model file: (MRX in float32, eval mode; config dict)."""
    tensors, config = mrx_io.read_model_file(path)
    model = MRX(**config)
    sd = {k: torch.from_numpy(a) for k, a in tensors.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(".num_batches_tracked")]
    if missing or unexpected:  # cannot happen after validate_state_dict
        raise mrx_io.ModelError("state_dict mismatch: missing %s, unexpected %s" % (missing, unexpected))
    model.eval()
    return model, config
