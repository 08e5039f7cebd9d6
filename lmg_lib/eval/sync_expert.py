"""A small SyncNet-style lip-sync expert and the LSE-D / LSE-C sync metrics (Wav2Lip's numbers).

Idea (SyncNet, Chung & Zisserman 2016): two encoders map a short window of lip frames and the
audio of the same frames to L2-normalised embeddings that are close when the two are in sync.
Sliding the audio against the video by k frames gives a distance curve D(k); its minimum is the
detected offset, its depth below the median is the confidence.

* Video window: W = 5 frames (200 ms). Each 64x64 RGB crop in [-1, 1] is turned grey (ITU-R 601
  luma) and average-pooled by ``pool`` (2: 32x32); the whole crop is kept (it is already the mouth
  box, 1.3x the lips). The W grey frames are stacked as channels: (B, W, 32, 32).
* Audio window: the LMS of the same W frames, (B, 1, 4W = 20, 128); the 128 mel bins are the
  channels of a 1-D convolution over the 20 time steps.
* Training (``train_sync_expert``): InfoNCE. For a video window at frame t the candidates are the
  audio windows of the same utterance at t + k, k in [-K, K] (K = ``max_offset``), plus the
  k = 0 audio windows of the other utterances of the batch; the target is k = 0 ("as recorded").
* Metrics (``sync_metrics``): d(t, k) = ||v_t - a_{t+k}|| (Euclidean, on unit vectors: in [0, 2],
  = sqrt(2 - 2 cos); NOT on the scale of syncnet_python's LSE-D ~ 6-8), averaged over the video
  windows t: D(k), k in [-K, K]. offset = argmin D; LSE-D = min D;
  LSE-C = median D - min D (as joonson/syncnet_python). A positive offset means the audio comes
  LATE: video frame t goes with audio frame t + offset.
* Minimum length: by default every D(k) averages the SAME video windows t in [K, N - W + 1 - K),
  and we require ``min_windows`` (4) of them: N >= W - 1 + 2K + 4 = 20 frames for K = 6; shorter
  input raises ``ValueError``. A 16-frame clip (12 windows) needs ``max_offset=4`` (4 windows), or
  ``same_windows=False``: each D(k) then averages all its N - W + 1 - |k| valid windows (N >= 14;
  6 windows at k = +-6), biased towards k = 0 (see ``sync_curve``) but the better of the two on
  16-frame val clips (LSE-C true > other-utterance audio in 94 % of clips, vs 75 % with K = 4).

The corpus' lips lead the sound by a per-utterance lag (mean 80 ms, sd 40 ms = 1 frame); nothing in
the pictures or the sound tells that lag, so an expert trained on "as recorded" can only learn the
typical lag, and detects round((lag - typical) / 40 ms) on an unshifted utterance: exact offset
accuracy is capped near P(|lag - 80| < 20 ms) ~ 38 % by the data itself (``evaluate_sync_expert``
reports that cap, ``ceiling_exact``, and the accuracy against the lag-corrected target).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..util.pixels import from_uint8
from ..util.weights import load_weights, read_weights_metadata, save_weights

FORMAT = "lmg-sync-expert-v1"


@dataclass(frozen=True)
class SyncConfig:
    window: int = 5                  # W video frames per window (200 ms at 25 fps)
    steps_per_frame: int = 4         # LMS steps per video frame
    n_mels: int = 128
    pool: int = 2                    # 64x64 grey -> 32x32
    image_size: int = 64
    video_channels: tuple = (16, 32, 48, 64)
    audio_channels: tuple = (64, 64, 96)
    emb_dim: int = 64
    max_offset: int = 6              # K: offsets -K..K frames (+-240 ms)
    min_windows: int = 4             # windows needed at the extreme offsets
    temperature: float = 0.1

    def min_frames(self, max_offset: int | None = None, same_windows: bool = True) -> int:
        """Shortest input ``sync_metrics`` accepts: W - 1 + 2K + min_windows (20 frames for K = 6),
        or W - 1 + K + min_windows (14) with ``same_windows=False``."""
        K = self.max_offset if max_offset is None else max_offset
        return self.window - 1 + K * (2 if same_windows else 1) + self.min_windows


def _block(cin, cout, stride, dim):
    conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dim == 2 else (nn.Conv1d, nn.BatchNorm1d)
    return nn.Sequential(conv(cin, cout, 3, stride, 1, bias=False), norm(cout), nn.ReLU(inplace=True))


def prep_video(frames, pool: int = 2) -> torch.Tensor:
    """(N, 3, S, S) float in [-1, 1], or uint8 (N, S, S, 3) / (N, 3, S, S) -> (N, S/pool, S/pool) grey."""
    x = torch.as_tensor(np.asarray(frames) if not torch.is_tensor(frames) else frames)
    if x.ndim != 4:
        raise ValueError(f"video must be (N, 3, H, W) or (N, H, W, 3), got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        x = torch.from_numpy(from_uint8(x.numpy()))
        if x.shape[-1] == 3:
            x = x.permute(0, 3, 1, 2)
    if x.shape[1] != 3:
        raise ValueError(f"video must have 3 colour channels, got shape {tuple(x.shape)}")
    grey = torch.einsum("nchw,c->nhw", x.float(), torch.tensor([0.299, 0.587, 0.114]))
    return F.avg_pool2d(grey[:, None], pool)[:, 0] if pool > 1 else grey


class SyncExpert(nn.Module):
    def __init__(self, cfg: SyncConfig = SyncConfig()):
        super().__init__()
        self.cfg, W, cv, ca = cfg, cfg.window, cfg.video_channels, cfg.audio_channels
        # video: (B, W, 32, 32) -> 32 -> 16 -> 8 -> 4 -> flatten -> emb
        self.video = nn.Sequential(_block(W, cv[0], 1, 2), *[_block(a, b, 2, 2) for a, b in zip(cv, cv[1:])],
                                   nn.Flatten())
        # audio: (B, 128 mels, 20 steps) -> 20 -> 10 -> 5 -> flatten -> emb
        self.audio = nn.Sequential(_block(cfg.n_mels, ca[0], 1, 1), *[_block(a, b, 2, 1) for a, b in zip(ca, ca[1:])],
                                   nn.Flatten())
        s, T = cfg.image_size // cfg.pool, W * cfg.steps_per_frame
        with torch.no_grad():
            nv, na = self.video(torch.zeros(2, W, s, s)).shape[1], self.audio(torch.zeros(2, cfg.n_mels, T)).shape[1]
        self.video_head, self.audio_head = nn.Linear(nv, cfg.emb_dim), nn.Linear(na, cfg.emb_dim)

    def encode_video(self, x: torch.Tensor) -> torch.Tensor:   # (B, W, s, s) grey -> (B, D) unit
        return F.normalize(self.video_head(self.video(x)), dim=-1)

    def encode_audio(self, x: torch.Tensor) -> torch.Tensor:   # (B, 1, 4W, M) LMS -> (B, D) unit
        return F.normalize(self.audio_head(self.audio(x.flatten(1, 2).transpose(1, 2))), dim=-1)

    # ---- whole sequences -> one embedding per W-frame window (eval mode, no grad) -------------
    @torch.no_grad()
    def embed_video(self, frames, chunk: int = 256) -> torch.Tensor:   # (N, ...) -> (N - W + 1, D)
        g = prep_video(frames, self.cfg.pool)
        win = g.unfold(0, self.cfg.window, 1).permute(0, 3, 1, 2)          # (N - W + 1, W, s, s)
        return torch.cat([self.encode_video(win[i:i + chunk]) for i in range(0, len(win), chunk)])

    @torch.no_grad()
    def embed_audio(self, lms, chunk: int = 256) -> torch.Tensor:      # (4N, M) -> (N - W + 1, D)
        win = audio_windows(torch.as_tensor(np.asarray(lms, np.float32)), self.cfg)
        return torch.cat([self.encode_audio(win[i:i + chunk]) for i in range(0, len(win), chunk)])


def audio_windows(lms: torch.Tensor, cfg: SyncConfig) -> torch.Tensor:
    """(4N, M) or (1, 4N, M) LMS -> (N - W + 1, 1, 4W, M): the audio of every W-frame window."""
    lms = lms.reshape(-1, lms.shape[-1])
    s, n = cfg.steps_per_frame, lms.shape[0] // cfg.steps_per_frame
    per_frame = lms[: n * s].reshape(n, s, -1)                              # (N, 4, M)
    win = per_frame.unfold(0, cfg.window, 1).permute(0, 3, 1, 2)            # (N - W + 1, W, 4, M)
    return win.reshape(len(win), 1, cfg.window * s, -1)


# ------------------------------------------------------------------------------------- metrics
@dataclass
class SyncScore:
    offset: int                      # argmin_k D(k), frames; > 0: the audio is late
    lse_d: float                     # min_k D(k)
    lse_c: float                     # median_k D(k) - min_k D(k)
    offsets: list = field(repr=False, default_factory=list)
    curve: list = field(repr=False, default_factory=list)    # D(k)
    n_windows: int = 0               # windows averaged at k = 0


def sync_curve(v: torch.Tensor, a: torch.Tensor, max_offset: int = 6, min_windows: int = 4,
               same_windows: bool = True) -> SyncScore:
    """Offset / LSE-D / LSE-C from window embeddings v (n, D) and a (n, D) of the same frames.
    D(k) = mean over t of ||v_t - a_{t+k}||; ``same_windows``: the same t in [K, n - K) for every k
    (needs n >= 2K + min_windows), else every t with both windows inside (n >= K + min_windows).
    The latter lets a 16-frame clip use K = 6, but it is biased towards k = 0, whose average is the
    only one that keeps both ends of the utterance (silence, easy to match)."""
    n, K = min(len(v), len(a)), max_offset
    if n - K * (2 if same_windows else 1) < min_windows:
        raise ValueError(f"sync metrics need >= {min_windows} windows per offset (+-{K}, same_windows="
                         f"{same_windows}): got {n} windows; see SyncConfig.min_frames")
    d = torch.cdist(v[:n].double(), a[:n].double())                        # d[t, u] = ||v_t - a_u||
    offsets, t = list(range(-K, K + 1)), torch.arange(K, n - K)
    curve = torch.stack([d[t, t + k].mean() if same_windows else d.diagonal(k).mean() for k in offsets])
    i = int(curve.argmin())
    return SyncScore(offsets[i], float(curve[i]), float(curve.median() - curve[i]), offsets,
                     curve.tolist(), len(t) if same_windows else n)


def sync_metrics(model: SyncExpert, frames, lms, max_offset: int | None = None,
                 same_windows: bool = True) -> SyncScore:
    """SyncNet-style metrics of one video: ``frames`` (N, 3, 64, 64) in [-1, 1] or uint8
    (N, 64, 64, 3), ``lms`` (4N, 128) (or (1, 4N, 128)); N >= ``cfg.min_frames(...)`` (20 frames with
    the defaults; a 16-frame clip needs ``max_offset=4`` or ``same_windows=False``)."""
    cfg = model.cfg
    K = cfg.max_offset if max_offset is None else max_offset
    n = min(len(frames), np.shape(lms)[-2] // cfg.steps_per_frame)
    need = cfg.min_frames(K, same_windows)
    if n < need:
        raise ValueError(f"sync metrics need at least {need} frames of video and audio (window "
                         f"{cfg.window}, offsets +-{K}, {cfg.min_windows} windows per offset, same_windows="
                         f"{same_windows}): got {n}")
    model.eval()
    lms = np.asarray(lms, np.float32).reshape(-1, np.shape(lms)[-1])[: n * cfg.steps_per_frame]
    return sync_curve(model.embed_video(frames[:n]), model.embed_audio(lms), K, cfg.min_windows, same_windows)


# ------------------------------------------------------------------------------------ training
def load_split(root, split: str, pool: int | None = None) -> list[dict]:
    """Utterances of one split of a preprocessed dataset: dicts with speaker, name, lag_ms, lms
    (4n, 128) float32, and frames (n, 3, 64, 64) uint8 -- or, with ``pool``, only grey (n, s, s) fp16."""
    from ..data.shards import load_shard, verify_shard
    root = Path(root)
    manifest = json.loads((root / "manifest.json").read_text())
    out = []
    for name, rec in sorted(manifest["shards"].items(), key=lambda kv: (kv[1]["speaker"], kv[0])):
        if rec["split"] != split:
            continue
        verify_shard(root / "shards" / name, None, rec["bytes"])
        z = load_shard(root / "shards" / name)
        u = dict(name=name, speaker=rec["speaker"], lag_ms=float(rec.get("lag_ms", float("nan"))),
                 lms=z["lms"].astype(np.float32))
        if pool:
            u["grey"] = prep_video(z["frames"], pool).half()
        else:
            u["frames"] = z["frames"]
        out.append(u)
    return out


def sample_batch(utts: list[dict], cfg: SyncConfig, B: int, rng: np.random.Generator):
    """B utterances (distinct), one window start t each -> video (B, W, s, s), audio (B, 2K+1, 1, 4W, M)."""
    W, K, S = cfg.window, cfg.max_offset, cfg.steps_per_frame
    vid, aud = [], []
    for j in rng.choice(len(utts), size=min(B, len(utts)), replace=False):
        u = utts[j]
        t = int(rng.integers(K, len(u["grey"]) - W - K + 1))
        vid.append(u["grey"][t:t + W].float())
        seg = torch.as_tensor(u["lms"][S * (t - K): S * (t + K + W)])         # 2K + W frames
        aud.append(audio_windows(seg, cfg))                                   # (2K + 1, 1, 4W, M)
    return torch.stack(vid), torch.stack(aud)


def info_nce(model: SyncExpert, video: torch.Tensor, audio: torch.Tensor):
    """Cross-entropy over [same utterance at k = -K..K] + [other utterances at k = 0]; target k = 0."""
    B, C = audio.shape[:2]
    K, tau = C // 2, model.cfg.temperature
    v = model.encode_video(video)                                            # (B, D)
    a = model.encode_audio(audio.flatten(0, 1)).view(B, C, -1)               # (B, 2K+1, D)
    own = torch.einsum("bd,bkd->bk", v, a)                                   # (B, 2K+1)
    other = (v @ a[:, K].T).masked_fill(torch.eye(B, dtype=torch.bool), -1e4)  # (B, B)
    logits = torch.cat([own, other], 1) / tau
    target = torch.full((B,), K, dtype=torch.long)
    return F.cross_entropy(logits, target), (own.argmax(1) == K).float().mean()


def train_sync_expert(utts: list[dict], cfg: SyncConfig = SyncConfig(), steps: int = 1500,
                      batch_size: int = 48, lr: float = 2e-3, seed: int = 0, progress: bool = True,
                      log_every: int = 50) -> tuple[SyncExpert, list[dict]]:
    """Train on ``utts`` (``load_split(..., pool=cfg.pool)``; each needs >= W + 2K frames).
    AdamW, cosine learning-rate decay; deterministic for a given seed on CPU."""
    from tqdm.auto import tqdm
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    utts = [u for u in utts if len(u["grey"]) >= cfg.window + 2 * cfg.max_offset]
    model = SyncExpert(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    log, run_loss, run_acc = [], 0.0, 0.0
    bar = tqdm(range(1, steps + 1), disable=not progress, desc="sync expert", mininterval=2)
    for step in bar:
        loss, acc = info_nce(model, *sample_batch(utts, cfg, batch_size, rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        run_loss, run_acc = run_loss + loss.item(), run_acc + acc.item()
        if step % log_every == 0 or step == steps:
            n = (step - 1) % log_every + 1
            log.append(dict(step=step, loss=run_loss / n, acc=run_acc / n))
            bar.set_postfix(loss=f"{run_loss / n:.3f}", acc=f"{run_acc / n:.2f}")
            run_loss = run_acc = 0.0
    return model.eval(), log


# ---------------------------------------------------------------------------------- evaluation
def degrade(frames: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """Synchronous but degraded copies of uint8 (N, 3, S, S) frames: "blur" (Gaussian, sigma 1.5 px),
    "noise" (Gaussian, sd 0.1 of the [-1, 1] range = 12.75 grey levels), "static" (frame 0 repeated)."""
    if kind == "static":
        return np.repeat(frames[:1], len(frames), 0)
    if kind == "blur":
        from scipy.ndimage import gaussian_filter
        out = gaussian_filter(frames.astype(np.float32), sigma=(0, 0, 1.5, 1.5))
    elif kind == "noise":
        out = frames + np.random.default_rng(seed).normal(0, 12.75, frames.shape)
    else:
        raise ValueError(f"unknown degradation {kind!r}")
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _summary(scores: list[SyncScore]) -> dict:
    d, c = np.array([s.lse_d for s in scores]), np.array([s.lse_c for s in scores])
    off = np.array([s.offset for s in scores])
    return dict(lse_d=float(d.mean()), lse_d_sd=float(d.std()), lse_c=float(c.mean()), lse_c_sd=float(c.std()),
                offset_exact=float((off == 0).mean()), offset_within1=float((np.abs(off) <= 1).mean()))


def evaluate_sync_expert(model: SyncExpert, utts: list[dict], shifts=range(-4, 5), clip_frames: int = 16,
                         lag_ref_ms: float = 80.0, seed: int = 0) -> dict:
    """Accuracy on real utterances (``load_split`` dicts with frames). Audio shifted by s frames
    (video frame t paired with audio frame t - s: the audio comes s frames late; expected offset s),
    on whole utterances and on ``clip_frames``-frame clips (every 8th start; ``same_windows=False``). ``lag_explained``: the
    detected offset equals s + round((lag - lag_ref) / 40 ms), what an expert that knows only the
    typical lag ``lag_ref_ms`` can reach; ``ceiling_exact``: how often that equals s (the data's cap).
    Conditions at s = 0 on whole utterances: true audio, another utterance of the same speaker
    ("shuffled"), and degraded synchronous video (see ``degrade``)."""
    model.eval()
    cfg, K, W = model.cfg, model.cfg.max_offset, model.cfg.window
    det = {"utterance": [], f"clip{clip_frames}": []}                    # (shift, detected, lag term)
    cond = {k: [] for k in ("true", "shuffled", "blur", "noise", "static")}
    emb = [(model.embed_video(u["frames"]), model.embed_audio(u["lms"])) for u in utts]
    for i, (u, (v, a)) in enumerate(zip(utts, emb)):
        n = min(len(v), len(a))
        N, w, lag = n + W - 1, clip_frames - W + 1, round((u["lag_ms"] - lag_ref_ms) / 40.0)
        for s in shifts:
            a0, m = max(0, s), n - abs(s)
            det["utterance"].append((s, sync_curve(v[a0:a0 + m], a[a0 - s:a0 - s + m], K, cfg.min_windows).offset, lag))
            for c in range(max(0, s), N - clip_frames - max(0, -s) + 1, 8):
                det[f"clip{clip_frames}"].append((s, sync_curve(v[c:c + w], a[c - s:c - s + w], K, cfg.min_windows,
                                                                    same_windows=False).offset, lag))
        cond["true"].append(sync_curve(v, a, K, cfg.min_windows))
        same = [j for j, o in enumerate(utts) if o["speaker"] == u["speaker"] and j != i]
        if same:
            j = next((j for j in same if j > i), same[0])                   # the next one, cyclically
            cond["shuffled"].append(sync_curve(v, emb[j][1], K, cfg.min_windows))
        for kind in ("blur", "noise", "static"):
            cond[kind].append(sync_curve(model.embed_video(degrade(u["frames"], kind, seed + i)), a, K, cfg.min_windows))
    out = {"n_utterances": len(utts), "shifts": list(shifts), "lag_ref_ms": lag_ref_ms,
           "distance": "euclidean on unit embeddings (0..2)", "max_offset": K}
    for name, rows in det.items():
        s, d, lag = (np.array(x) for x in zip(*rows))
        out[name] = dict(n=len(s), exact=float((d == s).mean()), within1=float((np.abs(d - s) <= 1).mean()),
                         exact_at_0=float((d[s == 0] == 0).mean()), lag_explained=float((d == s + lag).mean()),
                         ceiling_exact=float((lag == 0).mean()))
    out["conditions"] = {k: _summary(v) for k, v in cond.items() if v}
    t, sh, st = cond["true"], cond["shuffled"], cond["static"]
    if len(sh) == len(t):
        out["paired"] = dict(lse_d_true_below_shuffled=float(np.mean([x.lse_d < y.lse_d for x, y in zip(t, sh)])),
                             lse_c_true_above_shuffled=float(np.mean([x.lse_c > y.lse_c for x, y in zip(t, sh)])),
                             lse_c_true_above_static=float(np.mean([x.lse_c > y.lse_c for x, y in zip(t, st)])))
    return out


# ------------------------------------------------------------------------------- checkpoints
def save_sync_expert(model: SyncExpert, path, meta: dict | None = None) -> Path:
    """fp16 safetensors; metadata: format, config and every ``meta`` item as JSON."""
    md = {"format": FORMAT, "config": json.dumps(asdict(model.cfg))}
    md.update({k: json.dumps(v) for k, v in (meta or {}).items()})
    return save_weights(path, model.state_dict(), md)


def load_sync_expert(path) -> tuple[SyncExpert, dict]:
    """(model in eval mode, metadata with its JSON values decoded)."""
    md = read_weights_metadata(path)
    if md.get("format") != FORMAT:
        raise ValueError(f"{path} is not a sync-expert checkpoint (format {md.get('format')!r})")
    meta = {k: (v if k == "format" else json.loads(v)) for k, v in md.items()}
    cfg = SyncConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
    model = SyncExpert(cfg)
    model.load_state_dict(load_weights(path))
    return model.eval(), meta
