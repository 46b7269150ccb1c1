"""The anti-fraud guard: telecom-fraud risk of each utterance and of the conversation so far.

A linear head over the intent model's own features (its sentence vector and hashed
n-grams, so nothing is encoded twice) scores the scam patterns of public anti-fraud
guidance; the session accumulates the evidence of its turns. Trained by ``python -m
dialog.fraud.train`` on the project's bilingual data (``dialog/data/fraud``).
"""
