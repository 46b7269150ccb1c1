"""Dialog brain: slots (done), intent model and dialog manager (issue 3, in progress).

``dialog.slots`` extracts amounts, currencies, ticket numbers, account types and personal
numbers (redacted) from an utterance.
"""
