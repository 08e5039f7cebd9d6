"""Offline speech synthesis with phoneme timing: libespeak-ng through ctypes.

``synthesize(text, voice)`` returns a :class:`Speech`: float32 audio at 16 kHz (``AudioConfig``)
and every phoneme and word with its start/end in samples. The timings are espeak's own phoneme
events (``espeakINITIALIZE_PHONEME_EVENTS``), so they are exact for the synthesised audio -- the
ground truth that the mouth trajectory (``visemes.py``) is derived from.

Needs the Debian packages ``espeak-ng libespeak-ng1``. espeak keeps global state (voice, callback),
so every call is serialised by a module lock; use processes, not threads, for parallelism.
espeak keeps state between utterances (libc ``rand()`` noise, flutter phase): ``synthesize`` runs
each call in a forked child of the initialised library, after ``srand(0)``, so the audio depends
only on (text, voice), not on what was spoken before.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import threading
from dataclasses import dataclass, field

import numpy as np

from ..config import AudioConfig
from ..util.audio_io import resample

# ---------------------------------------------------------------------------------------------
# the C interface (speak_lib.h)

_EV_LIST_TERMINATED, _EV_WORD, _EV_END, _EV_PHONEME = 0, 1, 5, 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_POS_CHARACTER, _CHARS_UTF8, _PHONEMES = 1, 1, 0x100


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int),   # ms
                ("sample", ctypes.c_int),           # samples at the native rate (exact)
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))

_LOCK = threading.RLock()
_LIB = None
_NATIVE_SR = None
_LIBC = None
_KEEP = []          # keeps the active ctypes callback alive


class EspeakError(RuntimeError):
    """libespeak-ng is missing or failed."""


def _lib():
    """Load and initialise libespeak-ng once; returns (lib, native sample rate)."""
    global _LIB, _NATIVE_SR
    if _LIB is None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise EspeakError(f"libespeak-ng not found ({e}); install it with "
                              "`apt-get install espeak-ng libespeak-ng1`") from None
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                     ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                   _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if sr <= 0:
            raise EspeakError("espeak_Initialize failed (espeak-ng-data missing? "
                              "`apt-get install espeak-ng libespeak-ng1`)")
        _LIB, _NATIVE_SR = lib, sr
    return _LIB, _NATIVE_SR


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _LIBC.srand.argtypes = [ctypes.c_uint]
    return _LIBC


def warm_up() -> None:
    """Load and initialise libespeak-ng now (about 1 s), e.g. before forking workers."""
    with _LOCK:
        _lib()


# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Voice:
    """An espeak voice: ``name`` is e.g. "en-us", "en-us+f3", "en-gb-x-rp+m2", "en-029+klatt2".

    pitch and range are espeak's 0..100 (base pitch, intonation range), rate is words per minute.
    """
    name: str = "en-us"
    pitch: int = 50
    range: int = 50
    rate: int = 165


# English accents and voice variants available in a stock espeak-ng install
ACCENTS = ("en-us", "en-us", "en-us", "en-gb-x-rp", "en", "en-gb-scotland", "en-029",
           "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
VARIANTS = tuple(f"f{i}" for i in range(1, 6)) + tuple(f"m{i}" for i in range(1, 8)) + \
    tuple(f"klatt{i}" for i in (1, 2, 3, 4, 6))


def random_voice(rng: np.random.Generator) -> Voice:
    """Draw a plausible voice: accent, variant, pitch 30..75, range 30..80, rate 140..190 wpm."""
    accent = ACCENTS[rng.integers(len(ACCENTS))]
    variant = VARIANTS[rng.integers(len(VARIANTS))]
    return Voice(name=f"{accent}+{variant}", pitch=int(rng.integers(30, 76)),
                 range=int(rng.integers(30, 81)), rate=int(rng.integers(140, 191)))


@dataclass
class Speech:
    """Synthesised speech. Times are samples at ``sample_rate``; segments are [start, end)."""
    audio: np.ndarray                                   # (n,) float32
    sample_rate: int
    phonemes: list = field(default_factory=list)        # [(mnemonic, start, end)], pauses as "_"
    words: list = field(default_factory=list)           # [(word_index, start, end)] 0-based

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def _speak(text: str, voice: Voice) -> tuple[np.ndarray, list]:
    """Run espeak in this process: native int16 audio (n,) and events [(kind, payload, sample)]."""
    lib, sr = _lib()
    chunks, events = [], []

    def callback(wav, n, ev):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while ev[i].type != _EV_LIST_TERMINATED:
            e = ev[i]
            if e.type == _EV_PHONEME:
                events.append(("ph", e.id.string.decode("utf-8", "replace"), e.sample))
            elif e.type == _EV_WORD:
                events.append(("word", e.id.number, e.sample))
            i += 1
        return 0

    cfun = _CALLBACK(callback)
    _KEEP[:] = [cfun]
    lib.espeak_SetSynthCallback(cfun)
    if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
        raise ValueError(f"unknown espeak voice {voice.name!r} (see `espeak-ng --voices=en`)")
    for p, v in ((_RATE, voice.rate), (_PITCH, voice.pitch), (_RANGE, voice.range), (_VOLUME, 100)):
        lib.espeak_SetParameter(p, int(v), 0)
    _libc().srand(0)                     # espeak draws noise from libc rand()
    buf = ctypes.create_string_buffer(text.encode("utf-8"))
    if lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _PHONEMES, None, None) != 0:
        raise EspeakError(f"espeak_Synth failed for {text!r}")
    lib.espeak_Synchronize()
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)), events


def _speak_in_child(text: str, voice: Voice):
    """``_speak`` in a forked child of this (freshly initialised) process, so every call starts
    from the same synthesiser state: the result depends only on (text, voice)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                                   # child
        try:
            os.close(r)
            try:
                data = pickle.dumps(("ok", _speak(text, voice)))
            except BaseException as e:                             # noqa: BLE001
                data = pickle.dumps(("err", e))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        raise EspeakError("espeak child process died")
    status, value = pickle.loads(data)
    if status == "err":
        raise value
    return value


def synthesize(text: str, voice: Voice = Voice(), cfg: AudioConfig = AudioConfig(),
               isolated: bool = True) -> Speech:
    """Speak ``text`` with ``voice``; returns audio at ``cfg.sample_rate`` with phoneme/word timing.

    Text may contain espeak phoneme input ``[[...]]``. A phoneme ends where the next one starts
    (the last at the end of the audio); pause phonemes ("_", "_:", ...) are kept as "_". A word
    spans from its first to its last phoneme.

    espeak carries state from one utterance to the next (e.g. its pitch-flutter phase), so the same
    text can come out a few samples different. With ``isolated`` (default) the synthesis runs in a
    forked child of the initialised library (~10 ms extra): bit-identical results for the same
    (text, voice), whatever was spoken before.
    """
    with _LOCK:
        lib, sr = _lib()
        native, events = _speak_in_child(text, voice) if isolated else _speak(text, voice)
    native = native.astype(np.float32) / 32768.0
    y = resample(native, sr, cfg.sample_rate)                      # (n,) float32 @ 16 kHz
    to16 = lambda s: int(round(s * cfg.sample_rate / sr))

    # phoneme segments, each tagged with the word it belongs to (-1 for pauses)
    raw, word = [], -1
    for kind, payload, s in events:
        if kind == "word":
            word = payload - 1
        else:
            pause = payload.startswith("_")
            raw.append(("_" if pause else payload, to16(s), -1 if pause else word))
    phonemes, word_ph = [], {}
    for k, (ph, start, w) in enumerate(raw):
        end = raw[k + 1][1] if k + 1 < len(raw) else len(y)
        if end <= start:
            continue                                  # zero-length (e.g. a trailing pause)
        phonemes.append((ph, start, end))
        if w >= 0:
            word_ph.setdefault(w, []).append((start, end))
    words = [(w, segs[0][0], segs[-1][1]) for w, segs in sorted(word_ph.items())]
    return Speech(audio=y, sample_rate=cfg.sample_rate, phonemes=phonemes, words=words)
