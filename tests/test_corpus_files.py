"""Which files a corpus holds (`--aggregate`'s walk): order, hidden entries, links,
`--glob`, duplicates, and what cannot be read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wordfreq_service.counting.corpus import NoFiles, find_corpus


def touch(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name in ["b.txt", "a.md", "Z.txt", "sub/c.txt", "sub/deeper/d.txt", "a0/e.txt"]:
        touch(root / name)
    touch(root / ".hidden.txt")
    touch(root / ".git" / "config.txt")
    return root


def relative(paths: list[str], root: Path) -> list[str]:
    return [os.path.relpath(p, root) for p in paths]


def test_a_directory_is_walked_recursively_in_sorted_order_without_hidden_entries(
    tree: Path,
) -> None:
    corpus = find_corpus([str(tree)])
    # Code point order at each level, files and directories interleaved by name.
    assert relative(corpus.files, tree) == [
        "Z.txt",
        "a.md",
        "a0/e.txt",
        "b.txt",
        "sub/c.txt",
        "sub/deeper/d.txt",
    ]
    assert all(error is None for _, error in corpus.entries)


def test_glob_matches_names_found_in_walks_but_never_drops_a_named_file(tree: Path) -> None:
    corpus = find_corpus([str(tree / "a.md"), str(tree)], ["*.txt"])
    assert relative(corpus.files, tree) == [
        "a.md",  # named: counted whatever --glob says
        "Z.txt",
        "a0/e.txt",
        "b.txt",
        "sub/c.txt",
        "sub/deeper/d.txt",
    ]
    several = find_corpus([str(tree)], ["*.md", "c.*"])
    assert relative(several.files, tree) == ["a.md", "sub/c.txt"]
    # The name, not the path: a pattern with a directory in it matches nothing.
    with pytest.raises(NoFiles, match=r"no files matching 'sub/\*' found"):
        find_corpus([str(tree)], ["sub/*"])


def test_a_named_hidden_file_is_counted_and_a_file_reached_twice_once(tree: Path) -> None:
    hidden = str(tree / ".hidden.txt")
    corpus = find_corpus([hidden, str(tree / "sub"), str(tree / "sub" / "c.txt"), hidden])
    assert relative(corpus.files, tree) == [".hidden.txt", "sub/c.txt", "sub/deeper/d.txt"]


def test_links_to_files_are_followed_links_to_directories_are_not(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside / "o.txt")
    root = tmp_path / "root"
    touch(root / "real.txt")
    (root / "to-file.txt").symlink_to(outside / "o.txt")
    (root / "to-dir").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling.txt").symlink_to(tmp_path / "missing")
    corpus = find_corpus([str(root)])
    assert relative(corpus.files, root) == ["real.txt", "to-file.txt"]
    # Named as an argument, a link to a directory is walked.
    assert relative(find_corpus([str(root / "to-dir")]).files, root) == ["to-dir/o.txt"]


def test_special_files_in_a_walk_are_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "text.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block for ever
    assert relative(find_corpus([str(tmp_path)]).files, tmp_path) == ["text.txt"]


def test_what_cannot_be_read_is_an_entry_of_its_own(tmp_path: Path) -> None:
    touch(tmp_path / "ok.txt")
    missing = str(tmp_path / "missing")
    corpus = find_corpus([missing, str(tmp_path)])
    assert corpus.entries[0][0] == missing
    assert "No such file" in (corpus.entries[0][1] or "")
    assert corpus.files == [str(tmp_path / "ok.txt")]


def test_no_files_is_an_error_naming_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoFiles, match=r"no files found in .*empty"):
        find_corpus([str(tmp_path / "empty")])
    touch(tmp_path / "empty" / ".only-hidden")
    with pytest.raises(NoFiles):
        find_corpus([str(tmp_path / "empty")])


def test_a_file_reached_through_links_and_its_real_path_is_counted_once(tmp_path: Path) -> None:
    """Duplicates are told by real path: through a linked directory argument, a link to
    a file inside a walk, and the file's own path alike."""
    real = tmp_path / "real"
    touch(real / "sub" / "a.txt")
    touch(real / "b.txt")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    (real / "sub" / "to-b.txt").symlink_to(real / "b.txt")
    corpus = find_corpus([str(tmp_path / "alias"), str(real), str(real / "sub" / "a.txt")])
    assert relative(corpus.files, tmp_path) == ["alias/b.txt", "alias/sub/a.txt"]
