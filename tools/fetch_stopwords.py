"""Vendor stopwords-iso's lists into the package (run once per upgrade, by hand).

    .venv/bin/python -m tools.fetch_stopwords

Downloads the ``stopwordsiso`` wheel (the stopwords-iso project's JSON, on PyPI) with
pip, and writes one file per language to ``counting/stopwords_data/<code>.txt``: each
entry normalised as ``words`` mode normalises a word, without duplicates, sorted. Entries
that no word can equal (empty, or holding white space: words never do) are left out, so
an n-gram key never matches a list. English is not written: ``en`` stays wordfreq's own
list (``counting/stopwords.py``). The package never imports ``stopwordsiso``; the wheel is
read as a zip.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from wordfreq_service._core import normalize_word
from wordfreq_service.counting import stopwords

PACKAGE = "stopwordsiso"
VERSION = "0.7.1"
JSON_MEMBER = "stopwordsiso/stopwords-iso.json"


def download() -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--only-binary=:all:", "--dest", tmp, f"{PACKAGE}=={VERSION}"),
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            lists: dict[str, list[str]] = json.loads(archive.read(JSON_MEMBER))
    return lists


def normalised(entries: list[str]) -> list[str]:
    words = {normalize_word(e.strip()) for e in entries}
    return sorted(w for w in words if w and not any(c.isspace() for c in w))


def main() -> None:
    data = Path(stopwords.DATA_DIR)
    data.mkdir(exist_ok=True)
    for code, entries in sorted(download().items()):
        if code in stopwords.OWN_LISTS:
            continue
        text = "".join(f"{w}\n" for w in normalised(entries))
        (data / f"{code}.txt").write_text(text, encoding="utf-8")
    print(f"wrote {data}", file=sys.stderr)


if __name__ == "__main__":
    main()
