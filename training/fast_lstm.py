"""A faster training forward for mrx_ref._CrossNet: every branch and direction in one
recurrence.

mrx_ref._CrossNet runs S nn.LSTM stacks (one per source branch), each bidirectional. On the
CPU, PyTorch runs each (branch, direction) as its own loop over time, and its backward
zero-fills a whole [B, T, 4H] gradient per time step (SelectBackward), so training time
grows with T^2 and with 2 S. crossnet_forward() computes the same function from the same
nn.LSTM parameters (the state dict and its names are untouched): per layer, one GEMM for
the input projections of all time steps, branches and directions, then one loop over time
whose step is a single batched matrix product for all 2 S recurrences (the backward
direction reads the sequence reversed). It is used for training only; the engine and the
reference keep nn.LSTM, and selfcheck() holds the two to float32 rounding.

PyTorch's LSTM cell (gate order i, f, g, o):
    g = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g);  h_t = sigmoid(o) tanh(c_t)
Dropout (nn.LSTM's `dropout`, applied in training to the output of every layer but the
last) is applied the same way, with independent masks per branch.
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))


def _layer_params(lstms, k):
    """Stacked weights of layer k for all branches and directions (branch-major, then
    forward, reverse): W_ih [R, 4H, In], W_hh [R, 4H, H], b [R, 4H] with R = 2 S."""
    w_ih, w_hh, b = [], [], []
    for lstm in lstms:
        for sfx in ("", "_reverse"):
            w_ih.append(getattr(lstm, "weight_ih_l%d%s" % (k, sfx)))
            w_hh.append(getattr(lstm, "weight_hh_l%d%s" % (k, sfx)))
            b.append(getattr(lstm, "bias_ih_l%d%s" % (k, sfx))
                     + getattr(lstm, "bias_hh_l%d%s" % (k, sfx)))
    return torch.stack(w_ih), torch.stack(w_hh), torch.stack(b)


def crossnet_forward(cross_net, c1):
    """Same result as cross_net(c1): c1 [B, T, hidden] -> mean over branches of the
    BiLSTM outputs [B, T, hidden]."""
    lstms = list(cross_net.lstm)
    S = len(lstms)
    R = 2 * S
    B, T, hidden = c1.shape
    H = lstms[0].hidden_size
    layers = lstms[0].num_layers
    dropout = float(lstms[0].dropout) if cross_net.training else 0.0
    x = None  # layer input per branch [S, B, T, In]; None: c1 shared by all branches
    for k in range(layers):
        w_ih, w_hh, b = _layer_params(lstms, k)
        if x is None:
            # [B*T, hidden] x [hidden, R*4H] in one GEMM
            xg = (c1.reshape(B * T, hidden) @ w_ih.reshape(R * 4 * H, hidden).t())
            xg = xg.reshape(B, T, R, 4 * H).permute(2, 0, 1, 3)  # [R, B, T, 4H]
        else:
            In = x.shape[-1]
            # each branch's input feeds its two directions: [S, B*T, In] x [S, In, 2*4H]
            w = w_ih.reshape(S, 2, 4 * H, In).permute(0, 3, 1, 2).reshape(S, In, 8 * H)
            xg = torch.bmm(x.reshape(S, B * T, In), w)  # [S, B*T, 2*4H]
            xg = xg.reshape(S, B, T, 2, 4 * H).permute(0, 3, 1, 2, 4).reshape(R, B, T, 4 * H)
        xg = xg + b[:, None, None, :]
        # reverse directions read the sequence backwards
        xg = xg.reshape(S, 2, B, T, 4 * H)
        xg = torch.stack([xg[:, 0], xg[:, 1].flip(2)], dim=1).reshape(R, B, T, 4 * H)
        steps = xg.unbind(2)  # T x [R, B, 4H]; unbind's backward is a stack
        w_hh_t = w_hh.transpose(1, 2)  # [R, H, 4H]
        h = c1.new_zeros(R, B, H)
        c = c1.new_zeros(R, B, H)
        outs = []
        for t in range(T):
            g = torch.baddbmm(steps[t], h, w_hh_t)
            i, f, gg, o = g.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        y = torch.stack(outs, dim=2).reshape(S, 2, B, T, H)  # [S, 2, B, T, H]
        y = torch.cat([y[:, 0], y[:, 1].flip(2)], dim=-1)     # [S, B, T, 2H]
        if dropout > 0 and k < layers - 1:
            y = F.dropout(y, p=dropout, training=True)
        x = y
    return x.mean(dim=0)


def install(model):
    """Route model._cross_net's forward through crossnet_forward (parameters unchanged)."""
    cn = model._cross_net
    cn.forward = lambda c1, _cn=cn: crossnet_forward(_cn, c1)
    return model


def selfcheck(seed=0, verbose=False):
    """crossnet_forward against nn.LSTM (eval mode), output and gradients, float32: output
    within 1e-5 absolute, every gradient within 1e-4 of its largest element."""
    import mrx_ref
    torch.manual_seed(seed)
    cn = mrx_ref._CrossNet(3, 32, 3).eval()
    c1 = torch.randn(2, 37, 32, requires_grad=True)
    ref = cn(c1)
    g_ref = torch.autograd.grad(ref.square().sum(), [c1] + list(cn.parameters()))
    out = crossnet_forward(cn, c1)
    g_out = torch.autograd.grad(out.square().sum(), [c1] + list(cn.parameters()))
    err = (out - ref).abs().max().item()
    gerr = max(((a - b).abs().max() / (b.abs().max() + 1e-12)).item()
               for a, b in zip(g_out, g_ref))
    if verbose:
        print("fast_lstm selfcheck (seed %d): max |out - nn.LSTM| %.3g, max relative grad "
              "error %.3g" % (seed, err, gerr))
    return err < 1e-5 and gerr < 1e-4


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else int.from_bytes(os.urandom(4), "little")
    ok = selfcheck(seed, verbose=True)
    if not ok:
        print("FAIL (seed %d; rerun with: fast_lstm.py %d)" % (seed, seed))
    sys.exit(0 if ok else 1)
