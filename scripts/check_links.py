#!/usr/bin/env python3
"""Check the relative links of bankscore's Markdown documentation.

Checks every relative link and `#anchor` in README.md, BENCHMARKS.md and docs/*.md:

- the linked file or directory exists (relative to the linking file; a leading `/` means the
  repository root);
- an anchor (`#name`, or `file.md#name`) matches a heading of the target Markdown file, by
  GitHub's slug rule: the heading's text (inline Markdown removed) in lower case, every
  character that is not a letter, digit, space, hyphen or underscore removed, spaces turned into
  hyphens; a repeated heading gets `-1`, `-2`, ... in order. `<a name="...">` and `id="..."`
  anchors count too. Into a file that is not Markdown, only GitHub's line anchors (`#L10`,
  `#L10-L20`) are accepted.

Links with a scheme (`http:`, `https:`, `mailto:` ...) are not checked. Neither are links inside
fenced code blocks or inline code spans, and `#` lines inside fenced code are not headings.

Usage: python3 scripts/check_links.py [FILE.md ...]   (default: the files above)
Exit status: 0 when every link resolves, 1 otherwise (each broken link listed as file:line).
Python 3 standard library only.
"""

import os
import re
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*?\b(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
HTML_ID = re.compile(r"""<[a-z][^>]*?\bid\s*=\s*["']([^"']+)["']""", re.I)
# Inline links and images: [text](target "title") or [text](<target>).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[^)]*)?\)")
# Reference definitions: [label]: target
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")


def default_files():
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "BENCHMARKS.md")]
    docs = os.path.join(ROOT, "docs")
    if os.path.isdir(docs):
        files += sorted(
            os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md")
        )
    return [f for f in files if os.path.exists(f)]


def strip_code_spans(line):
    """Blank out inline code spans (`x`, ``x``) so that nothing inside them counts."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "`":
            j = i
            while j < len(line) and line[j] == "`":
                j += 1
            ticks = line[i:j]
            end = line.find(ticks, j)
            # A closing run must be exactly as long as the opening one.
            while end != -1 and end + len(ticks) < len(line) and line[end + len(ticks)] == "`":
                end = line.find(ticks, end + len(ticks) + 1)
            if end == -1:
                out.append(ticks)
                i = j
                continue
            out.append(" " * (end + len(ticks) - i))
            i = end + len(ticks)
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def prose_lines(text):
    """Yield (line number, line, in_fence) for every line, tracking fenced code blocks."""
    fence = None  # (character, length) of the open fence
    for number, line in enumerate(text.splitlines(), start=1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = (m.group(1)[0], len(m.group(1)))
                yield number, line, True
                continue
            yield number, line, False
        else:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] \
                    and line.strip() == m.group(1):
                fence = None
            yield number, line, True


def heading_text_to_slug(text):
    """GitHub's anchor for a heading's text."""
    text = text.strip()
    # Inline Markdown: code spans keep their content as written; images and links keep their
    # text; emphasis markers and HTML tags go.
    spans = []

    def keep(m):
        spans.append(m.group(2).strip())
        return f"\0{len(spans) - 1}\0"

    text = re.sub(r"(`+)(.+?)\1", keep, text)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*|(?<!\w)_|_(?!\w))", "", text)
    text = re.sub("\0(\\d+)\0", lambda m: spans[int(m.group(1))], text)
    text = text.lower()
    # Keep letters, digits, underscores (\w, Unicode-aware), hyphens and spaces.
    text = "".join(ch for ch in text if re.match(r"[\w\- ]", ch))
    return text.replace(" ", "-")


def anchors_of(path, cache={}):
    """Every anchor GitHub gives the Markdown file at path."""
    if path in cache:
        return cache[path]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors, seen = set(), {}

    def add(slug):
        if slug in seen:
            seen[slug] += 1
            anchors.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            anchors.add(slug)

    previous = None  # the previous prose line, for setext headings
    for _, line, in_fence in prose_lines(text):
        if in_fence:
            previous = None
            continue
        for m in HTML_ANCHOR.finditer(line):
            anchors.add(m.group(1))
        for m in HTML_ID.finditer(line):
            anchors.add(m.group(1))
        m = ATX_HEADING.match(line)
        if m:
            title = m.group(2) or ""
            title = re.sub(r"[ \t]+#+$", "", title)  # closing hashes
            if title == "#" * len(title):
                title = ""
            add(heading_text_to_slug(title))
            previous = None
            continue
        if (
            previous is not None
            and previous.strip()
            and SETEXT_UNDERLINE.match(line)
            and not previous.lstrip().startswith(("-", "*", "+", ">", "|"))
            and not re.match(r"^\s*\d+[.)]\s", previous)
        ):
            add(heading_text_to_slug(previous))
            previous = None
            continue
        previous = line
    cache[path] = anchors
    return anchors


def prose_blocks(text):
    """Yield (first line number, lines) for each run of non-blank lines outside fenced code."""
    block, start = [], None
    for number, line, in_fence in prose_lines(text):
        if in_fence or not line.strip():
            if block:
                yield start, block
            block, start = [], None
            continue
        if start is None:
            start = number
        block.append(line)
    if block:
        yield start, block


def links_of(text):
    """Yield (line number, target) for every link outside code.

    Links are searched paragraph by paragraph, so a link whose text is wrapped over two lines is
    found too; its line is the one holding the target.
    """
    for start, block in prose_blocks(text):
        joined = strip_code_spans("\n".join(block))
        for m in INLINE_LINK.finditer(joined):
            yield start + joined.count("\n", 0, m.start(1)), m.group(1)
        for offset, line in enumerate(block):
            m = REFERENCE_DEF.match(strip_code_spans(line))
            if m:
                yield start + offset, m.group(1)


def check_file(path):
    """Return a list of "file:line: message" for every broken link of path."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    rel = os.path.relpath(path, ROOT)
    problems = []
    for number, target in links_of(text):
        if target.startswith("<") and target.endswith(">"):
            target = target[1:-1]
        if not target or SCHEME.match(target):
            continue  # http(s), mailto and other schemes are not checked
        link_path, _, anchor = target.partition("#")
        link_path = urllib.parse.unquote(link_path.split("?", 1)[0])
        anchor = urllib.parse.unquote(anchor)
        if link_path:
            if link_path.startswith("/"):
                resolved = os.path.join(ROOT, link_path.lstrip("/"))
            else:
                resolved = os.path.join(os.path.dirname(path), link_path)
            resolved = os.path.normpath(resolved)
            if not os.path.exists(resolved):
                problems.append(f"{rel}:{number}: {target}: no such file {os.path.relpath(resolved, ROOT)}")
                continue
        else:
            resolved = path
        if not anchor:
            continue
        if os.path.isfile(resolved) and not resolved.endswith(".md") and LINE_ANCHOR.match(anchor):
            continue  # GitHub's line anchors into a source file: #L10, #L10-L20
        if os.path.isdir(resolved) or not resolved.endswith(".md"):
            problems.append(f"{rel}:{number}: {target}: an anchor into a file that is not Markdown")
            continue
        if anchor not in anchors_of(resolved):
            problems.append(
                f"{rel}:{number}: {target}: no heading with anchor #{anchor} in {os.path.relpath(resolved, ROOT)}"
            )
    return problems


def main(argv):
    files = [os.path.abspath(a) for a in argv[1:]] or default_files()
    problems, count = [], 0
    for path in files:
        if not os.path.exists(path):
            problems.append(f"{path}: no such file")
            continue
        with open(path, encoding="utf-8") as f:
            count += sum(1 for _, t in links_of(f.read()) if not SCHEME.match(t.strip("<>")))
        problems += check_file(path)
    for p in problems:
        print(p, file=sys.stderr)
    names = ", ".join(os.path.relpath(f, ROOT) for f in files)
    if problems:
        print(f"check_links: {len(problems)} broken of {count} relative links in {names}", file=sys.stderr)
        return 1
    print(f"check_links: {count} relative links in {len(files)} files, all resolve ({names})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
