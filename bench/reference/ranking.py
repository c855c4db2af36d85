"""cornac's BPR (and its most-popular list, as a check of the protocol) under the ranking
protocol, on rxrec's own 75/25 split.

    bench/reference/.venv/bin/python bench/reference/ranking.py EXPORT_DIR

Every training rating is a positive (implicit feedback). For every user with test ratings, the
model's top 10 is taken over all items of the training part that the user has not rated in
training, and every test item of the user is relevant; an item unseen in training is a miss.
Precision divides by 10, NDCG's ideal ranks all of the user's test items first; the figures are
means over those users. This is `rxrec eval --protocol ranking` (src/eval/offline-metrics.ts).

Settings: BPR as in the published cornac MovieLens-100K benchmark (k 200, 100 epochs, learning
rate 0.01, λ 0.001), seed 42.

Prints one JSON object: {"protocol": "ranking", "models": {name: {precisionAt10, recallAt10,
ndcgAt10, seconds, eventsPerSecond, settings}}}; seconds are fit plus ranking.

References: S. Rendle et al., "BPR: Bayesian personalized ranking from implicit feedback", UAI
2009; A. Salah, Q.-T. Truong, H. W. Lauw, "Cornac: a comparative framework for multimodal
recommender systems", JMLR 21, 2020.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict

import numpy as np
from cornac.data import Dataset
from cornac.models import BPR, MostPop

from exported import emit, open_export, progress

LIST_LENGTH = 10

MODELS = {
    "BPR": (BPR, {"k": 200, "max_iter": 100, "learning_rate": 0.01, "lambda_reg": 0.001, "seed": 42}),
    "MostPop": (MostPop, {}),
}


def list_figures(ranked: list[str], relevant: set[str], k: int) -> tuple[float, float, float]:
    hits = 0
    dcg = 0.0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            dcg += 1 / math.log2(rank + 1)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return hits / k, hits / len(relevant), dcg / ideal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export_dir")
    args = parser.parse_args()
    export = open_export(args.export_dir)
    train, test = export.split("ranking")
    train_set = Dataset.build([(r.user, r.item, r.rating) for r in train], fmt="UIR", seed=42)
    item_ids = [""] * train_set.num_items
    for item, index in train_set.iid_map.items():
        item_ids[index] = item
    relevant_by_user: dict[str, set[str]] = defaultdict(set)
    for r in test:
        relevant_by_user[r.user].add(r.item)
    rated_in_training: dict[int, list[int]] = defaultdict(list)
    for r in train:
        rated_in_training[train_set.uid_map[r.user]].append(train_set.iid_map[r.item])

    models = {}
    for name, (model_class, settings) in MODELS.items():
        progress(f"ranking: cornac {name} on {len(train)} ratings, lists for {len(relevant_by_user)} users")
        started = time.perf_counter()
        model = model_class(**settings).fit(train_set)
        sums = np.zeros(3)
        for user, relevant in relevant_by_user.items():
            # Every test user has training ratings (the split keeps at least one), so is known.
            user_index = train_set.uid_map[user]
            scores = np.asarray(model.score(user_index), dtype=np.float64).copy()
            scores[rated_in_training[user_index]] = -np.inf
            best = np.argsort(-scores, kind="stable")[:LIST_LENGTH]
            ranked = [item_ids[i] for i in best if np.isfinite(scores[i])]
            sums += list_figures(ranked, relevant, LIST_LENGTH)
        seconds = time.perf_counter() - started
        precision, recall, ndcg = sums / len(relevant_by_user)
        models[name] = {
            "precisionAt10": precision,
            "recallAt10": recall,
            "ndcgAt10": ndcg,
            "seconds": seconds,
            "eventsPerSecond": len(train) / seconds,
            "settings": settings,
        }
    emit({"protocol": "ranking", "train": len(train), "test": len(test), "users": len(relevant_by_user), "models": models})


if __name__ == "__main__":
    main()
