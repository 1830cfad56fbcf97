#!/usr/bin/env python3
"""Checks relbert's MLP classifier against scikit-learn's MLPClassifier on the same features.

    relbert eval classify --dataset EVALution --export-features F --json > relbert.jsonl
    python scripts/compare_mlp_sklearn.py --features F --relbert relbert.jsonl [--tolerance 1.5]

For every dataset in relbert.jsonl: scikit-learn runs the same grid (hidden 100/150/200 x learning
rate 1e-3/1e-4/1e-5, alpha 1e-4, its defaults otherwise; CogALexV: 100, 1e-3), picks by validation
macro-F1, and scores the test split. The check passes when the test macro-F1 of the two differ by at
most --tolerance points on every dataset. Needs numpy and scikit-learn.
"""
import argparse
import json
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.neural_network import MLPClassifier


def load(folder, name, split):
    try:
        return np.load(f"{folder}/{name}.{split}.x.npy"), np.load(f"{folder}/{name}.{split}.y.npy")
    except FileNotFoundError:
        return None, None


def fit(x, y, hidden, rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=rate, alpha=1e-4, random_state=0).fit(x, y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", required=True)
    parser.add_argument("--relbert", required=True, help="relbert eval classify --json output")
    parser.add_argument("--tolerance", type=float, default=1.5)
    args = parser.parse_args()
    ok = True
    for line in open(args.relbert):
        ours = json.loads(line)
        name = ours["dataset"]
        xtr, ytr = load(args.features, name, "train")
        xva, yva = load(args.features, name, "validation")
        xte, yte = load(args.features, name, "test")
        if xva is None:
            best = fit(xtr, ytr, 100, 1e-3)
            chosen = (100, 1e-3, None)
        else:
            best, chosen = None, None
            for hidden in (100, 150, 200):
                for rate in (1e-3, 1e-4, 1e-5):
                    model = fit(xtr, ytr, hidden, rate)
                    f1 = f1_score(yva, model.predict(xva), average="macro")
                    if chosen is None or f1 > chosen[2]:
                        best, chosen = model, (hidden, rate, f1)
        theirs = 100 * f1_score(yte, best.predict(xte), average="macro")
        mine = 100 * ours["macro_f1"]
        passed = abs(theirs - mine) <= args.tolerance
        ok = ok and passed
        print(f"{name}: relbert macro-F1 {mine:.1f} (hidden {ours['hidden']}, lr {ours['learning_rate']:g}), "
              f"scikit-learn {theirs:.1f} (hidden {chosen[0]}, lr {chosen[1]:g}, {best.n_iter_} epochs): "
              f"difference {mine - theirs:+.1f} {'ok' if passed else 'OVER ' + str(args.tolerance)}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
