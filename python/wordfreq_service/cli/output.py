"""How results are printed: the seed uploader's text, JSON, CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence


def top_words_text(words: Sequence[tuple[str, int]]) -> str:
    """The seed uploader's format: a header, then ``- word<TAB><TAB>count`` lines."""
    lines = ["Top Words:"]
    lines.extend(f"- {word}\t\t{count}" for word, count in words)
    return "\n".join(lines) + "\n"


def words_json(words: Sequence[tuple[str, int]]) -> list[dict[str, object]]:
    return [{"word": w, "count": c} for w, c in words]


def count_json(total: int, unique: int, words: Sequence[tuple[str, int]]) -> str:
    payload = {"total": total, "unique": unique, "words": words_json(words)}
    return json.dumps(payload, ensure_ascii=False) + "\n"


def words_csv(words: Sequence[tuple[str, int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("word", "count"))
    writer.writerows(words)
    return out.getvalue()
