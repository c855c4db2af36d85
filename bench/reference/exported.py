"""The files `rxrec eval --export DIR` writes, read back, and the figures both sides compute alike.

Each TSV line is `user \\t item \\t rating \\t ts` (ts in epoch ms), no header; manifest.json says
which file is which, the scale and the counts. Training files are in the order rxrec trains,
test files in file order, stream.tsv in the replay's order.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

EXPORT_VERSION = 1


@dataclass(frozen=True)
class Rating:
    user: str
    item: str
    rating: float
    ts: float


@dataclass(frozen=True)
class Export:
    dir: Path
    manifest: dict

    @property
    def scale(self) -> tuple[float, float]:
        return self.manifest["scale"]["min"], self.manifest["scale"]["max"]

    def split(self, protocol: str) -> tuple[list[Rating], list[Rating]]:
        entry = self.manifest["protocols"][protocol]
        return self._read(entry["trainFile"], entry["train"]), self._read(entry["testFile"], entry["test"])

    def stream(self) -> list[Rating]:
        return self._read(self.manifest["stream"]["file"], self.manifest["stream"]["events"])

    def _read(self, name: str, expected: int) -> list[Rating]:
        ratings = []
        with open(self.dir / name, encoding="utf-8") as lines:
            for line in lines:
                user, item, rating, ts = line.rstrip("\n").split("\t")
                ratings.append(Rating(user, item, float(rating), float(ts)))
        if len(ratings) != expected:
            raise SystemExit(f"{self.dir / name}: {len(ratings)} lines, the manifest says {expected}: export again")
        return ratings


def open_export(directory: str) -> Export:
    path = Path(directory)
    manifest_file = path / "manifest.json"
    if not manifest_file.exists():
        raise SystemExit(f"{manifest_file} is missing: write it with `rxrec eval --export {directory}`")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if manifest.get("version") != EXPORT_VERSION:
        raise SystemExit(f"{manifest_file}: export version {manifest.get('version')}, these scripts read {EXPORT_VERSION}: export again")
    return Export(path, manifest)


def clip(value: float, scale: tuple[float, float]) -> float:
    return min(max(value, scale[0]), scale[1])


def rating_errors(predicted: list[float], actual: list[float], scale: tuple[float, float]) -> dict:
    """RMSE and MAE with each prediction clipped to the scale first (rxrec's ratingErrors)."""
    squared = absolute = 0.0
    for p, a in zip(predicted, actual, strict=True):
        error = clip(p, scale) - a
        squared += error * error
        absolute += abs(error)
    n = len(actual)
    return {"rmse": math.sqrt(squared / n) if n else math.nan, "mae": absolute / n if n else math.nan}


def emit(summary: dict) -> None:
    """The script's one JSON line, last on standard output (NaN as null)."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    sys.stdout.write(json.dumps(clean(summary)) + "\n")


def progress(text: str) -> None:
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()
