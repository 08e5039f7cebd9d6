"""Export executed notebooks to self-contained HTML pages that read without running anything.

    python tools/export_notebooks.py [--src build/notebooks] [--out docs/notebooks]

``make reproduce`` (``tools/run_notebooks.py``) calls it at the end. Each ``NN_name.ipynb`` of
``--src`` becomes ``--out/NN_name.html``, plus ``index.html`` listing them (and the ablation
explorer's static page, ``explorer.html``, when ``tools/export_explorer.py`` wrote it).

The pages load nothing from the network: no require.js, no MathJax, no web font, no widget manager.

* LaTeX in markdown (cells and ``display(Markdown(...))`` outputs) is converted to MathML here
  (``latex2mathml``, pure Python), which browsers render natively; a formula it cannot convert is
  shown as its LaTeX source in ``<code>``.
* Figures stay embedded as PNG data URIs; videos that notebooks embed stay data URIs.
* An exercise's hint (``<details><summary>Hint</summary>`` in markdown) keeps its text inside
  the element, closed until a click (``nest_details``).
* A code cell tagged ``solution`` (jupytext: ``# %% tags=["solution"]``), an exercise's worked
  solution, is collapsed: the page shows "Solution (click to open)" and the cell, code and output,
  inside a ``<details>`` element (no script needed).
* ipywidgets have no kernel to talk to: a tqdm progress bar is drawn with its final state (from the
  widget state papermill saved; its elapsed time and rate left out), an interactive control is replaced by a note that links the
  static explorer.
* Deterministic: the same executed notebooks give byte-identical pages (no timestamps, execution
  times or random ids are written; papermill's timing metadata is dropped).
"""
from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
INTERACTIVE_NOTE = ('An interactive control (ipywidgets): it needs a live kernel. Without one, the '
                    'explorer of the shipped models (Table 3 models, the ablation variants, probes, seeds) is a static page: <a href="explorer.html">explorer.html</a>.')

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
pre, code { font-family: ui-monospace, monospace; font-size: 0.86em; }
.jp-InputArea pre, .input_area pre, div.highlight pre { background: #f6f8fa; padding: 0.6em;
       overflow-x: auto; border-left: 3px solid #cfe2f3; }
.output_area pre, .jp-OutputArea pre { background: none; border: none; padding: 0.2em 0.6em; overflow-x: auto; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
.prompt, .jp-InputPrompt, .jp-OutputPrompt { display: none; }
.widget-static { font-family: ui-monospace, monospace; font-size: 0.85em; color: #555; margin: 0.3em 0; }
.widget-note { background: #fff8e1; border-left: 3px solid #f0b400; padding: 0.4em 0.8em; margin: 0.4em 0; }
math[display="block"] { margin: 0.6em 0; }
code.latex-fallback { color: #a00; }
details.solution { border-left: 3px solid #9fc5a8; padding: 0.2em 0.6em; margin: 0.4em 0; }
details.solution > summary { cursor: pointer; color: #38761d; font-weight: 600; }
nav.pages a { margin-right: 1em; }
"""


# ----------------------------------------------------------------------------- LaTeX -> MathML
def latex_to_mathml(tex: str, block: bool) -> str:
    """MathML for one formula (``display="block"`` for display math); its LaTeX in ``<code>`` if
    latex2mathml cannot convert it."""
    import latex2mathml.converter
    try:
        return latex2mathml.converter.convert(tex.strip(), display="block" if block else "inline")
    except Exception:
        return f'<code class="latex-fallback">{html.escape(tex)}</code>'


def _exporter():
    """nbconvert's ``basic`` template (a body fragment, no scripts) with math rendered to MathML."""
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body: str) -> str:
            return latex_to_mathml(body, block=True)

        def inline_math(self, body: str) -> str:
            return latex_to_mathml(body, block=False)

        def latex_environment(self, name: str, body: str) -> str:
            return latex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", block=True)

    class Exporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}),
                                      embed_images=True, path="", anchor_link_text=self.anchor_link_text,
                                      exclude_anchor_links=True, **self.lexer_options)
            return MarkdownWithMath(renderer=renderer).render(source)

    return Exporter(template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True,
                    embed_images=True)


# ----------------------------------------------------------------------------- widgets
def _widget_html(view: dict, state: dict, note: str) -> str:
    """Static HTML for a widget output: a tqdm bar's final state, or the note for a control."""
    model = state.get(view.get("model_id"), {})
    s = model.get("state", {})
    if "widget-interact" in s.get("_dom_classes", []):
        return f'<div class="widget-note">{note}</div>'
    parts = []
    for ref in s.get("children", []):
        child = state.get(str(ref).removeprefix("IPY_MODEL_"), {})
        cs = child.get("state", {})
        if child.get("model_name") == "FloatProgressModel":
            parts.append(f'<progress value="{cs.get("value", 0)}" max="{cs.get("max", 1)}"></progress>')
        elif child.get("model_name") == "HTMLModel":     # tqdm's "64/64 [00:44<00:00, 2.18it/s]": no times
            parts.append(re.sub(r"\s*\[[^\]]*\]", "", str(cs.get("value", ""))))
    if not parts:
        return '<div class="widget-static">(an ipywidgets output: needs a live kernel)</div>'
    return f'<div class="widget-static">{" ".join(parts)}</div>'


def strip_markup(text: str) -> str:
    """A markdown heading as plain text: no emphasis, code or math marks."""
    return re.sub(r"[*_`$]", "", text).strip()


def clean_notebook(nb, note: str = INTERACTIVE_NOTE):
    """The notebook as the page shows it: widget views replaced by static HTML, timing and
    papermill metadata dropped, cell ids made stable (their index), and every figure given an
    ``alt`` text (an output's own ``alt`` metadata, else its place: "Figure 2 of section ...")."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    title, section, count = notebook_title(nb, "this notebook"), None, {}
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{k}"
        if cell.cell_type == "markdown":
            heads = re.findall(r"^#{2,3}\s+(.+)$", cell.source, re.M)
            section = heads[-1].strip() if heads else section
        cell.metadata = {key: v for key, v in cell.metadata.items() if key in ("tags",)}
        if "injected-parameters" in cell.metadata.get("tags", []) and not cell.source.startswith("# The values"):
            # papermill's copy of the parameters cell: say why the page shows the parameters twice
            cell.source = ("# The values this page was executed with (injected by papermill from the params file "
                           "given to tools/run_notebooks.py); they override the cell above.\n" + cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                out["data"] = {"text/html": _widget_html(data[WIDGET_VIEW], state, note)}
            if "image/png" in data:              # a figure: its alt text says where it stands
                where = section or "the introduction"
                count[where] = count.get(where, 0) + 1
                alt = out.get("metadata", {}).get("alt") or (
                    f"Figure {count[where]} of section \u201c{strip_markup(where)}\u201d of {strip_markup(title)}"
                    " (its title and labels are drawn in the image)")
                png = "".join(data["image/png"]) if isinstance(data["image/png"], list) else data["image/png"]
                out["data"] = {"text/html": f'<img src="data:image/png;base64,{png.strip()}" '
                                            f'alt="{html.escape(alt, quote=True)}">'}
            if "execution_count" in out:
                out["execution_count"] = None
        if "execution_count" in cell:
            cell["execution_count"] = None
    nb.metadata = {"language_info": {"name": "python"}}
    return nb


# ----------------------------------------------------------------------------- pages
def page(title: str, body: str, nav: str = "") -> str:
    from pygments.formatters import HtmlFormatter
    css = CSS + HtmlFormatter(style="default").get_style_defs(".highlight")   # code colours, inline
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            f"{nav}\n{body}\n</body>\n</html>\n")


def notebook_title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


# ----------------------------------------------------------------------------- solutions
SOLUTION_SUMMARY = "Solution (click to open)"


def _div_close(body: str, start: int) -> tuple[int, int]:
    """(start, end) of the ``</div>`` that closes the ``<div`` opening at ``start``."""
    depth, tag = 0, re.compile(r"<div\b|</div\s*>")
    for m in tag.finditer(body, start):
        depth += 1 if m.group(0).startswith("<div") else -1
        if depth == 0:
            return m.start(), m.end()
    raise ValueError("unbalanced <div> in the exported page")


def collapse_solutions(body: str, tag: str = "solution") -> str:
    """Wrap the content of every cell tagged ``tag`` (nbconvert gives it the class
    ``celltag_<tag>``) in ``<details class="solution">`` so that the page shows the exercise's
    solution only on a click."""
    opening = re.compile(r'<div class="[^"]*\bcelltag_' + re.escape(tag) + r'(?=[\s"])[^"]*"[^>]*>')
    out, pos = [], 0
    for m in opening.finditer(body):
        if m.start() < pos:                      # nested in a cell already wrapped
            continue
        close, end = _div_close(body, m.start())
        out += [body[pos:m.end()], f'\n<details class="solution"><summary>{SOLUTION_SUMMARY}</summary>',
                body[m.end():close], "</details>\n"]
        pos = close                              # the cell's own </div> follows
    return "".join(out) + body[pos:]


EMPTY_DETAILS = re.compile(r"(<details\b[^>]*>\s*<summary>.*?</summary>)\s*</details>\s*", re.S)


def nest_details(body: str) -> str:
    """Put a markdown ``<details>`` block's content back inside it. In a markdown cell, an exercise's
    hint is ``<details><summary>Hint</summary>``, a blank line, markdown, ``</details>``; the
    markdown renderer ends the raw HTML block at the blank line and closes the element there, so the
    page showed an empty "Hint" and the hint's text always open below it. The content runs to the
    end of the enclosing element (the markdown cell's ``</div>``)."""
    out, pos = [], 0
    for m in EMPTY_DETAILS.finditer(body):
        if m.start() < pos:
            continue
        depth, end = 0, len(body)
        for t in re.finditer(r"<div\b|</div\s*>", body[m.end():]):
            depth += 1 if t.group(0).startswith("<div") else -1
            if depth < 0:
                end = m.end() + t.start()
                break
        out += [body[pos:m.start()], m.group(1), "\n", body[m.end():end].rstrip(), "\n</details>\n"]
        pos = end
    return "".join(out) + body[pos:]


def export_notebook(src: Path, out: Path, note: str = INTERACTIVE_NOTE) -> tuple[Path, str]:
    """Write ``out/<src.stem>.html``; return (path, title)."""
    import nbformat
    nb = clean_notebook(nbformat.read(src, as_version=4), note)
    title = notebook_title(nb, src.stem)
    body, _ = _exporter().from_notebook_node(nb)
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S)     # nothing to run, ever
    body = collapse_solutions(nest_details(body))
    nav = '<nav class="pages"><a href="index.html">all notebooks</a></nav>'
    dest = out / f"{src.stem}.html"
    _write(dest, page(title, body, nav))
    return dest, title


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export_all(src: Path, out: Path) -> list[Path]:
    """Every ``NN_*.ipynb`` of ``src`` to ``out`` and an index page; returns the pages written."""
    notebooks = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no executed notebooks (NN_*.ipynb) in {src}: run tools/run_notebooks.py first")
    out.mkdir(parents=True, exist_ok=True)
    written, rows = [], []
    for nb in notebooks:
        dest, title = export_notebook(nb, out)
        written.append(dest)
        rows.append(f'<li><a href="{dest.name}">{html.escape(title)}</a> '
                    f'({dest.stat().st_size / 1e6:.1f} MB)</li>')
    if (out / "explorer.html").exists():
        rows.append('<li><a href="explorer.html">The explorer, static</a>: every shipped model (Table 3, the ablation variants, probes, seeds) '
                    'side by side on held-out sentences, no kernel needed</li>')
    body = ("<h1>The notebooks, executed</h1>\n<p>Each page is a notebook as <code>make reproduce</code> "
            "executed it: its figures, tables and formulas are in the page, which loads nothing from the "
            "network. The sources are <code>notebooks/NN_*.py</code>.</p>\n<ul>\n" + "\n".join(rows) + "\n</ul>")
    index = out / "index.html"
    _write(index, page("Lip Movements Generation at a Glance: the notebooks", body))
    return written + [index]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=str(ROOT / "build" / "notebooks"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "notebooks"))
    args = ap.parse_args(argv)
    try:
        pages = export_all(Path(args.src), Path(args.out))
    except (FileNotFoundError, ImportError) as e:
        print(f"export_notebooks: error: {e}", file=sys.stderr)
        return 2
    for p in pages:
        print(f"  {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
