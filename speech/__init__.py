"""Speech: VAD, ASR (faster-whisper, vosk) and TTS (piper, espeak-ng) (issue 5; not built yet)."""
