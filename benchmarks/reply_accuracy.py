"""Measure how well reply parsers keep only the text a person wrote.

Usage: python benchmarks/reply_accuracy.py CORPUS_DIR [--repeat N]

CORPUS_DIR holds one folder per test set, each in the layout its source
project uses (see `_SET_LOADERS`). For every set the script reports, per
parser, the share of messages whose output matches the expected text after
folding whitespace, and messages per second of CPU time over the set's
inputs.

Tandem runs `strip_quoted` and `strip_signature` (after `extract_text` for
.eml input). talon, email-reply-parser and mail-parser-reply are optional
benchmark-only dependencies; a parser that does not import is reported as
missing and skipped.

Each expected text says what its source project removes: "quote" (quoted
history only, signatures kept), "signature" (signature only) or "both".
Tandem and talon run the matching steps. email-reply-parser and
mail-parser-reply have one operation that removes both, so they run it in
every mode.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from addon.inbound.body import decode_part, extract_text
from addon.inbound.html import html_to_text
from addon.inbound.quotes import strip_quoted
from addon.inbound.signatures import strip_signature


@dataclass(frozen=True)
class Check:
    """One expectation on a parser's output: equals, contains or lacks."""

    kind: str
    value: str


@dataclass
class Case:
    """One input message and what a correct parser returns for it."""

    name: str
    raw: bytes
    form: str  # "text", "html" or "eml"
    mode: str  # "quote", "signature" or "both"
    checks: list[Check] = field(default_factory=list)


def fold(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def squeeze(text: str) -> str:
    """Remove all whitespace, for expectations that were given as HTML."""
    return re.sub(r"\s+", "", text)


class _VisibleText(HTMLParser):
    """Collect all text nodes, dropping nothing but scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """Return every visible text node of `html`, with no quote detection."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


# --- loading the sets -------------------------------------------------------


def _load_trimmer(folder: Path) -> Iterator[Case]:
    """emails/<n>.txt with the kept reply in trimmed/<n>.txt."""
    for path in sorted((folder / "test" / "emails").glob("*.txt")):
        expected = folder / "test" / "trimmed" / path.name
        if not expected.exists():
            continue
        checks = [Check("equals", expected.read_text(encoding="utf-8"))]
        yield Case(path.name, path.read_bytes(), "text", "both", checks)


_GITHUB_CHECKS = {
    "parse_reply_equals": "equals",
    "reply_strip_equals": "equals",
    "reply_contains": "contains",
    "parse_reply_not_contains": "lacks",
}


def _load_reply_parser(folder: Path) -> Iterator[Case]:
    """expected.json with checks on the visible reply of each fixture."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    for relative, entries in sorted(expected.items()):
        if relative.startswith("_"):
            continue
        checks = [
            Check(_GITHUB_CHECKS[entry["check"]], entry["expected"])
            for entry in entries
            if entry["check"] in _GITHUB_CHECKS
        ]
        if checks:
            raw = (folder / relative).read_bytes()
            yield Case(relative, raw, "text", "both", checks)


_LATEST_REPLY_CHECKS = {
    "reply_field_equals": "equals",
    "reply_field_contains": "contains",
    "reply_field_not_contains": "lacks",
}


def _load_multilingual(folder: Path) -> Iterator[Case]:
    """expected.json with checks on the body of the latest reply (index 0)."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    for relative, entries in sorted(expected.items()):
        if relative.startswith("_"):
            continue
        checks = [
            Check(_LATEST_REPLY_CHECKS[entry["check"]], entry["expected"])
            for entry in entries
            if entry["check"] in _LATEST_REPLY_CHECKS
            and entry.get("index") == 0
            and entry.get("field") == "body"
        ]
        if checks:
            raw = (folder / relative).read_bytes()
            yield Case(relative, raw, "text", "both", checks)


def _load_talon(folder: Path) -> Iterator[Case]:
    """Standard .eml replies, HTML replies and the extracted inline cases."""
    fixtures = json.loads(
        (folder / "expected_fixtures.json").read_text(encoding="utf-8")
    )
    yield from _talon_fixture_cases(folder, fixtures)

    inline = json.loads(
        (folder / "extracted" / "inline_cases.json").read_text(encoding="utf-8")
    )
    yield from _talon_inline_cases(inline)


def _talon_fixture_cases(folder: Path, fixtures: dict) -> Iterator[Case]:
    for pattern, form in (
        ("tests/fixtures/standard_replies/*.eml", "eml"),
        ("tests/fixtures/html_replies/*.html", "html"),
    ):
        for relative, expected in fixtures[pattern]["cases"].items():
            check = Check("equals" if form == "eml" else "squeezed", expected)
            raw = (folder / relative).read_bytes()
            yield Case(relative, raw, form, "quote", [check])


def _talon_inline_cases(inline: dict) -> Iterator[Case]:
    # Cases that patch talon's internals test talon, not the kind of input.
    for entry in inline["plain"]:
        if entry.get("decorators"):
            continue
        name = f"{entry['test']}#{entry['case']}"
        check = Check("equals", entry["expected"])
        yield Case(name, entry["input"].encode(), "text", "quote", [check])

    for entry in inline["html"]:
        name = f"{entry['test']}#{entry['case']}"
        check = Check("squeezed", visible_text(entry["expected"]))
        yield Case(name, entry["input"].encode(), "html", "quote", [check])

    for entry in inline["signature_bruteforce"]:
        name = f"{entry['test']}#{entry['case']}"
        check = Check("equals", entry["expected"][0])
        yield Case(name, entry["input"].encode(), "text", "signature", [check])


_SET_LOADERS: dict[str, Callable[[Path], Iterator[Case]]] = {
    "discourse-email_reply_trimmer": _load_trimmer,
    "github-email_reply_parser": _load_reply_parser,
    "zapier-email-reply-parser": _load_reply_parser,
    "alfonsrv-mail-parser-reply": _load_multilingual,
    "mailgun-talon": _load_talon,
}


# --- parsers ----------------------------------------------------------------

Parser = Callable[[Case], str]


def _first_plain_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return decode_part(part)
    return ""


def _plain_input(case: Case) -> str:
    """The input as plain text, for parsers that only read plain text."""
    if case.form == "eml":
        return _first_plain_text(case.raw)
    text = case.raw.decode("utf-8", errors="replace")
    return visible_text(text) if case.form == "html" else text


def tandem(case: Case) -> str:
    """Run Tandem's steps that the case's mode names."""
    if case.form == "eml":
        msg = email.message_from_bytes(case.raw, policy=email.policy.default)
        text = extract_text(msg)
    elif case.form == "html":
        text = html_to_text(case.raw.decode("utf-8", errors="replace"))
    else:
        text = case.raw.decode("utf-8", errors="replace")

    if case.mode != "signature":
        text = strip_quoted(text)
    if case.mode != "quote":
        text = strip_signature(text)
    if case.form == "html":
        # Tandem writes a blockquote it keeps as `>` lines; the expected
        # text of an HTML case is the visible text, which has no such marks.
        text = _QUOTE_MARKS.sub("", text)
    return text


_QUOTE_MARKS = re.compile(r"^(?:> ?)+", re.MULTILINE)


def _talon_parser() -> Parser:
    from talon import quotations
    from talon.signature.bruteforce import extract_signature

    def run(case: Case) -> str:
        if case.form == "html":
            html = quotations.extract_from_html(case.raw.decode("utf-8", "replace"))
            text = visible_text(html)
        else:
            text = _plain_input(case)
            if case.mode != "signature":
                text = quotations.extract_from_plain(text)
        if case.mode != "quote":
            text = extract_signature(text)[0]
        return text

    return run


def _email_reply_parser() -> Parser:
    from email_reply_parser import EmailReplyParser

    return lambda case: EmailReplyParser.parse_reply(_plain_input(case))


def _mail_parser_reply() -> Parser:
    from mailparser_reply import EmailReplyParser
    from mailparser_reply.constants import MAIL_LANGUAGES

    parser = EmailReplyParser(languages=list(MAIL_LANGUAGES))
    return lambda case: parser.parse_reply(_plain_input(case))


_PARSER_FACTORIES: dict[str, Callable[[], Parser]] = {
    "talon": _talon_parser,
    "email-reply-parser": _email_reply_parser,
    "mail-parser-reply": _mail_parser_reply,
}


def load_parsers() -> dict[str, Parser | None]:
    """Return every parser by name, None for a package that does not import."""
    parsers: dict[str, Parser | None] = {"tandem": tandem}
    for name, factory in _PARSER_FACTORIES.items():
        try:
            parsers[name] = factory()
        except ImportError as error:
            print(f"{name}: not installed ({error}); skipped", file=sys.stderr)
            parsers[name] = None
    return parsers


# --- scoring ----------------------------------------------------------------


def passes(output: str, check: Check) -> bool:
    """Tell whether `output` meets `check`, comparing folded whitespace."""
    if check.kind == "squeezed":
        return squeeze(output) == squeeze(check.value)
    if check.kind == "equals":
        return fold(output) == fold(check.value)
    if check.kind == "contains":
        return fold(check.value) in fold(output)
    return fold(check.value) not in fold(output)


@dataclass
class Score:
    """Matches and time of one parser on one set."""

    matched: int = 0
    total: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def score(parser: Parser, cases: list[Case], repeat: int) -> Score:
    """Run `parser` over `cases`, counting matches once and timing `repeat` runs."""
    result = Score(total=len(cases))
    for case in cases:
        try:
            output = parser(case)
        except Exception:  # a crashing parser scores a miss
            output = "\0crashed"
        if all(passes(output, check) for check in case.checks):
            result.matched += 1
        else:
            result.failures.append(case.name)

    # CPU time of this process, so that other programs sharing the cores do
    # not slow the figures down; every parser runs on one thread.
    started = time.process_time()
    for _ in range(repeat):
        for case in cases:
            try:
                parser(case)
            except Exception:  # a crash is timed like any other input
                continue
    result.seconds = time.process_time() - started
    return result


def _report_line(set_name: str, parser_name: str, result: Score, repeat: int) -> str:
    share = 100.0 * result.matched / result.total if result.total else 0.0
    rate = result.total * repeat / result.seconds if result.seconds else 0.0
    return (
        f"| {set_name} | {parser_name} | {result.matched}/{result.total} "
        f"| {share:.0f}% | {rate:,.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Print a Markdown table of matches and speed per set and parser."""
    arguments = _parse_arguments(argv)
    corpus = Path(arguments.corpus)
    parsers = load_parsers()

    print("| set | parser | matched | share | messages/s |")
    print("| --- | --- | --- | --- | --- |")
    for set_name, loader in _SET_LOADERS.items():
        folder = corpus / set_name
        if not folder.is_dir():
            print(f"{set_name}: folder not found in {corpus}; skipped", file=sys.stderr)
            continue

        cases = list(loader(folder))
        for parser_name, parser in parsers.items():
            if parser is None:
                print(f"| {set_name} | {parser_name} | not installed | | |")
                continue
            result = score(parser, cases, arguments.repeat)
            print(_report_line(set_name, parser_name, result, arguments.repeat))
            if arguments.failures and parser_name == "tandem":
                for name in result.failures:
                    print(f"    missed: {name}", file=sys.stderr)
    return 0


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="folder that holds one folder per test set")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs over each set (default 3)"
    )
    parser.add_argument(
        "--failures", action="store_true", help="list the cases Tandem misses"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
