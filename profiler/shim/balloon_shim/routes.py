"""Route templates from raw paths (plain WSGI) and from Django's regex routes (re_path, url()).

Both give what a report groups by and a reader recognises: "/users/<int>/orders/<id>",
"/feed/<slug>/" rather than "^feed/(?P<slug>[-\\w]+)/$".
"""
import re

_INT_SEGMENT = re.compile(r"[0-9]+")
_ID_SEGMENT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}")
# A file-like segment keeps its extension: a CalDAV item "<uuid>.ics", "/reports/42.pdf".
_EXTENSION = re.compile(r"(.+)(\.[A-Za-z][A-Za-z0-9]{0,4})", re.DOTALL)
# path() routes never hold these; a regex route nearly always does (anchors, groups, escapes).
_REGEX_SYNTAX = re.compile(r"[\^$\\()\[\]?*+|{}]")
_BRACES = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


def fold_path(path):
    """"/users/42/orders/9f86d081884c7d65" -> "/users/<int>/orders/<id>": group raw paths by shape.
    As record/fold-path.ts and the gunicorn recorder fold them (one table tests all three)."""
    return "/".join(_fold_segment(segment) for segment in path.split("/"))


def _fold_segment(segment):
    named = _EXTENSION.fullmatch(segment)
    stem, extension = named.groups() if named else (segment, "")
    if _INT_SEGMENT.fullmatch(stem):
        return "<int>" + extension
    if _ID_SEGMENT.fullmatch(stem):
        return "<id>" + extension
    return segment


def django_template(route):
    """"/"-rooted template of a Django ResolverMatch.route: path() routes as they are
    ("users/<int:uid>/"), regex routes converted (regex_template)."""
    template = regex_template(route) if _REGEX_SYNTAX.search(route) else route
    return template if template.startswith("/") else "/" + template


def regex_template(pattern):
    """A URL regex as a template: named groups become <name>, unnamed groups <arg>, other
    variable parts (classes, \\d, ".*", ".+") *; anchors, lookarounds and optional parts
    (?, {0,n}, and * on anything but a wildcard) are dropped; a repeated literal ("/+") and
    an escape read as the character. A bare "." reads as the dot it almost always means."""
    try:
        return _RegexTemplate(pattern).render()
    except (IndexError, ValueError):
        return pattern  # not a regex we understand: better raw than wrong


class _RegexTemplate:
    """A small recursive-descent reader of Python's regex syntax, keeping only the shape."""

    def __init__(self, pattern):
        self.text = pattern
        self.pos = 0

    def render(self):
        out = self.alternatives(top=True)
        if self.pos != len(self.text):
            raise ValueError("unbalanced ) at %d" % self.pos)
        return out

    def alternatives(self, top=False):
        """Pieces up to the closing ")" (or the end); "a|b" as "(a|b)", or just "a|b" at the top."""
        options = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence())
        if len(options) == 1:
            return options[0]
        return "|".join(options) if top else "(" + "|".join(options) + ")"

    def sequence(self):
        pieces = []
        while self.pos < len(self.text) and self.peek() not in "|)":
            piece, kind = self.atom()
            low, many = self.quantifier()
            wildcard = kind == "wild" or (kind == "dot" and many)
            if low == 0 and not (wildcard and many):
                continue  # an optional part: the template shows the route without it
            pieces.append("*" if wildcard else piece)  # a repeated literal ("/+") reads as itself
        return "".join(pieces)

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def atom(self):
        """(text, kind) of the next atom; kind: "literal", "dot" (a bare "." reads as a dot),
        "wild" (a class or \\d-like escape) or "group" (its text is what it renders as)."""
        char = self.text[self.pos]
        self.pos += 1
        if char in "^$":
            return "", "literal"
        if char == ".":
            return ".", "dot"
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape()
        if char == "(":
            return self.group(), "group"
        return char, "literal"

    def escape(self):
        char = self.text[self.pos]
        self.pos += 1
        if char in "AZbBGz":
            return "", "literal"  # anchors and word boundaries
        if char in "dDwWsS":
            return "*", "wild"
        return char, "literal"

    def char_class(self):
        start = self.pos
        if self.peek() == "^":
            self.pos += 1
        if self.peek() == "]":
            self.pos += 1  # a leading "]" is literal
        while self.text[self.pos] != "]":
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        body = self.text[start:self.pos]
        self.pos += 1
        literal = body[1:] if body.startswith("\\") and len(body) == 2 else body
        if len(literal) == 1 and literal != "^":
            return literal, "literal"  # "[.]" is an escaped dot
        return "*", "wild"

    def group(self):
        """What a group renders as: <name>, <arg>, its content, or nothing (lookarounds, flags)."""
        if not self.text.startswith("?", self.pos):
            self.alternatives()
            self.expect(")")
            return "<arg>"
        self.pos += 1
        kind = self.peek()
        if self.text.startswith("P<", self.pos):
            end = self.text.index(">", self.pos)
            name = self.text[self.pos + 2:end]
            self.pos = end + 1
            self.alternatives()
            self.expect(")")
            return "<%s>" % name
        if self.text.startswith("P=", self.pos):
            end = self.text.index(")", self.pos)
            name = self.text[self.pos + 2:end]
            self.pos = end + 1
            return "<%s>" % name
        if kind == "#":
            self.pos = self.text.index(")", self.pos) + 1
            return ""
        if kind == ":":
            self.pos += 1
            inner = self.alternatives()
            self.expect(")")
            return inner
        if (kind and kind in "=!") or self.text.startswith(("<=", "<!"), self.pos):
            self.alternatives()
            self.expect(")")
            return ""  # lookaround: matches no text
        # Inline flags: "(?i)" alone, or scoped "(?i:...)".
        while self.peek() not in ":)":
            self.pos += 1
        if self.peek() == ")":
            self.pos += 1
            return ""
        self.pos += 1
        inner = self.alternatives()
        self.expect(")")
        return inner

    def expect(self, char):
        if self.peek() != char:
            raise ValueError("expected %r at %d" % (char, self.pos))
        self.pos += 1

    def quantifier(self):
        """(lowest count, more than one allowed) of the quantifier at pos; (1, False) when none
        (a "{" that is no quantifier is a literal, read by the next atom())."""
        char = self.peek()
        if char and char in "?*+":
            self.pos += 1
            low, many = {"?": (0, False), "*": (0, True), "+": (1, True)}[char]
        else:
            braces = _BRACES.match(self.text, self.pos) if char == "{" else None
            if braces is None:
                return 1, False
            self.pos = braces.end()
            low = int(braces.group(1) or 0)
            high = braces.group(3) if braces.group(2) else braces.group(1)
            many = not high or int(high) > 1
        if self.peek() and self.peek() in "?+":
            self.pos += 1  # lazy or possessive: same shape
        return low, many
