"""``--stopwords auto``: the language detected from the counts, and its stop words dropped,
in ``count``, the worker and the API."""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service import _core
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.cli import output
from wordfreq_service.counting.engine import count_file, summarize
from wordfreq_service.counting.language import (
    MAX_SAMPLE_CHARS,
    MAX_SAMPLE_WORD,
    MIN_STOP_SHARE,
    STOP_SHARE_MARGIN,
    UNDETECTABLE,
    UNDETERMINED,
    detect,
    language_of,
    sample_text,
    stop_share,
)
from wordfreq_service.counting.stopwords import LANGUAGES, language_words
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import without_stop_words
from wordfreq_service.formats.results import JobResult
from wordfreq_service.service.api_client import ApiClient
from wordfreq_service.service.corpus_client import ApiMerger
from wordfreq_service.service.job_client import JobTicket

from tests.api_fixtures import BASE_URL, ApiStack, open_api_stack
from tests.helpers import CORPUS, SHARED, run_wordfreq
from tests.test_worker import drain_once

#: One or two sentences each, in the languages the issue names and more.
SENTENCES = {
    "en": "The weather was cold this morning, so we stayed at home and read our books by the fire.",
    "fr": "Le matin, nous avons pris le train pour aller voir nos amis qui habitent près "
    "de la mer.",
    "de": "Gestern Abend sind wir mit unseren Freunden in die Stadt gefahren und haben dort "
    "gegessen.",
    "es": "Mañana vamos a visitar a mis abuelos, que viven en un pueblo pequeño cerca de "
    "las montañas.",
    "it": "Ieri sera siamo andati al ristorante con i nostri amici e abbiamo mangiato una "
    "pizza buonissima.",
    "pt": "Ontem à noite fomos ao cinema com os nossos amigos e depois jantamos num "
    "restaurante perto de casa.",
    "nl": "Gisteren zijn we met de fiets naar het strand gegaan, omdat het eindelijk mooi "
    "weer was.",
    "ru": "Вчера вечером мы ходили в театр с друзьями, а потом долго гуляли по набережной реки.",
    "zh": "我们昨天晚上和朋友一起去饭馆吃饭，然后在河边散步了很长时间。",
    "ja": "昨日の夜、私たちは友達と一緒にレストランへ行って、そのあと川のそばを散歩しました。",
    "ar": "ذهبنا أمس مع أصدقائنا إلى المطعم، ثم تمشينا طويلا على ضفة النهر في المساء.",
    "th": "เมื่อวานนี้เราไปกินข้าวที่ร้านอาหารกับเพื่อน แล้วก็เดินเล่นริมแม่น้ำจนดึก",
    "pl": "Wczoraj wieczorem poszliśmy z przyjaciółmi do kina, a potem długo "
    "spacerowaliśmy nad rzeką.",
    "sv": "Igår kväll gick vi på bio med våra vänner och sedan promenerade vi länge längs floden.",
    "tr": "Dün akşam arkadaşlarımızla birlikte sinemaya gittik ve sonra nehir kenarında "
    "uzun süre yürüdük.",
    "ko": "어제 저녁에 우리는 친구들과 함께 영화를 보러 갔고 그 다음에 강가를 오랫동안 걸었습니다.",
    "hi": "कल शाम हम अपने दोस्तों के साथ सिनेमा देखने गए और फिर नदी के किनारे देर तक टहलते रहे।",
    "fi": "Eilen illalla menimme ystäviemme kanssa elokuviin ja sen jälkeen kävelimme "
    "pitkään joen rannalla.",
}

#: The unspaced sentences cut into words (as a segmenter would), so that detection is
#: checked on both kinds of counts: today's whole clauses, and words.
SEGMENTED = {
    "zh": "我们 昨天 晚上 和 朋友 一起 去 饭馆 吃饭 ， 然后 在 河边 散步 了 很 长 时间 。",
    "ja": "昨日 の 夜 、 私 たち は 友達 と 一緒 に レストラン へ 行っ て 、 その あと 川 の "
    "そば を 散歩 し まし た 。",
    "th": "เมื่อวานนี้ เรา ไป กิน ข้าว ที่ ร้านอาหาร กับ เพื่อน แล้ว ก็ เดิน เล่น ริม แม่น้ำ จน ดึก",
}

WORDS = JobRequest.make()
AUTO = JobRequest.make(stopwords="auto", top=100)


def counted(text: str, chunk: int | None = None) -> _core.Counter:
    data = text.encode()
    counter = WORDS.new_counter()
    step = chunk or max(1, len(data))
    for at in range(0, len(data), step):
        counter.feed(data[at : at + step])
    counter.finish()
    return counter


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_one_or_two_sentences_are_enough(code: str) -> None:
    assert language_of(counted(SENTENCES[code])) == code


#: Short texts in a language with a close neighbour that shares its function words, which
#: whatlang alone is unsure of: a sample made of each word's repeats side by side
#: ("casa casa ...") once turned the Italian into Spanish and the Norwegian into Danish.
NEIGHBOURS = {
    "it": "Voglio comprare una casa grande in campagna per vivere con la mia famiglia.",
    "no": "Vi spiste frokost sammen i morges, og etterpå gikk vi en tur langs elva. Været "
    "var fint og solen skinte.",
    "da": "Vi tog i sommerhuset i weekenden og gik lange ture i skoven. Det var koldt, men "
    "vi hyggede os meget sammen.",
    "uk": "Вчора ввечері ми ходили до театру з друзями, а потім довго гуляли по набережній річки.",
    "pt": "Eu gostaria de comprar uma casa grande no campo para viver com a minha família.",
}


@pytest.mark.parametrize("code", sorted(NEIGHBOURS))
def test_near_neighbours_are_told_apart(code: str) -> None:
    assert language_of(counted(NEIGHBOURS[code])) == code


def test_an_unsure_guess_another_list_covers_much_better_is_undetermined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # whatlang's unsure "es" for the Italian sentence, as the side-by-side sample made it
    # say: Spanish's list covers a quarter of the words, Italian's twice as much, so no
    # list is applied rather than the wrong one. (Whatlang's guess is pinned: only the
    # fallback's rule is under test here.)
    words = [(w, 1) for w in NEIGHBOURS["it"].lower().rstrip(".").split()]
    es, it = (stop_share(words, language_words(c)) for c in ("es", "it"))
    assert es >= MIN_STOP_SHARE and es + STOP_SHARE_MARGIN <= it
    monkeypatch.setattr(_core, "detect_language", lambda _text: ("es", 0.1, False))
    assert detect(words) == UNDETERMINED
    monkeypatch.setattr(_core, "detect_language", lambda _text: ("it", 0.1, False))
    assert detect(words) == "it"


#: Listed languages whatlang has no model for, which it names as a neighbour.
UNDETECTABLE_TEXTS = {
    "gl": "Onte pola noite fomos ao cine cos nosos amigos e despois ceamos nun restaurante "
    "preto da casa.",
    "ms": "Semalam kami pergi ke pawagam bersama kawan-kawan dan kemudian makan malam di "
    "restoran berhampiran rumah.",
}


@pytest.mark.parametrize("code", sorted(UNDETECTABLE_TEXTS))
def test_a_language_that_cannot_be_detected_is_not_given_a_neighbour_s_list(code: str) -> None:
    # whatlang says "pt" and "id", reliably, for these.
    assert language_of(counted(UNDETECTABLE_TEXTS[code])) == UNDETERMINED


def test_the_readme_names_the_languages_auto_never_detects() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    bullet = readme.split("- **Never detected**", 1)[1].split("\n- ", 1)[0]
    named = re.findall(r"\b([a-z]{2}) [A-Z][a-z]+", bullet.split("(name them", 1)[0])
    assert tuple(named) == UNDETECTABLE
    assert set(UNDETECTABLE) < set(LANGUAGES) and f"{len(UNDETECTABLE)} of the" in bullet


@pytest.mark.parametrize("code", sorted(SEGMENTED))
def test_unspaced_scripts_are_told_whether_segmented_or_not(code: str) -> None:
    assert language_of(counted(SEGMENTED[code])) == code
    assert language_of(counted(SENTENCES[code])) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234 5678 90",
        "Alice Bob Carol Dave Eve Mallory Trent Peggy Victor Walter",
        "xyzzy plugh frobnicate quux",
    ],
)
def test_no_language_is_undetermined_and_drops_nothing(text: str) -> None:
    counter = counted(text)
    assert language_of(counter) == UNDETERMINED
    result = summarize(counter, AUTO)
    assert result.language == UNDETERMINED
    assert result.total == summarize(counter, WORDS).total


@settings(max_examples=25, deadline=None, print_blob=True)
@given(code=st.sampled_from(sorted(SENTENCES)), chunk=st.integers(1, 64), repeat=st.integers(1, 4))
def test_the_answer_is_the_same_however_the_text_is_chunked(
    code: str, chunk: int, repeat: int
) -> None:
    text = "\n".join([SENTENCES[code]] * repeat)
    assert language_of(counted(text, chunk)) == language_of(counted(text)) == code


def test_the_sample_is_bounded_whatever_the_words_length_or_number() -> None:
    # Words as long as --max-word-length lets through (300 of 20,000 letters once made a
    # sample of 120 million characters): now they stay out, and the short ones still tell.
    letters = "abcdefghijklmnopqrstuvwxyz"
    huge = [
        ((letters[i % 26 :] + letters[: i % 26]) * 77 + letters[i // 26], 2) for i in range(300)
    ]
    words = [(w, 1) for w in SENTENCES["en"].lower().replace(",", "").rstrip(".").split()]
    sample = sample_text(huge + words)
    assert max(len(w) for w in sample.split()) <= MAX_SAMPLE_WORD
    assert len(sample) <= MAX_SAMPLE_CHARS
    many = [(f"w{i}x", 1_000) for i in range(20_000)]
    assert len(sample_text(many)) <= MAX_SAMPLE_CHARS
    counter = JobRequest.make(max_word_length=65_536).new_counter()
    counter.feed((" ".join(w for w, _ in huge) + " " + SENTENCES["en"]).encode())
    counter.finish()
    assert language_of(counter) == "en"


def _gutenberg_language(path: Path) -> str | None:
    """The ISO 639-1 code of the book's ``Language:`` header line, if it has one."""
    head = path.read_bytes()[:8192].decode("cp1252", errors="replace")
    match = re.search(r"^Language: *(\w+)", head, re.MULTILINE)
    if match is None:
        return None
    names = {name: code for code, name in LANGUAGES.items()}
    return names[match.group(1)]


def _books() -> list[Path]:
    return sorted(
        p for d in (CORPUS, SHARED / "corpus-more") if d.is_dir() for p in d.glob("*.txt")
    )


@pytest.mark.parametrize("book", _books(), ids=lambda p: p.name)
def test_the_corpus_books_are_in_the_language_their_header_names(book: Path) -> None:
    expected = _gutenberg_language(book)
    if expected is None:
        pytest.skip(f"{book.name} has no Gutenberg Language: header to check against")
    counter = count_file(str(book), WORDS, threads=1)
    assert language_of(counter) == expected


def test_the_corpus_books_are_there() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    assert len([b for b in _books() if _gutenberg_language(b)]) >= 6


# -- end to end ------------------------------------------------------------------------


FRENCH = SENTENCES["fr"] + "\n" + "Le chat et le chien dorment dans la maison avec les enfants.\n"


def _dropped(words: list[dict[str, Any]], code: str) -> bool:
    return not {w["word"] for w in words} & language_words(code)


def test_count_json_names_the_language_and_drops_its_stop_words(tmp_path: Path) -> None:
    text = tmp_path / "fr.txt"
    text.write_text(FRENCH, encoding="utf-8")
    plain = json.loads(run_wordfreq(["count", "--json", "--top", "50", str(text)]).stdout)
    assert "language" not in plain and not _dropped(plain["words"], "fr")
    auto = json.loads(
        run_wordfreq(["count", "--json", "--top", "50", "--stopwords", "auto", str(text)]).stdout
    )
    assert auto["language"] == "fr" and _dropped(auto["words"], "fr")
    assert {"chat", "chien", "maison"} <= {w["word"] for w in auto["words"]}
    # Text output keeps its shape; the language is a note on standard error.
    proc = run_wordfreq(["count", "--stopwords", "auto", str(text)])
    assert proc.stdout.startswith("Top Words:\n") and "language" not in proc.stdout
    assert "language detected: fr (French)" in proc.stderr


def test_a_language_this_client_does_not_know_is_a_note_not_a_crash() -> None:
    # A newer worker's result message, or corpus, may name a code this client lacks.
    note = output.language_note("xx", "a.txt: ")
    assert note == (
        "wordfreq: note: a.txt: language detected: 'xx' (a code this wordfreq does not "
        "know); its stop words dropped\n"
    )
    assert "(French)" in output.language_note("fr")


def test_an_api_aggregate_of_nothing_says_und_as_the_others_do() -> None:
    # `submit --aggregate --api --stopwords auto` over files none of which was counted.
    assert ApiMerger(None, AUTO).finish([], 1.0).language == UNDETERMINED
    assert ApiMerger(None, WORDS).finish([], 1.0).language is None


def test_aggregates_detect_on_the_sum(tmp_path: Path) -> None:
    # Two files: one French sentence alone is too short to be sure of, the sum is not.
    (tmp_path / "a.txt").write_text(FRENCH, encoding="utf-8")
    (tmp_path / "b.txt").write_text("1234 5678\n", encoding="utf-8")
    args = ["count", "--aggregate", "--json", "--stopwords", "auto", str(tmp_path)]
    summed = json.loads(run_wordfreq(args).stdout)
    assert list(summed)[:3] == ["total", "unique", "language"]
    assert summed["language"] == "fr" and _dropped(summed["words"], "fr")
    undetermined = json.loads(run_wordfreq([*args[:-1], str(tmp_path / "b.txt")]).stdout)
    assert undetermined["language"] == UNDETERMINED


@pytest.fixture
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, "embedded", tmp_path)


def test_the_worker_and_the_api_say_which_language_they_dropped(
    api: ApiStack, tmp_path: Path
) -> None:
    data = FRENCH.encode()
    job = api.create(len(data), stopwords="auto", top=50)
    assert api.upload(job, data).status_code == 200
    assert drain_once(api.backend).jobs_done == 1
    result = api.get_job(job).json()["result"]
    assert result["status"] == "success", result
    assert result["language"] == "fr" and _dropped(result["words"], "fr")
    # The counts CSV the page links to drops them too, as `count --csv` does; the full
    # counts (an aggregate of corpora detects on their sum) are there when asked for.
    mine = {"Authorization": f"Bearer {job['token']}"}
    counts = api.client.get(f"/jobs/{job['job_id']}/counts.csv", headers=mine)
    assert counts.status_code == 200 and _csv_words(counts.text) == _count_csv(FRENCH, tmp_path)
    full = api.client.get(
        f"/jobs/{job['job_id']}/counts.csv", params={"keep_stop_words": "true"}, headers=mine
    )
    assert "\nle," in full.text and "\nchat," in full.text
    corpus = api.client.post(
        "/corpora", json={"jobs": [{"job_id": job["job_id"], "token": job["token"]}]}
    ).json()
    theirs = {"Authorization": f"Bearer {corpus['token']}"}
    view = api.client.get(
        f"/corpora/{corpus['corpus_id']}", params={"wait": 5}, headers=theirs
    ).json()
    assert view["result"]["language"] == "fr" and _dropped(view["result"]["words"], "fr")
    merged = api.client.get(f"/corpora/{corpus['corpus_id']}/counts.csv", headers=theirs)
    assert _csv_words(merged.text) == _count_csv(FRENCH, tmp_path)
    assert (
        "\nle,"
        in api.client.get(
            f"/corpora/{corpus['corpus_id']}/counts.csv",
            params={"keep_stop_words": "true"},
            headers=theirs,
        ).text
    )


@settings(max_examples=30, deadline=None, print_blob=True)
@given(cut=st.integers(1, 40), newline=st.booleans())
def test_a_download_drops_stop_words_and_phrases_holding_one_whatever_the_chunks(
    cut: int, newline: bool
) -> None:
    csv = b'word,count\nle chat,3\n"a,b",2\nchat noir,2\nle,1\nfin,1\nla,1' + b"\n" * newline
    chunks = [csv[at : at + cut] for at in range(0, len(csv), cut)]
    kept = b"".join(without_stop_words(chunks, frozenset({"le", "la", "a,b"})))
    assert kept == b"word,count\nchat noir,2\nfin,1\n"


def _csv_words(text: str) -> set[str]:
    return {row.split(",")[0] for row in text.splitlines()[1:]}


def _count_csv(text: str, where: Path) -> set[str]:
    """The words ``wordfreq count --csv --stopwords auto`` lists for ``text``."""
    path = where / "count-csv.txt"
    path.write_text(text, encoding="utf-8")
    proc = run_wordfreq(["count", "--csv", "--stopwords", "auto", str(path)])
    assert proc.returncode == 0, proc.stderr
    return _csv_words(proc.stdout)


def test_the_worker_s_result_message_carries_the_language(tmp_path: Path) -> None:
    # The compatible path: an object with the request in its metadata, the worker, and
    # the message on the result queue, read as the compatible client reads it.
    backend = open_embedded(tmp_path)
    asked = {"auto": JobRequest.make(stopwords="auto"), "fr": JobRequest.make(stopwords="fr")}
    for key, request in asked.items():
        backend.store.put(key, io.BytesIO(FRENCH.encode()), request.to_metadata())
    while drain_once(backend).jobs_done:
        pass
    messages = {}
    for m in backend.result_queue.receive(10, wait_seconds=0.5):
        result = JobResult.from_json(m.body)
        messages[result.file_key] = (json.loads(m.body), result)
    auto_body, auto = messages["auto"]
    assert auto_body["Language"] == auto.language == "fr"
    assert _dropped([{"word": w} for w, _ in auto.words], "fr")
    # Without auto, the field is absent, as before.
    plain_body, plain = messages["fr"]
    assert "Language" not in plain_body and plain.language is None


def test_api_aggregates_detect_on_the_sum_of_one_corpus_or_several(api: ApiStack) -> None:
    # `submit --aggregate --api`: one corpus job, or several summed by the client (as
    # more than MAX_CORPUS_JOBS files need; here one job a corpus).
    # Each short enough that its words without French's stop words tell no language:
    # several corpora must be summed on their full counts.
    texts = [
        "Nous avons vu le chat de la voisine dans le jardin.\n",
        "Il est avec elle et nous sommes avec eux chez nous.\n",
    ]
    tickets = []
    for text in texts:
        job = api.create(len(text.encode()), stopwords="auto", top=50)
        assert api.upload(job, text.encode()).status_code == 200
        tickets.append(JobTicket(job["job_id"], job["key"], job["token"]))
    while drain_once(api.backend).jobs_done:
        pass
    request = JobRequest.make(stopwords="auto", top=50)
    expected = summarize(counted("\n".join(texts)), request)
    with warnings.catch_warnings():
        # Starlette's notice about a future httpx package, not about this test.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(api.app, base_url=BASE_URL) as http:
        client = ApiClient(BASE_URL, client=http)
        for per_corpus in (len(tickets), 1):
            summed = ApiMerger(client, request, per_corpus=per_corpus).finish(tickets, 30)
            assert summed.language == expected.language == "fr", per_corpus
            assert (summed.total, summed.words) == (expected.total, expected.words)
        # `submit --api` one file at a time: each job's result names its language too
        # (`--json`'s "language", the note on standard error), as on the embedded path.
        for ticket in tickets:
            status = client.status(ticket, wait=5)
            assert status.result is not None and status.result.language == "fr", status


def test_submit_says_the_language_per_file_and_detects_aggregates_on_the_sum(
    tmp_path: Path,
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "a.txt").write_text(FRENCH, encoding="utf-8")
    (files / "b.txt").write_text("1234 5678\n", encoding="utf-8")
    common = ["--data-dir", str(tmp_path / "data"), "--json", "--stopwords", "auto"]
    each = run_wordfreq(["submit", *common, str(files / "a.txt"), str(files / "b.txt")])
    assert each.returncode == 0, each.stderr
    languages = [json.loads(line)["language"] for line in each.stdout.splitlines()]
    assert languages == ["fr", UNDETERMINED]
    summed = run_wordfreq(["submit", "--aggregate", "--top", "50", *common, str(files)])
    assert summed.returncode == 0, summed.stderr
    direct = run_wordfreq(["count", "--aggregate", "--top", "50", *common[2:], str(files)])
    body, expected = json.loads(summed.stdout), json.loads(direct.stdout)
    assert body["language"] == expected["language"] == "fr"
    assert body["words"] == expected["words"] and _dropped(body["words"], "fr")


def test_min_length_detects_on_the_same_words_on_every_path(tmp_path: Path) -> None:
    # Job and corpus counts are stored without the words under --min-length, so every
    # path detects on those words; a Russian sentence once came out "ru" from `count`
    # and "und" (its stop words kept) from `submit --aggregate`.
    files = tmp_path / "files"
    files.mkdir()
    (files / "ru.txt").write_text(SENTENCES["ru"] + "\n", encoding="utf-8")
    options = ["--json", "--stopwords", "auto", "--min-length", "4", "--top", "50"]
    data = ["--data-dir", str(tmp_path / "data")]
    bodies = [
        json.loads(run_wordfreq(args).stdout)
        for args in (
            ["count", *options, str(files / "ru.txt")],
            ["count", "--aggregate", *options, str(files)],
            ["submit", "--aggregate", *data, *options, str(files)],
        )
    ]
    # Its words of 4 letters or more alone are too few to be sure of.
    assert bodies[0]["language"] == language_of(counted(SENTENCES["ru"]), 4) == UNDETERMINED
    for body in bodies[1:]:
        assert (body["language"], body["total"], body["words"]) == (
            bodies[0]["language"],
            bodies[0]["total"],
            bodies[0]["words"],
        )


def test_a_split_object_is_detected_on_its_merged_counts(tmp_path: Path) -> None:
    from wordfreq_service.counting.ranges import MIN_SPLIT_THRESHOLD

    book = tmp_path / "livre.txt"
    paragraph = (FRENCH + "\n").encode()
    book.write_bytes(paragraph * (2 * MIN_SPLIT_THRESHOLD // len(paragraph) + 1))
    options = ["--json", "--stopwords", "auto", "--top", "20"]
    data = ["--data-dir", str(tmp_path / "data"), "--workers", "2"]
    split = ["--split-threshold", str(MIN_SPLIT_THRESHOLD)]
    submitted = run_wordfreq(["submit", *data, *split, *options, str(book)])
    assert submitted.returncode == 0, submitted.stderr
    got = json.loads(submitted.stdout)
    want = json.loads(run_wordfreq(["count", *options, str(book)]).stdout)
    assert got["language"] == want["language"] == "fr"
    assert got["words"] == want["words"] and _dropped(got["words"], "fr")
