"""Render a small markdown subset to an A4 PDF with reportlab.

Usage:
    python scripts/make_pdf.py SOURCE.md OUTPUT.pdf
    python scripts/make_pdf.py --all      # rebuild the repo's two PDFs (the internship summary with a
                                          # "not official" notice in every page's footer)

Supported syntax: "# Title", "## Heading", "### Sub", "- bullet" lines
(consecutive ones form one list), blank-line separated paragraphs (wrapped
lines are joined with spaces), inline `code` and **bold**, and a line
"<<<PAGEBREAK>>>" on its own to force a page break.

Output is deterministic (reportlab's invariant mode), so rebuilding an
unchanged source gives a byte-identical PDF.
"""
import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate

# No timestamps or random document ids: re-runs must be byte-identical.
rl_config.invariant = 1

REPO = Path(__file__).resolve().parent.parent
NOT_OFFICIAL = ("Nem hivatalos hallgatói összefoglaló (2023/2024) – a hivatalos szabályok: "
                "https://www.aut.bme.hu/SzakmaiGyakorlat/")
DOCUMENTS = [  # (source, output, footer notice or None) built by --all, relative to the repo root
    ("data/course_notes/course_notes.md", "data/course_notes/course_notes.pdf", None),
    ("data/szakmai_gyakorlat/osszefoglalo_forras.md", "data/szakmai_gyakorlat/osszefoglalo.pdf", NOT_OFFICIAL),
]
AUTHOR = "Laci-bot labs"

# Built-in Helvetica has no ő/ű glyphs, so embed DejaVu, which ships with matplotlib.
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
for name in ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"):
    pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))
# Lets <b> inside a DejaVuSans paragraph switch to the bold face.
pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                              italic="DejaVuSans", boldItalic="DejaVuSans-Bold")

_base = getSampleStyleSheet()
STYLES = {
    "body": ParagraphStyle("Body", _base["BodyText"], fontName="DejaVuSans",
                           fontSize=10, leading=14, spaceAfter=6),
    "#": ParagraphStyle("T", _base["Title"], fontName="DejaVuSans-Bold", fontSize=18, leading=23),
    "##": ParagraphStyle("H2", _base["Heading2"], fontName="DejaVuSans-Bold", keepWithNext=1),
    "###": ParagraphStyle("H3", _base["Heading3"], fontName="DejaVuSans-Bold", keepWithNext=1),
}
HEADING = re.compile(r"^(#{1,3}) +(.*)$")


def inline(text):
    """Markdown inline markup -> reportlab Paragraph XML (escaping &, <, >)."""
    parts = text.split("`")  # odd-numbered parts are inside `code` spans
    out = []
    for i, part in enumerate(parts):
        part = escape(part)
        if i % 2:
            out.append(f'<font face="DejaVuSansMono">{part}</font>')
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", part))
    return "".join(out)


def parse(lines):
    """Turn markdown lines into (title, flowables)."""
    title, story, para, items = None, [], [], []

    def flush():  # close the open paragraph or bullet list, if any
        if para:
            story.append(Paragraph(inline(" ".join(para)), STYLES["body"]))
            para.clear()
        if items:
            story.append(ListFlowable(
                [ListItem(Paragraph(inline(t), STYLES["body"])) for t in items],
                bulletType="bullet", start="•", bulletFontName="DejaVuSans", leftIndent=14))
            items.clear()

    for raw in lines:
        line = raw.strip()
        heading = HEADING.match(line)
        if not line or line == "<<<PAGEBREAK>>>" or heading or line.startswith("- "):
            flush()
        if line == "<<<PAGEBREAK>>>":
            story.append(PageBreak())
        elif heading:
            level, text = heading.groups()
            if level == "#" and title is None:
                title = text
            story.append(Paragraph(inline(text), STYLES[level]))
        elif line.startswith("- "):
            items.append(line[2:].strip())
        elif line and items:  # a wrapped bullet line continues the last item
            items[-1] += " " + line
        elif line:
            para.append(line)
    flush()
    return title, story


def footer_with(notice=None):
    """A page callback: the centred page number, with ``notice`` (e.g. "not official") above it on every page."""
    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("DejaVuSans", 9)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"– {doc.page} –")
        if notice:
            canvas.setFont("DejaVuSans", 7.5)
            canvas.drawCentredString(A4[0] / 2, 1.65 * cm, notice)
        canvas.restoreState()
    return footer


def build(source, output, notice=None):
    source, output = Path(source), Path(output)
    title, story = parse(source.read_text(encoding="utf-8").splitlines())
    doc = SimpleDocTemplate(str(output), pagesize=A4, invariant=1,
                            initialFontName="DejaVuSans",  # no stray Helvetica resource
                            leftMargin=2.2 * cm, rightMargin=2.2 * cm,
                            topMargin=2 * cm, bottomMargin=2.2 * cm,
                            title=title or source.stem, author=AUTHOR)
    doc.build(story, onFirstPage=footer_with(notice), onLaterPages=footer_with(notice))
    print(f"wrote {output} ({doc.page} pages)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", nargs="?", help="markdown source file")
    ap.add_argument("output", nargs="?", help="PDF file to write")
    ap.add_argument("--all", action="store_true", help="build the repo's standard PDFs")
    args = ap.parse_args()
    if args.all:
        jobs = [(REPO / s, REPO / o, notice) for s, o, notice in DOCUMENTS]
    elif args.source and args.output:
        jobs = [(Path(args.source), Path(args.output), None)]
    else:
        ap.error("give SOURCE.md and OUTPUT.pdf, or --all")
    for source, output, notice in jobs:
        if not source.is_file():  # a clear message instead of a traceback
            sys.exit(f"error: source file not found: {source}")
        build(source, output, notice)


if __name__ == "__main__":
    main()
