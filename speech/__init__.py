"""Speech: audio in and out, VAD, ASR (faster-whisper, vosk), TTS (piper, espeak-ng), barge-in.

Transport-free cores (:mod:`speech.listener`, :mod:`speech.speaker`) and the ``listen`` and
``speak`` nodes over them (:mod:`speech.node`); see docs/speech.md.
"""
