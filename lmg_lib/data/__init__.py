"""Data: talking videos (the embedded corpus, real GRID or LRW) -> checksummed shards -> the clip
dataset the model trains on. Section 4 of the paper ("Experiments: datasets").

    audio.py       the audio front end: speech -> log-mel spectrogram, 4 steps per video frame
    readers.py     the on-disk layouts of GRID (real or embedded) and LRW -> utterance records
    landmarks.py   mouth-landmark backends for preprocessing (ground truth, dlib, face-alignment)
    crop.py        the lip-crop geometry (also used by ``lmg generate`` on face photos)
    preprocess.py  utterances -> lip crops, LMS and landmarks (``lmg preprocess``)
    shards.py      the dataset on disk: shard and manifest format, checksums (writer and reader)
    dataset.py     LipClipDataset (clips, reference frames, mismatched clips), batches, synthetic data
"""
from .dataset import LipClipDataset, SyntheticClipDataset, collate_clips, evenly_spaced, load_dataset

__all__ = ["LipClipDataset", "SyntheticClipDataset", "collate_clips", "evenly_spaced", "load_dataset"]
