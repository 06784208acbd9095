"""`make bench-documents`: what document support costs plain text, and what extraction
runs at.

1. The 37 MB corpus file (../shared/corpus x8) counted by `wordfreq count` (`--format
   auto`, the default: its first 1024 bytes sniffed), with `--format text` (no sniffing:
   the plain-text path as it was) and, with `--before WORDFREQ`, by another build's
   `wordfreq` (main's, before this feature); the commands take turns, medians.
2. Start-up: `wordfreq count` on an empty file against `python -c pass` (target: under
   35 ms), bytecode compiled.
3. Extraction: the corpus's first book as HTML, DOCX and PDF (made here with the dev
   extra's writers: python-docx, fpdf2), `wordfreq count` on each, against the same text
   counted as text; MB of file per second.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
from pathlib import Path

from bench_count import interleaved
from common import DATA, ROOT, build_input, corpus_files, record

START_UP_TARGET_MS = 35.0


def paragraphs(limit_bytes: int) -> list[str]:
    """The first book's paragraphs (blank-line separated), up to ``limit_bytes``."""
    text = corpus_files()[0].read_text("utf-8", "replace")
    out: list[str] = []
    size = 0
    for block in text.split("\n\n"):
        block = " ".join(block.split())
        if not block:
            continue
        out.append(block)
        size += len(block)
        if size >= limit_bytes:
            break
    return out


def make_documents(paras: list[str]) -> dict[str, Path]:
    import html as htmlmod

    from docx import Document
    from fpdf import FPDF

    DATA.mkdir(parents=True, exist_ok=True)
    made = {"text": DATA / "book.txt", "html": DATA / "book.html", "docx": DATA / "book.docx"}
    made["text"].write_text("\n\n".join(paras), "utf-8")
    body = "".join(f"<p>{htmlmod.escape(p)}</p>\n" for p in paras)
    made["html"].write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", "utf-8")
    document = Document()
    for p in paras:
        document.add_paragraph(p)
    document.save(str(made["docx"]))
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    for p in paras[: max(1, len(paras) // 4)]:  # fpdf2 lays out slowly: a quarter
        text = p.encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, 5, text=text, new_x="LMARGIN", new_y="NEXT")
    made["pdf"] = DATA / "book.pdf"
    pdf.output(str(made["pdf"]))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--start-up-runs", type=int, default=31)
    parser.add_argument("--before", help="another build's wordfreq, for a before/after row")
    args = parser.parse_args()

    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    data = build_input("corpus-x8.txt", 8)
    mb = data.stat().st_size / 1e6
    load = os.getloadavg()[0]
    # Any option sends a count through click (tens of ms of imports): the sniffed and
    # unsniffed rows compare like with like, each against the build before when given.
    cases: dict[str, tuple[list[str], Path | None]] = {
        "`wordfreq count FILE` (sniffed)": ([wordfreq, "count", str(data)], None),
        "`wordfreq count --format auto FILE` (sniffed, click)": (
            [wordfreq, "count", "--format", "auto", str(data)],
            None,
        ),
        "`wordfreq count --format text FILE` (not sniffed, click)": (
            [wordfreq, "count", "--format", "text", str(data)],
            None,
        ),
        "`wordfreq count - < FILE` (sniffed, streamed)": ([wordfreq, "count", "-"], data),
    }
    if args.before:
        cases["before: `wordfreq count FILE`"] = ([args.before, "count", str(data)], None)
        cases["before: `wordfreq count --top 10 FILE` (click)"] = (
            [args.before, "count", "--top", "10", str(data)],
            None,
        )
        cases["before: `wordfreq count - < FILE` (streamed)"] = ([args.before, "count", "-"], data)
    rows = interleaved(cases, args.runs)
    lines = [
        f"Input: corpus x8, {mb:.1f} MB; whole-process wall time, median of {args.runs} runs "
        f"(the commands take turns); load average {load:.1f} when it started.",
        "",
        "| command | seconds | MB/s |",
        "| --- | --- | --- |",
    ]
    for name, secs in rows.items():
        lines.append(f"| {name} | {secs:.3f} | {mb / secs:.0f} |")
        print(f"{name:56s} {secs:7.3f} s {mb / secs:6.0f} MB/s")

    compileall.compile_dir(ROOT / "python" / "wordfreq_service", quiet=1)
    empty = DATA / "empty.txt"
    empty.write_bytes(b"")
    start = interleaved(
        {
            "`wordfreq count` on an empty file": ([wordfreq, "count", str(empty)], None),
            "`python -c pass`": ([sys.executable, "-c", "pass"], None),
        },
        args.start_up_runs,
    )
    count_ms = start["`wordfreq count` on an empty file"] * 1000
    verdict = "met" if count_ms < START_UP_TARGET_MS else "NOT met"
    lines += [
        "",
        f"Start-up, median of {args.start_up_runs} runs: `wordfreq count` on an empty file "
        f"{count_ms:.1f} ms, `python -c pass` {start['`python -c pass`'] * 1000:.1f} ms "
        f"(target < {START_UP_TARGET_MS:.0f} ms: {verdict}).",
    ]
    print(lines[-1])

    made = make_documents(paragraphs(2_000_000))
    docs: dict[str, tuple[list[str], Path | None]] = {}
    for fmt, path in made.items():
        forced = ["--format", "text"] if fmt == "text" else []
        docs[fmt] = ([wordfreq, "count", *forced, str(path)], None)
    timed = interleaved(docs, max(3, args.runs // 3))
    text_mb = made["text"].stat().st_size / 1e6
    lines += [
        "",
        f"Extraction: the first corpus book's paragraphs ({text_mb:.1f} MB of text; the PDF "
        "holds a quarter of them) as each format, `wordfreq count FILE`, median of "
        f"{max(3, args.runs // 3)} runs:",
        "",
        "| format | file size | seconds | MB of file/s |",
        "| --- | --- | --- | --- |",
    ]
    for fmt, secs in timed.items():
        size = made[fmt].stat().st_size / 1e6
        lines.append(f"| {fmt} | {size:.2f} MB | {secs:.3f} | {size / secs:.1f} |")
        print(f"{fmt:6s} {size:6.2f} MB {secs:7.3f} s")
    record("documents: plain text before/after sniffing, and extraction", lines)


if __name__ == "__main__":
    main()
