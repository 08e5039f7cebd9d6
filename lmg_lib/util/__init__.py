"""Small helpers at the bottom of the package, beside ``config.py``: they import nothing of
``lmg_lib`` but the configuration, so every room above may share them without importing another.

    files.py        atomic file writes (a file exists under its name only once it is complete)
    audio_io.py     read speech: any audio file or array -> mono float32 at 16 kHz
    video_io.py     read and write videos (H.264 mp4 with the speech as AAC)
    pixels.py       the pixel scale: [-1, 1] floats <-> uint8
    paths.py        the repository (shipped checkpoints, figures) and the notebooks' artefact folder
    grid_layout.py  the GRID .align word-alignment format (corpus writer, data readers)
"""
