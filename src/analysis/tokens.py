"""Segment paragraph text into tokens (jieba + domain dictionary + stop words), the step before TF-IDF.

The segmenter is a dedicated :class:`jieba.Tokenizer` built from jieba's bundled
dictionary plus the project's domain dictionary; the global ``jieba.dt`` is
never touched, and only jieba's public API is used (``Tokenizer(dictionary=...)``,
``tmp_dir``/``cache_file``, ``initialize``, ``lcut``, ``suggest_freq``, ``add_word``).
jieba's prefix-dictionary cache goes to :data:`analysis.paths.CACHE_DIR`, so nothing is
written to a shared temporary directory and nothing is downloaded; the project's words
are added to the loaded dictionary in each process (once per process and lexicon).

Word lists live in ``src/analysis/resources/``:

``domain_terms.txt``
    jieba user dictionary (``word [freq] [pos]``): campaign vocabulary and place names.
``stopwords_zh.txt``
    general Chinese stop words (stopwords-iso, MIT; see ``SOURCES.md``).
``generic_terms.txt``
    campaign-generic words that say nothing about a place (dropped by default).
``keep_single_chars.txt``
    one-character words that carry meaning (党, 村, 户 ...) and are kept.

Examples
--------
>>> from analysis import tokens
>>> tokens.tokenize("各村党支部开展三会一课,走访群众1200余户。")
['各村', '党支部', '三会一课', '走访']
>>> tokens.tokenize("党和村里每户贴春联")
['党', '村里', '每户', '春联']
>>> tokens.tokenize("党史学习教育扎实开展", drop_generic=False)
['党史学习教育', '扎实', '开展']
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import sys
import threading
import unicodedata
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # jieba 0.42.1 imports pkg_resources, which recent setuptools flags as deprecated;
    # the warning is about jieba's packaging, not this project, and would clutter every report.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=DeprecationWarning)
    import jieba

from . import parallel, paths, places
from .errors import InputError

__all__ = [
    "DomainTerm",
    "Segmenter",
    "get_segmenter",
    "tokenize",
    "read_domain_terms",
    "read_word_list",
    "DOMAIN_TERMS_PATH",
    "STOPWORDS_PATH",
    "GENERIC_TERMS_PATH",
    "KEEP_SINGLE_CHARS_PATH",
    "RE_JIEBA_WORD",
    "RE_NUMBER_TOKEN",
]

logger = logging.getLogger(__name__)

DOMAIN_TERMS_PATH = paths.RESOURCES_DIR / "domain_terms.txt"
STOPWORDS_PATH = paths.RESOURCES_DIR / "stopwords_zh.txt"
GENERIC_TERMS_PATH = paths.RESOURCES_DIR / "generic_terms.txt"
KEEP_SINGLE_CHARS_PATH = paths.RESOURCES_DIR / "keep_single_chars.txt"

#: A word jieba can return whole: its cut splits text into blocks of exactly
#: these characters (``jieba.re_han_default``), so a dictionary word holding any
#: other character (space, "·", "、", quotes ...) can never come out as one token.
RE_JIEBA_WORD = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
#: A token that is a number, an ordinal, a number with one measure word or a
#: date piece (100, 1.2, 二十, 两个, 第三, 万元, 3月): dropped before TF-IDF.
RE_NUMBER_TOKEN = re.compile(
    r"第?[0-9.,:%+\-/零〇一二两三四五六七八九十百千万亿几余多]+"
    r"[年月日号时分秒个名位人次场项件元岁期批轮户家支条篇份]?"
)
#: A token with at least one letter (CJK ideograph or Latin letter); others
#: (punctuation, symbols, whitespace) are dropped.
RE_HAS_LETTER = re.compile(r"[\u3400-\u4DBF\u4E00-\u9FFFa-zA-Z]")
RE_POS_TAG = re.compile(r"[a-z]+")

#: Frequency floor given to a domain term without an explicit frequency. jieba's
#: own suggestion only keeps the word whole when it stands alone; inside a
#: sentence a neighbouring character can pull its first or last character into
#: another word, so the floor is set well above that of common words.
DEFAULT_TERM_FREQ = 200_000
#: jieba frequency of gazetteer place names: high enough to keep 开福区 whole, far below
#: the domain terms so a place name never splits a campaign term.
PLACE_NAME_FREQ = 20_000
_COMMENT = "#"
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class DomainTerm:
    """One entry of the domain dictionary (``freq``/``pos`` are ``None`` when not given)."""

    word: str
    freq: int | None = None
    pos: str | None = None


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty, non-comment lines with their 1-based numbers; BOM and CRLF tolerated with a warning."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"word list not found: {path}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8.") from None
    if text.startswith(_BOM):
        logger.warning("%s starts with a byte-order mark; it is ignored (save the file as UTF-8 without BOM).", path)
        text = text[1:]
    if "\r" in text:
        logger.warning("%s has CR or CRLF line endings; they are read as LF.", path)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith(_COMMENT):
            out.append((number, line))
    return out


def read_word_list(path: str | Path) -> tuple[str, ...]:
    """Read a one-word-a-line list (``#`` comments, blank lines skipped), in file order, de-duplicated.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the file is not UTF-8 or a line holds more than one word.
    """
    path = Path(path)
    words: dict[str, None] = {}
    for number, line in _read_lines(path):
        if len(line.split()) != 1:
            raise InputError(path, f"{line!r} holds whitespace; put one word on each line.", line=number)
        words.setdefault(line, None)
    return tuple(words)


def read_domain_terms(path: str | Path = DOMAIN_TERMS_PATH) -> tuple[DomainTerm, ...]:
    """Read and validate a jieba user dictionary (``word [freq] [pos]`` a line).

    Unlike ``jieba.load_userdict``, which silently skips or mangles such lines,
    every entry that jieba could not return as one token is an error.

    Raises
    ------
    InputError
        On a line with more than three fields, a bad frequency or POS tag, or a
        word holding characters jieba splits on (spaces, "·", "、", quotes ...).
    """
    path = Path(path)
    terms: dict[str, DomainTerm] = {}
    for number, line in _read_lines(path):
        fields = line.split()
        word, rest = fields[0], fields[1:]
        freq: int | None = None
        pos: str | None = None
        if rest and rest[0].isascii() and rest[0].isdigit():
            freq = int(rest.pop(0))
            if freq <= 0:
                raise InputError(path, f"frequency of {word!r} must be a positive integer, got {freq}.", line=number)
        if rest and RE_POS_TAG.fullmatch(rest[0]):
            pos = rest.pop(0)
        if rest:
            raise InputError(
                path,
                f"cannot read {line!r}: expected 'word [freq] [pos]' (freq a positive integer, pos lower-case "
                "letters); a word cannot contain spaces.",
                line=number,
            )
        if not RE_JIEBA_WORD.fullmatch(word):
            bad = sorted({ch for ch in word if not RE_JIEBA_WORD.fullmatch(ch)})
            raise InputError(
                path,
                f"{word!r} contains {bad!r}, which jieba splits on, so it can never be one token; "
                "remove those characters or the entry.",
                line=number,
            )
        if word in terms:
            logger.warning("%s, line %d: duplicate entry %r; the last one is used.", path, number, word)
        terms[word] = DomainTerm(word, freq, pos)
    if not terms:
        raise InputError(path, "the domain dictionary has no entries.")
    return tuple(terms.values())


def _hash_files(files: Iterable[Path], extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


#: Texts whose jieba tokens each Segmenter remembers. An analysis cuts every paragraph several times
#: (TF-IDF, topic terms, representatives, keyness), so this holds the paragraphs of some 10,000 reports;
#: tokens are interned (one copy of each word), which keeps it near 0.6 KB a paragraph
#: (benchmarks/tokens.md).
CUT_CACHE_SIZE = 500_000
#: Lines per task that :meth:`Segmenter.cut_many` sends to a worker (jieba cuts some 350,000 characters a
#: second, so a batch of paragraphs is a fraction of a second of work, well above the cost of sending it).
CUT_BATCH_SIZE = 1000
#: Metadata key of a :meth:`Segmenter.save_cuts` file that holds the lexicon hash of its tokens.
CUTS_HASH_KEY = "analysis.lexicon_hash"

# Built tokenizers and checked stop words, one per lexicon hash per process
# (shared by all Segmenters, and unpickled copies, with that lexicon).
_TOKENIZERS: dict[str, jieba.Tokenizer] = {}
_STOP_WORDS: dict[str, frozenset[str]] = {}
_TOKENIZERS_LOCK = threading.Lock()


class Segmenter:
    """jieba segmentation with the project's lexicon, and the token filter for TF-IDF.

    Construction only reads and validates the word lists; the jieba tokenizer
    is built on first use and cached per process and lexicon hash. Pickling
    drops the tokenizer; an unpickled copy (e.g. in a worker process) rebuilds
    it lazily from the same files, loading jieba's cache from ``cache_dir``.

    Parameters
    ----------
    domain_terms_path, stopwords_path, generic_terms_path, keep_single_chars_path : Path
        Word lists; the defaults are the files shipped in ``resources/``.
    hmm : bool, default=True
        Let jieba's HMM join runs of unknown characters into new words (names).
    cache_dir : Path, default=paths.CACHE_DIR
        Where jieba writes its prefix-dictionary cache.

    Attributes
    ----------
    lexicon_hash : str
        SHA-256 of the four word lists, the jieba version and ``hmm``; record it with outputs.
    domain_terms : tuple of DomainTerm
    generic_terms : frozenset of str
    keep_single_chars : frozenset of str
    """

    def __init__(
        self,
        *,
        domain_terms_path: str | Path = DOMAIN_TERMS_PATH,
        stopwords_path: str | Path = STOPWORDS_PATH,
        generic_terms_path: str | Path = GENERIC_TERMS_PATH,
        keep_single_chars_path: str | Path = KEEP_SINGLE_CHARS_PATH,
        hmm: bool = True,
        cache_dir: str | Path = paths.CACHE_DIR,
    ):
        self.domain_terms_path = Path(domain_terms_path)
        self.stopwords_path = Path(stopwords_path)
        self.generic_terms_path = Path(generic_terms_path)
        self.keep_single_chars_path = Path(keep_single_chars_path)
        self.hmm = bool(hmm)
        self.cache_dir = Path(cache_dir)
        self._load()

    # -- construction and pickling -------------------------------------------------
    def _load(self) -> None:
        self.domain_terms = read_domain_terms(self.domain_terms_path)
        self._stopword_candidates = read_word_list(self.stopwords_path)
        self.generic_terms = frozenset(read_word_list(self.generic_terms_path))
        keep = read_word_list(self.keep_single_chars_path)
        too_long = [w for w in keep if len(w) != 1]
        if too_long:
            raise InputError(self.keep_single_chars_path, f"entries must be single characters, got {too_long!r}.")
        self.keep_single_chars = frozenset(keep)
        files = (self.domain_terms_path, self.stopwords_path, self.generic_terms_path, self.keep_single_chars_path,
                 places.GAZETTEER_PATH)
        self.lexicon_hash = _hash_files(files, f"jieba={jieba.__version__};hmm={self.hmm}")
        self._stop_words: frozenset[str] | None = None
        self._decisions: dict[bool, dict[str, bool]] = {True: {}, False: {}}
        # First in, first out: an OrderedDict drops its oldest entry in constant time; a dict finds its first
        # key by scanning past the slots of the keys deleted before it (32 us against 0.9 us an eviction
        # with 500,000 entries, benchmarks/scale.md).
        self._cuts: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._cuts_lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        return {
            "domain_terms_path": self.domain_terms_path,
            "stopwords_path": self.stopwords_path,
            "generic_terms_path": self.generic_terms_path,
            "keep_single_chars_path": self.keep_single_chars_path,
            "hmm": self.hmm,
            "cache_dir": self.cache_dir,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._load()

    def __repr__(self) -> str:
        return f"Segmenter(lexicon_hash={self.lexicon_hash[:12]!r}, hmm={self.hmm})"

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        """The dedicated jieba tokenizer (built once per process and lexicon)."""
        tok = _TOKENIZERS.get(self.lexicon_hash)
        if tok is None:
            with _TOKENIZERS_LOCK:
                tok = _TOKENIZERS.get(self.lexicon_hash)
                if tok is None:
                    tok = self._build_tokenizer()
                    _TOKENIZERS[self.lexicon_hash] = tok
        return tok

    def _build_tokenizer(self) -> jieba.Tokenizer:
        tok = jieba.Tokenizer(dictionary=jieba.DEFAULT_DICT)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            logger.warning("cannot create jieba cache directory %s (%s); jieba will rebuild its dictionary.",
                           self.cache_dir, exc)
        tok.tmp_dir = str(self.cache_dir)
        tok.cache_file = "jieba.default.cache"
        # jieba announces every dictionary load on stderr at DEBUG level, which would
        # end up in the reports; keep its messages to warnings while it loads.
        jieba_logger = jieba.default_logger
        level = jieba_logger.level
        jieba_logger.setLevel(logging.WARNING)
        try:
            tok.initialize()
        finally:
            jieba_logger.setLevel(level)
        # Place names of the national gazetteer, so that any report's districts and
        # counties come out whole (开福区, 岳阳楼区), not only the bundled corpus's.
        # A name that is already a word of jieba's dictionary keeps jieba's frequency:
        # full mode (cut_all) returns every dictionary word of the text, so the name
        # itself among them means jieba knows it.
        for name in sorted(places.load_gazetteer()):
            if name not in tok.lcut(name, cut_all=True):
                tok.add_word(name, PLACE_NAME_FREQ, "ns")
        for term in self.domain_terms:
            freq = term.freq if term.freq is not None else max(tok.suggest_freq(term.word, False),
                                                               DEFAULT_TERM_FREQ)
            tok.add_word(term.word, freq, term.pos)
        return tok

    # -- segmentation ----------------------------------------------------------------
    def cut(self, text: str) -> list[str]:
        """All jieba tokens of ``text`` (NFKC-normalised), punctuation and spaces included.

        The last :data:`CUT_CACHE_SIZE` texts are remembered: an analysis
        segments the same paragraphs for TF-IDF, clustering, topic terms and
        keyness, and jieba gives the same tokens every time. A text of several
        lines is cut line by line (jieba never joins tokens across a line
        break, so the tokens are the same), which lets a whole report reuse
        the tokens of its paragraphs.
        """
        if "\n" in text and "\r" not in text:
            out: list[str] = []
            for i, line in enumerate(text.split("\n")):
                if i:
                    out.append("\n")
                out.extend(self._cut_line(line))
            return out
        return list(self._cut_line(text))

    def clear_cache(self) -> None:
        """Forget the remembered tokens (to free memory, or to time segmentation itself)."""
        with self._cuts_lock:
            self._cuts.clear()

    def save_cuts(self, path: str | Path) -> int:
        """Write the remembered tokens to ``path`` (parquet), atomically; return how many texts it holds.

        A later process (notebook 05 after 02) can :meth:`load_cuts` them
        instead of segmenting the same paragraphs again: jieba gives the same
        tokens for the same text and lexicon, so the results do not change.
        Columns ``text`` and ``tokens`` (sorted by text, so a rerun writes the
        same bytes); the lexicon hash is in the file's metadata.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from . import storage

        with self._cuts_lock:
            items = sorted(self._cuts.items())
        schema = pa.schema([("text", pa.string()), ("tokens", pa.list_(pa.string()))],
                           metadata={CUTS_HASH_KEY: self.lexicon_hash})
        table = pa.table({"text": [t for t, _ in items], "tokens": [list(v) for _, v in items]}, schema=schema)
        storage.atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return len(items)

    def load_cuts(self, path: str | Path) -> int:
        """Remember the tokens of a :meth:`save_cuts` file; return how many texts were taken (at most CUT_CACHE_SIZE).

        A missing or unreadable file, or one written with another lexicon or
        jieba version (another :attr:`lexicon_hash`), is not used (logged);
        the texts are then segmented as usual.
        """
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.is_file():
            logger.info("%s: no saved tokens; the texts are segmented here.", path)
            return 0
        try:
            metadata = pq.read_schema(path).metadata or {}
            if metadata.get(CUTS_HASH_KEY.encode()) != self.lexicon_hash.encode():
                logger.warning("%s: tokens of another lexicon or jieba version; not used (the texts are segmented here).", path)
                return 0
            table = pq.read_table(path, columns=["text", "tokens"])
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            logger.warning("%s: saved tokens unreadable (%s); not used (the texts are segmented here).", path, exc)
            return 0
        n = 0
        with self._cuts_lock:
            for text, cut in zip(table.column("text").to_pylist(), table.column("tokens").to_pylist(), strict=True):
                if len(self._cuts) >= CUT_CACHE_SIZE:
                    break
                if text not in self._cuts:
                    self._cuts[text] = tuple(map(sys.intern, cut))
                    n += 1
        return n

    def cut_many(self, texts: Iterable[str], *, jobs: int | None = 1, batch_size: int = CUT_BATCH_SIZE) -> int:
        """Segment, in ``jobs`` processes, the lines of ``texts`` not yet remembered, and remember their tokens.

        Later calls of :meth:`cut` and :meth:`tokenize` on these texts then
        only look the tokens up: TF-IDF on 10^5 paragraphs spends most of its
        time in jieba, and the paragraphs are independent. The tokens are the
        same whatever ``jobs`` is: every worker builds the same tokenizer from
        the same word lists (checked by :attr:`lexicon_hash`). ``jobs`` means
        what it means in :func:`analysis.parallel.map_ordered`; work that
        fits in one batch runs here. At most :data:`CUT_CACHE_SIZE`
        lines are remembered, so lines beyond that are left to be cut when
        they are used (logged). Returns the number of lines cut.
        """
        seen: set[str] = set()
        todo: list[str] = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"`texts` must hold str, got {type(text).__name__}.")
            for line in text.split("\n") if "\n" in text and "\r" not in text else (text,):
                if line not in seen and line not in self._cuts:
                    seen.add(line)
                    todo.append(line)
        room = CUT_CACHE_SIZE - len(self._cuts)
        if len(todo) > room:
            logger.info("cut_many: %d new lines but room for %d remembered ones; the other %d are cut when used.",
                        len(todo), max(room, 0), len(todo) - max(room, 0))
            todo = todo[: max(room, 0)]
        cut = functools.partial(_jieba_cut, self, self.lexicon_hash)
        for line, tokens in zip(todo, parallel.map_ordered(cut, todo, jobs=jobs, batch_size=batch_size),
                                strict=True):
            self._remember(line, tuple(map(sys.intern, tokens)))
        return len(todo)

    def _jieba_cut(self, line: str) -> list[str]:
        return self.tokenizer.lcut(unicodedata.normalize("NFKC", line), HMM=self.hmm)

    def _remember(self, text: str, tokens: tuple[str, ...]) -> None:
        with self._cuts_lock:
            if len(self._cuts) >= CUT_CACHE_SIZE:
                self._cuts.popitem(last=False)  # the oldest
            self._cuts[text] = tokens

    def _cut_line(self, text: str) -> tuple[str, ...]:
        tokens = self._cuts.get(text)
        if tokens is None:
            tokens = tuple(map(sys.intern, self._jieba_cut(text)))
            self._remember(text, tokens)
        return tokens

    @property
    def stop_words(self) -> frozenset[str]:
        """Stop words that this segmenter returns as one token.

        Entries it would split (so they could never match a token) and pure
        punctuation are left out, with an INFO log naming them
        (scikit-learn's ``_check_stop_words_consistency`` idea).
        """
        if self._stop_words is None:
            self._stop_words = _STOP_WORDS.get(self.lexicon_hash)
        if self._stop_words is None:
            kept, split = [], []
            for word in self._stopword_candidates:
                if not RE_HAS_LETTER.search(word):
                    continue
                (kept if self.cut(word) == [word] else split).append(word)
            if split:
                logger.info("%d stop words of %s are not single tokens for this segmenter and are ignored: %s",
                            len(split), self.stopwords_path.name, " ".join(split))
            self._stop_words = _STOP_WORDS[self.lexicon_hash] = frozenset(kept)
        return self._stop_words

    def _keep(self, token: str, drop_generic: bool) -> bool:
        if token in self.stop_words or (drop_generic and token in self.generic_terms):
            return False
        if len(token) == 1:
            return token in self.keep_single_chars
        if RE_NUMBER_TOKEN.fullmatch(token):
            return False
        return RE_HAS_LETTER.search(token) is not None

    def tokenize(self, text: str, *, drop_generic: bool = True) -> list[str]:
        """Content tokens of ``text`` for TF-IDF (see :func:`tokenize`)."""
        if not isinstance(text, str):
            raise TypeError(f"`text` must be str, got {type(text).__name__}.")
        decisions = self._decisions[drop_generic]
        out = []
        for token in self.cut(text):
            keep = decisions.get(token)
            if keep is None:
                keep = decisions[token] = self._keep(token, drop_generic)
            if keep:
                out.append(token.lower() if token.isascii() else token)
        return out


def _jieba_cut(segmenter: Segmenter, lexicon_hash: str, line: str) -> list[str]:
    """jieba's tokens of one line (module level, so that worker processes can run it).

    A worker rebuilds the segmenter from its word lists; ``lexicon_hash`` is the caller's, so a list
    edited meanwhile is an error, not tokens of another lexicon.
    """
    if segmenter.lexicon_hash != lexicon_hash:
        raise RuntimeError(
            f"the word lists of {segmenter!r} changed while its texts were being segmented "
            f"(lexicon hash {lexicon_hash[:12]} expected); run the step again."
        )
    return segmenter._jieba_cut(line)


@functools.lru_cache(maxsize=8)
def _cached_segmenter(key: tuple[str, str, str, str, bool], stamps: tuple[tuple[int, int], ...]) -> Segmenter:
    d, s, g, k, hmm = key
    return Segmenter(domain_terms_path=d, stopwords_path=s, generic_terms_path=g, keep_single_chars_path=k, hmm=hmm)


def get_segmenter(
    *,
    domain_terms_path: str | Path = DOMAIN_TERMS_PATH,
    stopwords_path: str | Path = STOPWORDS_PATH,
    generic_terms_path: str | Path = GENERIC_TERMS_PATH,
    keep_single_chars_path: str | Path = KEEP_SINGLE_CHARS_PATH,
    hmm: bool = True,
) -> Segmenter:
    """The process-wide :class:`Segmenter` for these word lists (rebuilt when a file changes)."""
    files = [Path(p) for p in (domain_terms_path, stopwords_path, generic_terms_path, keep_single_chars_path)]
    stamps = []
    for file in files:
        try:
            stat = file.stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"word list not found: {file}") from None
        stamps.append((stat.st_mtime_ns, stat.st_size))
    key = (*(str(f.resolve()) for f in files), bool(hmm))
    return _cached_segmenter(key, tuple(stamps))


def tokenize(text: str, *, segmenter: Segmenter | None = None, drop_generic: bool = True) -> list[str]:
    """Split ``text`` into content tokens for TF-IDF, in text order.

    Parameters
    ----------
    text : str
        One paragraph (or any Chinese text).
    segmenter : Segmenter or None, default=None
        ``None`` uses :func:`get_segmenter` with the shipped word lists.
    drop_generic : bool, default=True
        Also drop the campaign-generic words of ``generic_terms.txt``.

    Returns
    -------
    list of str
        jieba tokens (domain terms whole), without stop words, numbers
        (digits, Chinese numerals, a number with one measure word, ordinals),
        punctuation, symbols and whitespace, and without one-character words
        except those of ``keep_single_chars.txt``. ASCII words are lower-cased;
        the text is NFKC-normalised first (full-width letters and digits).

    Raises
    ------
    TypeError
        If ``text`` is not a str.
    """
    return (segmenter or get_segmenter()).tokenize(text, drop_generic=drop_generic)
