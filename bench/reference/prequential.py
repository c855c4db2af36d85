"""River's reco.Baseline and reco.BiasedMF prequentially, on rxrec's own replay order.

    bench/reference/.venv/bin/python bench/reference/prequential.py EXPORT_DIR

Test, then train, over stream.tsv in order (rxrec's replay order): each event is first predicted
(clipped to the scale, as rxrec's models clip) for RMSE and MAE, then learned with learn_one.

hit@10 and NDCG@10 the way rxrec's prequential evaluator computes them (src/recommender.ts):
on the events of the sampled share (rxrec's eventShare hash of the user's and item's indices,
both numbered in order of first sight, below the manifest's rankingShare) rated at least the
relevance threshold (the scale's top minus 1), before the event is learned, the model's list
for the user over every item learned so far, less the items the user has rated, is checked
for the event's item: a hit when it ranks in the top 10 (ties to the item seen first). River
has no list API, so a list is its predicted rating over those items (μ + b_u + b_i, plus
⟨v_u, v_i⟩ for BiasedMF), read from the model's own parameters.

Settings: those of River's MovieLens-100K matrix-factorisation tutorial (plain SGD, no L2):
Baseline SGD(0.025); BiasedMF 10 factors, biases SGD(0.025), latents SGD(0.05), N(0, 0.1²) with
seed 73.

Prints one JSON object: {"protocol": "prequential", "models": {name: {rmse, mae, hitAt10,
ndcgAt10, rankedEvents, seconds, eventsPerSecond, settings}}}; seconds cover the whole
test-then-train loop, lists included.

Reference: J. Montiel et al., "River: machine learning for streaming data in Python", JMLR
22(110), 2021.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from river import optim, reco

from exported import clip, emit, open_export, progress

LIST_LENGTH = 10
MASK = 0xFFFFFFFF


def event_share(user: int, item: int) -> float:
    """rxrec's eventShare (src/models/event-share.ts) in unsigned 32-bit arithmetic."""

    def imul(a: int, b: int) -> int:
        return (a * b) & MASK

    h = imul(user ^ 0x5BD1E995, 0x9E3779B1) ^ imul((item + 0x27D4EB2F) & MASK, 0x85EBCA77)
    h = imul(h ^ (h >> 15), 0x2C1B3C6D)
    h = imul(h ^ (h >> 12), 0x297A2D39)
    return (h ^ (h >> 15)) / 4294967296


def baseline() -> reco.Baseline:
    return reco.Baseline(optimizer=optim.SGD(0.025), l2=0.0, initializer=optim.initializers.Zeros())


def biased_mf() -> reco.BiasedMF:
    return reco.BiasedMF(
        n_factors=10,
        bias_optimizer=optim.SGD(0.025),
        latent_optimizer=optim.SGD(0.05),
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=73),
        l2_bias=0.0,
        l2_latent=0.0,
    )


MODELS = {
    "River Baseline": (baseline, {"optimizer": "SGD(0.025)", "l2": 0.0}),
    "River BiasedMF": (
        biased_mf,
        {"n_factors": 10, "bias_optimizer": "SGD(0.025)", "latent_optimizer": "SGD(0.05)", "latent_init": "N(0, 0.1^2) seed 73", "l2": 0.0},
    ),
}


class ItemTable:
    """The model's item parameters as arrays by item index, mirrored after each learn_one, so
    that a list over all items is one vector product instead of a dictionary walk."""

    def __init__(self, model, factors: int):
        self.model = model
        self.biases = np.zeros(1024)
        self.latents = np.zeros((1024, factors)) if factors else None

    def update(self, item_index: int, item: str) -> None:
        if item_index >= len(self.biases):
            self.biases = np.concatenate([self.biases, np.zeros(len(self.biases))])
            if self.latents is not None:
                self.latents = np.concatenate([self.latents, np.zeros_like(self.latents)])
        self.biases[item_index] = self.model.i_biases[item]
        if self.latents is not None:
            self.latents[item_index] = self.model.i_latents[item]

    def scores(self, user: str, learned: int) -> np.ndarray:
        """Scores of items 0..learned-1 for `user`, up to the constant μ + b_u."""
        scores = self.biases[:learned].copy()
        if self.latents is not None:
            user_latent = self.model.u_latents.get(user)
            if user_latent is not None:
                scores += self.latents[:learned] @ user_latent
        return scores


def rank_of(scores: np.ndarray, item: int) -> int:
    """1-based rank of `item` among `scores` (excluded items at -inf), ties to the lower index; 0 when excluded."""
    target = scores[item]
    if target == -np.inf:
        return 0
    return 1 + int(np.count_nonzero(scores > target)) + int(np.count_nonzero(scores[:item] == target))


def run(name: str, make, stream, export) -> dict:
    scale = export.scale
    threshold = export.manifest["prequential"]["relevanceThreshold"]
    share = export.manifest["prequential"]["rankingShare"]
    model = make()
    factors = getattr(model, "n_factors", 0)
    table = ItemTable(model, factors)
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    seen: dict[str, list[int]] = {}
    learned = 0
    squared = absolute = 0.0
    relevant = hits = 0
    ndcg = 0.0
    started = time.perf_counter()
    for event in stream:
        u = user_index.setdefault(event.user, len(user_index))
        i = item_index.setdefault(event.item, len(item_index))
        error = clip(model.predict_one(event.user, event.item), scale) - event.rating
        squared += error * error
        absolute += abs(error)
        if event.rating >= threshold and event_share(u, i) < share:
            relevant += 1
            if i < learned:
                scores = table.scores(event.user, learned)
                scores[seen.get(event.user, [])] = -np.inf
                rank = rank_of(scores, i)
                if 0 < rank <= LIST_LENGTH:
                    hits += 1
                    ndcg += 1 / math.log2(rank + 1)
        model.learn_one(event.user, event.item, event.rating)
        table.update(i, event.item)
        seen.setdefault(event.user, []).append(i)
        learned = max(learned, i + 1)
    seconds = time.perf_counter() - started
    n = len(stream)
    return {
        "rmse": math.sqrt(squared / n),
        "mae": absolute / n,
        "hitAt10": hits / relevant if relevant else math.nan,
        "ndcgAt10": ndcg / relevant if relevant else math.nan,
        "rankedEvents": relevant,
        "seconds": seconds,
        "eventsPerSecond": n / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export_dir")
    args = parser.parse_args()
    export = open_export(args.export_dir)
    stream = export.stream()
    models = {}
    for name, (make, settings) in MODELS.items():
        progress(f"prequential: {name} over {len(stream)} events")
        models[name] = {**run(name, make, stream, export), "settings": settings}
    emit({"protocol": "prequential", "events": len(stream), "models": models})


if __name__ == "__main__":
    main()
