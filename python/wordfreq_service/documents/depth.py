"""How deep an HTML page's elements nest, estimated from its tags before the parser sees
it: an HTML5 parser's time grows with depth times tags, so a hostile page is refused
before it is parsed (``html.py``).

The estimate follows the HTML5 tree builder's rules that close elements (WHATWG HTML,
13.2.6.4.7 "in body"), so valid and sloppy pages get their real depth: an end tag closes
the open elements above its match, unless a special element (or a scope's boundary) is in
between, where the parser ignores it; a paragraph, heading or block start closes an open
``<p>`` (and the inline elements left open in it); ``<li>``, ``<dd>``, ``<dt>`` close the
previous item. Void elements, raw text (script, style, ...) and comments do not nest.
Where the rules are too involved to follow (tables, ruby, select, adoption of misnested
formatting elements), elements are counted as never closing, or the parser's own cap
applies (``<a>``, ``<nobr>``, ``<button>``, ``<form>`` do not nest in it): the estimate
is at least the parser's depth for any input, so no page fools it into the slow case.
"""

from __future__ import annotations

import bisect
import functools
import re

#: A comment, or a start or end tag (its name in group 2, its attributes in group 3;
#: group 1 "/" for an end tag).
_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][^\s/>]*)([^>]*)>", re.DOTALL)
#: Elements whose content is text, not tags, up to their end tag.
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes plaintext".split())
#: Never pushed: void elements, and elements that close the previous one of their kind (or
#: live in tables or ruby, whose own rules pop them) and so do not deepen the tree.
_NOT_PUSHED = frozenset(
    """area base br col embed hr img input link meta param source track wbr keygen
    basefont bgsound frame image tr td th thead tbody tfoot colgroup caption html head
    body""".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
#: WHATWG's special category (what an end tag does not close through).
_SPECIAL = frozenset(
    """address applet area article aside base basefont bgsound blockquote body br button
    caption center col colgroup dd details dir div dl dt embed fieldset figcaption figure
    footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img
    input keygen li link listing main marquee menu meta nav noembed noframes noscript
    object ol p param plaintext pre script search section select source style summary
    table tbody td template textarea tfoot th thead title tr track ul wbr xmp mi mo mn ms
    mtext annotation-xml foreignobject desc""".split()
)
#: What bounds an element's scope (a search for an open element stops there).
_SCOPE = frozenset(
    "applet caption html table td th marquee object template foreignobject desc title "
    "mi mo mn ms mtext annotation-xml".split()
)
_LIST_SCOPE = _SCOPE | {"ol", "ul"}
_BUTTON_SCOPE = _SCOPE | {"button"}
#: Start tags that close an open ``<p>`` in (button) scope first.
_CLOSE_P = frozenset(
    """address article aside blockquote center details dialog dir div dl fieldset
    figcaption figure footer header hgroup main menu nav ol p search section summary ul
    h1 h2 h3 h4 h5 h6 pre listing li dd dt""".split()
)
#: End tags that close everything open above their match in scope.
_BLOCK_ENDS = frozenset(
    """address article aside blockquote center details dialog dir div dl fieldset
    figcaption figure footer header hgroup listing main menu nav ol pre search section
    summary ul""".split()
)
#: Items: a start closes the open item of its group, searching down to a special
#: element other than these.
_ITEMS = {"li": frozenset({"li"}), "dd": frozenset({"dd", "dt"}), "dt": frozenset({"dd", "dt"})}
_ITEM_SEARCH_PASSES = frozenset({"address", "div", "p"})


_ITEM_BOUNDS = _SPECIAL - _ITEM_SEARCH_PASSES
#: Formatting elements: one left open is reopened ("reconstructed") in each element that
#: follows, up to three alike (same name and attributes: the "Noah's Ark" clause), until
#: its own end tag.
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
#: Formatting elements a start of which first closes the one left open.
_SELF_CLOSING_FORMATTING = frozenset({"a", "nobr"})
_ALIKE = 3
_FOREIGN = ("svg", "math")
#: Elements that put a marker in the list of formatting elements: none before it is
#: reopened or closed from inside them.
_MARKERS = frozenset({"applet", "marquee", "object", "template"})
#: Special elements whose start reopens the formatting elements (as text does; blocks do
#: not).
_REOPENING = frozenset(
    "applet button marquee object area br embed img keygen wbr input select".split()
)
#: HTML tags that end SVG or MathML content, and what keeps them inside it.
_BREAKOUT = frozenset(
    """b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head
    hr i img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup
    table tt u ul var""".split()
)
_INTEGRATION = ("foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml")
#: A start that closes an open ``<option>`` on top.
_OPTIONS = frozenset({"option", "optgroup"})
#: Ruby's starts, and what they close above them while a ``<ruby>`` is open in scope.
_IMPLIED = frozenset("dd dt li optgroup option p rb rp rt rtc".split())
_RUBY = {"rb": _IMPLIED, "rtc": _IMPLIED, "rp": _IMPLIED - {"rtc"}, "rt": _IMPLIED - {"rtc"}}
_P = frozenset({"p"})
_LI = frozenset({"li"})


def nesting(text: str, limit: int) -> int:
    """How deep the elements of ``text`` nest (the estimate the module's docstring
    describes), stopping once past ``limit``."""
    stack = _Stack()
    deepest = 0
    pos = 0
    while True:
        found = _TOKEN.search(text, pos)
        if found is None:
            return deepest
        if found.start() > pos:
            stack.reopen()  # text: the formatting elements left open are reopened for it
        pos = found.end()
        tag = found.group(2)
        if tag is None:
            continue  # a comment
        tag = tag.lower()
        if found.group(1):
            stack.end(tag)
            continue
        if tag in _RAW_TEXT:
            end = _end_tag(tag).search(text, pos)
            pos = end.end() if end is not None else len(text)
            continue
        stack.start(tag, found.group(3))
        if len(stack.names) > deepest:
            deepest = len(stack.names)
            if deepest > limit:
                return deepest


class _Formatting:
    """An entry of the list of active formatting elements (a marker: no tag)."""

    __slots__ = ("attributes", "open", "tag")

    def __init__(self, tag: str, attributes: str) -> None:
        self.tag = tag
        self.attributes = attributes
        self.open = True  # in the stack; else reopened at the next start tag


class _Stack:
    """The open elements, with where each name and each kind of boundary is in it, so
    that finding a match or a boundary costs no walk down the stack (a page of a million
    tags under a thousand open elements stays linear), and the formatting elements left
    open, which the parser reopens below whatever follows until their own end tag."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.at: dict[str, list[int]] = {}
        self.bounds: dict[frozenset[str], list[int]] = {
            bound: [] for bound in (_SCOPE, _LIST_SCOPE, _BUTTON_SCOPE, _SPECIAL, _ITEM_BOUNDS)
        }
        self.kinds: dict[str, list[list[int]]] = {}
        self.formatting: list[_Formatting] = []
        self.form = False  # a <form> is open: another is ignored

    def start(self, tag: str, attributes: str = "") -> None:
        root = self._foreign()
        # In SVG or MathML, what closes what differs: a self-closing tag is empty, an HTML
        # tag breaks out of it (unless inside an HTML or text integration point), nothing
        # else closes on a start.
        if root >= 0 and (tag not in _BREAKOUT or not self._break_out(root)):
            if not attributes.rstrip().endswith("/"):
                self._open(tag, attributes, html=False)
            return
        if tag in _SELF_CLOSING_FORMATTING and self._listed(tag):
            self._formatting_end(tag)
        if tag == "button":
            self._close(frozenset({tag}), _SCOPE)
        if tag == "form":
            if self.form:
                return
            self.form = True
        group = _ITEMS.get(tag)
        if group is not None:
            self._close(group, _ITEM_BOUNDS)
        if tag in _CLOSE_P:
            self._close(_P, _BUTTON_SCOPE)
        top = self.names[-1] if self.names else ""
        if (tag in _HEADINGS and top in _HEADINGS) or (tag in _OPTIONS and top == "option"):
            self._truncate(len(self.names) - 1)
        implied = _RUBY.get(tag)
        if implied is not None and self._in_scope("ruby"):
            while self.names and self.names[-1] in implied:
                self._truncate(len(self.names) - 1)
        if tag in _FOREIGN and attributes.rstrip().endswith("/"):
            self.reopen()  # an empty <svg/> or <math/>: no foreign content follows
        elif tag not in _NOT_PUSHED:
            self._open(tag, attributes)
        elif tag in _REOPENING:
            self.reopen()  # a void element (<img>, <br>) is inline: it reopens them

    def _open(self, tag: str, attributes: str, html: bool = True) -> None:
        if tag not in _SPECIAL or tag in _REOPENING:
            self.reopen()
        self._push(tag)
        if html and tag in _FORMATTING:
            entry = _Formatting(tag, " ".join(sorted(attributes.split())))
            alike = [
                at
                for at in range(self._marker(), len(self.formatting))
                if (e := self.formatting[at]).tag == tag and e.attributes == entry.attributes
            ]
            if len(alike) >= _ALIKE:
                del self.formatting[alike[0]]  # Noah's Ark: the element stays open
            self.formatting.append(entry)

    def end(self, tag: str) -> None:
        if tag == "br":
            self.start(tag)  # </br> is read as <br>
            return
        root = self._foreign()
        if root >= 0 and tag == "p":
            self._break_out(root)
            root = self._foreign()
        if root >= 0:
            # An end tag closes the foreign element it names, if it is open; else it is
            # read as HTML's.
            where = self.at.get(tag)
            if where and where[-1] >= root:
                self._truncate(where[-1])
                return
        if tag in _FORMATTING:
            self._formatting_end(tag)
        elif tag == "form":
            self.form = False
            if self.names and self.names[-1] == "form":
                self._truncate(len(self.names) - 1)
        elif tag == "p":
            self._close(_P, _BUTTON_SCOPE)
        elif tag == "li":
            self._close(_LI, _LIST_SCOPE)
        elif tag in _HEADINGS:
            self._close(_HEADINGS, _SCOPE)
        elif tag in _SPECIAL:
            self._close(frozenset({tag}), _SCOPE)
        elif tag not in _NOT_PUSHED:
            # Any other end tag: closes up to its match, unless a special element is above.
            self._close(frozenset({tag}), _SPECIAL)

    def _break_out(self, root: int) -> bool:
        """Closes every SVG or MathML element above the last HTML one (unless in an
        integration point, where HTML is at home): whether it did."""
        integration = max(
            (where[-1] for t in _INTEGRATION if (where := self.at.get(t))), default=-1
        )
        if integration > root:
            return False
        self._truncate(
            min(
                where[bisect.bisect_right(where, integration)]
                for t in _FOREIGN
                if (where := self.at.get(t)) and where[-1] > integration
            )
        )
        return True

    def _foreign(self) -> int:
        """Where the topmost open ``<svg>`` or ``<math>`` is, -1 without any."""
        if not self.at.get("svg") and not self.at.get("math"):
            return -1
        return max((where[-1] for t in _FOREIGN if (where := self.at.get(t))), default=-1)

    def _listed(self, tag: str) -> bool:
        return any(e.tag == tag for e in self.formatting[self._marker() :])

    def _marker(self) -> int:
        """Where the last marker is in the list (0 without any)."""
        if not self.formatting:
            return 0
        for at in range(len(self.formatting) - 1, -1, -1):
            if not self.formatting[at].tag:
                return at
        return 0

    def _formatting_end(self, tag: str) -> None:
        # The adoption agency, in its outcome for the depth: with a special element above
        # the formatting element, that element is kept (a copy below the block): nothing
        # closes; else it and all above it close, and it leaves the list.
        where, special = self.at.get(tag), self.bounds[_SPECIAL]
        if where and special and special[-1] > where[-1]:
            return
        for at in range(len(self.formatting) - 1, -1, -1):
            if self.formatting[at].tag == tag:
                del self.formatting[at]
                break
        if where:
            self._truncate(where[-1])

    def reopen(self) -> None:
        # Reconstructs the formatting elements closed by another's end (a <p>'s, ...).
        if not self.formatting:
            return
        for entry in self.formatting[self._marker() :]:
            if not entry.open:
                entry.open = True
                self._push(entry.tag)

    def _in_scope(self, tag: str) -> bool:
        where, bound = self.at.get(tag), self.bounds[_SCOPE]
        return where is not None and bool(where) and where[-1] >= (bound[-1] if bound else -1)

    def _close(self, targets: frozenset[str], bounds: frozenset[str]) -> None:
        """Pops the topmost open element in ``targets`` and all above it, unless an
        element in ``bounds`` is above it (the target itself may be one)."""
        found = max((where[-1] for t in targets if (where := self.at.get(t))), default=-1)
        bound = self.bounds[bounds]
        if found >= 0 and found >= (bound[-1] if bound else -1):
            self._truncate(found)

    def _push(self, tag: str) -> None:
        if tag in _MARKERS:
            self.formatting.append(_Formatting("", ""))
        at = len(self.names)
        self.names.append(tag)
        self.at.setdefault(tag, []).append(at)
        for where in self._bounds_of(tag):
            where.append(at)

    def _bounds_of(self, tag: str) -> list[list[int]]:
        """The position lists of the boundary kinds ``tag`` is (worked out once)."""
        kinds = self.kinds.get(tag)
        if kinds is None:
            kinds = self.kinds[tag] = [w for b, w in self.bounds.items() if tag in b]
        return kinds

    def _truncate(self, size: int) -> None:
        while len(self.names) > size:
            name = self.names.pop()
            self.at[name].pop()
            for where in self._bounds_of(name):
                where.pop()
            if name in _MARKERS:
                del self.formatting[self._marker() :]
            elif name in _FORMATTING:
                for entry in reversed(self.formatting):
                    if entry.tag == name and entry.open:
                        entry.open = False
                        break


@functools.cache
def _end_tag(tag: str) -> re.Pattern[str]:
    return re.compile(f"</{re.escape(tag)}", re.IGNORECASE)
