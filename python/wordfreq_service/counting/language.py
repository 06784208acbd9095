"""The language of counted text, for ``--stopwords auto``.

Detection reads the final counts, never the text as it streams, so its answer is the same
however the input was cut into chunks, threads, ranges or files (and the words it reads
are those of at least ``--min-length`` letters, as every path's counts hold them: with
``--min-length`` above 1, short function words no longer help it): a sample text is made
of the most frequent words (the words of n-gram keys), each repeated in proportion to its
count, and the core's detector (whatlang) reads it. Its answer stands when whatlang calls
it reliable, or else when the language's own stop words make up at least
``MIN_STOP_SHARE`` of those words' occurrences and no other listed language's cover
``STOP_SHARE_MARGIN`` more: one or two sentences are too short for
whatlang to tell Russian from Ukrainian or Hindi from Marathi with confidence, but their
function words tell. Unsure, a language without a stop-word list, or a text whose words a
listed language whatlang cannot detect (``UNDETECTABLE``) covers better, is
``UNDETERMINED``.
"""

from __future__ import annotations

from wordfreq_service import _core
from wordfreq_service.counting.stopwords import LANGUAGES, language_words

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Iterable

    from wordfreq_service.counting.engine import Counter

#: ISO 639's code for "undetermined": what a result says when auto found no language.
UNDETERMINED = "und"
#: The listed languages whatlang has no model for: never detected (README lists them).
UNDETECTABLE = tuple(sorted(set(LANGUAGES) - set(_core.DETECTABLE_LANGUAGES)))
#: How many of the most frequent words make the sample.
SAMPLE_WORDS = 300
#: The share of the sample's word occurrences that must be stop words of the language
#: whatlang names, when it calls its answer unreliable.
MIN_STOP_SHARE = 0.25
#: How much more of the sample another listed language's stop words may cover before
#: whatlang's unsure guess is refused (``UNDETERMINED``).
STOP_SHARE_MARGIN = 0.2
#: How often the most frequent word is repeated in the sample; the others in proportion
#: (at least once).
SAMPLE_REPEATS = 20
#: Longer words stay out of the sample: no language needs them to be told, and a hostile
#: input's huge "words" (up to ``--max-word-length``) would otherwise make the sample,
#: and detection's time and memory, grow with its longest token.
MAX_SAMPLE_WORD = 64
#: The sample's most characters: whatlang needs a few hundred; this bounds its work
#: whatever the counts.
MAX_SAMPLE_CHARS = 64 * 1024


def sample_text(words: Iterable[tuple[str, int]]) -> str:
    """The words by count, most frequent first, as a text of whole words of at most
    ``MAX_SAMPLE_WORD`` characters, ``MAX_SAMPLE_CHARS`` in all at most. The repeats are
    interleaved (pass k writes every word with more than k repeats), so that no word
    follows itself: "casa casa" would make trigrams across words that no language has."""
    ranked = [(word, count) for word, count in words if len(word) <= MAX_SAMPLE_WORD]
    if not ranked:
        return ""
    top = max(count for _, count in ranked)
    repeats = [(word, max(1, round(SAMPLE_REPEATS * count / top))) for word, count in ranked]
    pieces: list[str] = []
    size = 0
    for k in range(SAMPLE_REPEATS):
        for word, times in repeats:
            if times <= k:
                continue
            size += len(word) + 1
            if size > MAX_SAMPLE_CHARS + 1:
                return " ".join(pieces)
            pieces.append(word)
    return " ".join(pieces)


def detect(words: Iterable[tuple[str, int]]) -> str:
    """The language of text with these word counts, if sure and listed; else
    ``UNDETERMINED``."""
    ranked = list(words)
    code, _confidence, reliable = _core.detect_language(sample_text(ranked))
    if code is None or code not in LANGUAGES:
        return UNDETERMINED
    if not (reliable or _stop_words_tell(ranked, code)):
        return UNDETERMINED
    if _undetectable_neighbour(ranked, code):
        return UNDETERMINED
    return code


def _stop_words_tell(ranked: list[tuple[str, int]], code: str) -> bool:
    """Whether ``code``'s stop words make up at least ``MIN_STOP_SHARE`` of the words'
    occurrences, and no other listed language's make up ``STOP_SHARE_MARGIN`` more:
    neighbours share many function words (Spanish's list holds much Italian), so a share
    alone would confirm whatlang's unsure guess of the wrong one. A margin, not "the
    highest", because the lists differ in size: Swedish's covers more of a Norwegian
    sentence than Norwegian's does."""
    share = stop_share(ranked, language_words(code))
    if share < MIN_STOP_SHARE:
        return False
    return all(
        stop_share(ranked, language_words(other)) < share + STOP_SHARE_MARGIN
        for other in LANGUAGES
        if other != code
    )


def _undetectable_neighbour(ranked: list[tuple[str, int]], code: str) -> bool:
    """Whether the stop words of a listed language whatlang cannot detect (Galician,
    Malay, ...) cover more of the words than ``code``'s: whatlang
    then names a neighbour (Portuguese, Indonesian), even "reliably", and its list is
    not the text's."""
    share = stop_share(ranked, language_words(code))
    return any(stop_share(ranked, language_words(other)) > share for other in UNDETECTABLE)


def stop_share(words: list[tuple[str, int]], stop: frozenset[str]) -> float:
    """The share of the occurrences of ``words`` that are in ``stop``."""
    occurrences = sum(count for _, count in words)
    dropped = sum(count for word, count in words if word in stop)
    return dropped / occurrences if occurrences else 0.0


def language_of(counter: Counter, min_length: int = 1) -> str:
    """The language of what ``counter`` counted (finished), as ``detect`` tells it, from
    the words of at least ``min_length`` letters: the request's ``--min-length``, the
    counts every path holds (a job's or corpus's stored counts are written with it), so
    ``count``, aggregates, jobs, split objects and corpora detect on the same words."""
    _total, _unique, top = counter.report(SAMPLE_WORDS, min_length, frozenset())
    return detect((word, count) for key, count in top for word in key.split(" "))
