"""Surprise under the seeds' protocol, on rxrec's own 80/20 split.

    bench/reference/.venv/bin/python bench/reference/seeds.py EXPORT_DIR [--algorithms SVD,SVDpp]

Each algorithm is fitted on seeds.train.tsv and predicts every rating of seeds.test.tsv; a user
or item unseen in training gets Surprise's own fallback (the global mean plus what biases are
known), every prediction is clipped to the scale, as `rxrec eval --protocol seeds` does.

Settings: Surprise's defaults (those of its published MovieLens benchmark table), with fixed
seeds; KNNBaseline item-based on shrunk Pearson-baseline similarity, the setting its
documentation recommends and Koren (2008) used (Surprise's default is user-based MSD).

Prints one JSON object: {"protocol": "seeds", "models": {name: {rmse, mae, seconds,
eventsPerSecond, settings}}}; seconds are fit plus prediction, eventsPerSecond training ratings
per second of them.

Reference: N. Hug, "Surprise: A Python library for recommender systems", JOSS 5(52), 2020.
"""

from __future__ import annotations

import argparse
import time

from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader, SVDpp

from exported import emit, open_export, progress, rating_errors

ALGORITHMS = {
    "BaselineOnly": (BaselineOnly, {"bsl_options": {"method": "als", "n_epochs": 10, "reg_u": 15, "reg_i": 10}, "verbose": False}),
    "SVD": (SVD, {"n_factors": 100, "n_epochs": 20, "lr_all": 0.005, "reg_all": 0.02, "random_state": 42}),
    "SVDpp": (SVDpp, {"n_factors": 20, "n_epochs": 20, "lr_all": 0.007, "reg_all": 0.02, "random_state": 42, "cache_ratings": True}),
    "KNNBaseline": (
        KNNBaseline,
        {
            "k": 40,
            "min_k": 1,
            "sim_options": {"name": "pearson_baseline", "user_based": False, "shrinkage": 100},
            "bsl_options": {"method": "als", "n_epochs": 10, "reg_u": 15, "reg_i": 10},
            "verbose": False,
        },
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export_dir")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS), help=f"comma-separated, of {', '.join(ALGORITHMS)}")
    args = parser.parse_args()
    chosen = [name for name in args.algorithms.split(",") if name]
    unknown = [name for name in chosen if name not in ALGORITHMS]
    if unknown:
        parser.error(f"unknown algorithm {', '.join(unknown)}: choose from {', '.join(ALGORITHMS)}")

    export = open_export(args.export_dir)
    train, test = export.split("seeds")
    low, high = export.scale
    reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(low, high))
    trainset = Dataset.load_from_file(str(export.dir / export.manifest["protocols"]["seeds"]["trainFile"]), reader).build_full_trainset()
    actual = [r.rating for r in test]

    models = {}
    for name in chosen:
        algorithm, settings = ALGORITHMS[name]
        progress(f"seeds: Surprise {name} on {len(train)} ratings, testing {len(test)}")
        started = time.perf_counter()
        model = algorithm(**settings).fit(trainset)
        # clip=False: rxrec's rule clips to the export's scale below (Surprise would clip to the same).
        predicted = [model.predict(r.user, r.item, clip=False).est for r in test]
        seconds = time.perf_counter() - started
        models[name] = {
            **rating_errors(predicted, actual, export.scale),
            "seconds": seconds,
            "eventsPerSecond": len(train) / seconds,
            "settings": {k: v for k, v in settings.items() if k != "verbose"},
        }
    emit({"protocol": "seeds", "train": len(train), "test": len(test), "models": models})


if __name__ == "__main__":
    main()
