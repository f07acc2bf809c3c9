"""PyTorch peer for test/nn/torch-parity.test.ts: reads a JSON list of cases on stdin, runs each with
torch (CPU) and writes the results as JSON on stdout. Inputs arrive as exact f32 values and run in
float64, so the peer gives torch's semantics without float32 rounding of its own: its float32
trilinear ×8 backward is up to 6e-5 off the exact sum (seed 1603865302), more than ours (3e-6)."""
import json
import sys

import torch
import torch.nn.functional as F


def t(a, shape=None, grad=False):
    x = torch.tensor(a, dtype=torch.float64)
    if shape is not None:
        x = x.reshape(shape)
    return x.requires_grad_(grad)


def flat(x):
    return x.detach().reshape(-1).double().tolist()


def upsample(c):
    x = t(c["x"], c["shape"], True)
    kw = {"align_corners": False} if c["mode"] == "trilinear" else {}
    y = F.interpolate(x, scale_factor=c["factor"], mode=c["mode"], **kw)
    y.backward(t(c["dy"], y.shape))
    return {"y": flat(y), "dx": flat(x.grad)}


def batchnorm(c):
    x = t(c["x"], c["shape"], True)
    bn = torch.nn.BatchNorm3d(c["shape"][1], eps=c["eps"], momentum=c["momentum"]).double()
    with torch.no_grad():
        bn.weight.copy_(t(c["gamma"]))
        bn.bias.copy_(t(c["beta"]))
        bn.running_mean.copy_(t(c["rm"]))
        bn.running_var.copy_(t(c["rv"]))
    bn.train()
    y = bn(x)
    y.backward(t(c["dy"], y.shape))
    return {"y": flat(y), "dx": flat(x.grad), "dgamma": flat(bn.weight.grad), "dbeta": flat(bn.bias.grad),
            "rm": flat(bn.running_mean), "rv": flat(bn.running_var)}


def maxpool(c):
    x = t(c["x"], c["shape"], True)
    y = F.max_pool3d(x, 2)
    y.backward(t(c["dy"], y.shape))
    return {"y": flat(y), "dx": flat(x.grad)}


def bce(c):
    z = t(c["z"], None, True)
    loss = F.binary_cross_entropy_with_logits(z, t(c["t"]), weight=t(c["w"]))
    loss.backward()
    return {"loss": loss.item(), "grad": flat(z.grad)}


def optim(c):
    p = torch.nn.Parameter(t(c["p"]))
    if c["kind"] == "adam":
        o = torch.optim.Adam([p], **c["opts"])
    else:
        o = torch.optim.RMSprop([p], **c["opts"])
    for g in c["grads"]:
        p.grad = t(g)
        o.step()
    return {"p": flat(p)}


RUN = {"upsample": upsample, "batchnorm": batchnorm, "maxpool": maxpool, "bce": bce, "optim": optim}

if __name__ == "__main__":
    torch.set_num_threads(1)
    cases = json.load(sys.stdin)
    json.dump([RUN[c["op"]](c) for c in cases], sys.stdout)
