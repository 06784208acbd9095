"""Stop-word lists: one per language (ISO 639-1 code), or a user's file.

English (``en``, also spelled ``english``) is wordfreq's own list, as it always was; the
other languages' lists are stopwords-iso's (MIT), vendored in ``stopwords_data/`` by
``tools/fetch_stopwords.py`` (source, version and licence in ``stopwords_data/NOTICE``).
A list is read from its file the first time it is asked for, and only then.

A stop-word file holds one word per line; blank lines and lines starting with ``#`` are
ignored. Each entry is normalised as ``words`` mode normalises a word (U+2019 to U+0027,
lowercase, NFC), so ``Don’t`` in the file removes ``don't`` from the results.
"""

from __future__ import annotations

import os

from wordfreq_service._core import normalize_word
from wordfreq_service.errors import InputError

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Iterable

# Common English function words; contractions are spelled with U+0027 as words mode
# normalises them.
ENGLISH = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up upon very was wasn't we we'd
    we'll we're we've were weren't what what's when when's where where's which while who
    who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves
    """.split()
)


#: Lists kept here rather than taken from stopwords-iso: its English list (1,298 entries)
#: drops words such as "world", "information" or "new", which ``english`` never did.
OWN_LISTS: dict[str, frozenset[str]] = {"en": ENGLISH}

#: Where the vendored lists live: ``<code>.txt``, one normalised entry a line.
DATA_DIR = os.path.join(os.path.dirname(__file__), "stopwords_data")

#: The languages with a list, by ISO 639-1 code, with their English names (the page's
#: choice and the error that lists the choices show them).
LANGUAGES: dict[str, str] = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "br": "Breton",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "eo": "Esperanto",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "gl": "Galician",
    "gu": "Gujarati",
    "ha": "Hausa",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "hy": "Armenian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "ku": "Kurdish",
    "la": "Latin",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mr": "Marathi",
    "ms": "Malay",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "so": "Somali",
    "st": "Sotho",
    "sv": "Swedish",
    "sw": "Swahili",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yo": "Yoruba",
    "zh": "Chinese",
    "zu": "Zulu",
}

#: Other names a request may give a language by.
ALIASES: dict[str, str] = {"english": "en"}

_loaded: dict[str, frozenset[str]] = dict(OWN_LISTS)


def language_words(code: str) -> frozenset[str]:
    """The stop words of the language ``code`` (a key of ``LANGUAGES``), read once."""
    words = _loaded.get(code)
    if words is None:
        path = os.path.join(DATA_DIR, f"{code}.txt")
        with open(path, encoding="utf-8") as lines:
            words = frozenset(line.rstrip("\n") for line in lines)
        _loaded[code] = words
    return words


def normalize_entries(entries: Iterable[str]) -> frozenset[str]:
    """Stop-word entries normalised as ``words`` mode normalises a word."""
    stripped = (e.strip() for e in entries)
    return frozenset(normalize_word(w) for w in stripped if w)


def read_file(spec: str) -> frozenset[str]:
    """The entries of a stop-word file; errors name the file."""
    from pathlib import Path  # only a stop-word file needs it

    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"stop-word file {spec}: {reason}") from exc
    lines = (line.strip() for line in text.splitlines())
    return normalize_entries(line for line in lines if not line.startswith("#"))
