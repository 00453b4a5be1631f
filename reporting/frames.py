"""pandas helpers every report shares: a total order over mixed values, ordered groups, Markdown and LaTeX.

Reports keep the order the runs table gives them (configurations sorted by their key), so figures
and tables come out the same whatever order the files were found in.
"""

import math

import pandas as pd


def sort_value(value):
    """A key that orders None (and NaN), numbers and strings together without raising on mixed types."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0, str(value))


def plain(value):
    """NaN, as pandas fills a missing setting, back to None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def ordered_groups(frame, fields, sort=True):
    """[(dict of the group's values, sub-frame)] in sorted order of the values (sort=False: in order of first
    appearance); rows keep their order."""
    if frame.empty:
        return []
    grouped = frame.groupby(list(fields), sort=False, dropna=False)
    groups = [(tuple(plain(value) for value in (key if isinstance(key, tuple) else (key,))), rows)
              for key, rows in grouped]
    if sort:
        groups.sort(key=lambda item: tuple(sort_value(value) for value in item[0]))
    return [(dict(zip(fields, key)), rows) for key, rows in groups]


def varying_settings(settings_list, names):
    """Those of `names` with more than one value among the settings dicts that have them (a setting of one
    method family does not vary just because another family's configurations lack it)."""
    return [name for name in names if len({settings[name] for settings in settings_list if name in settings}) > 1]


def where(frame, **fields):
    """Rows whose columns equal the given values (a list or tuple means any of them; None matches a missing
    value, NaN included, as ordered_groups reports it)."""
    keep = pd.Series(True, index=frame.index)
    for name, wanted in fields.items():
        column = frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        values = list(wanted) if isinstance(wanted, (list, tuple)) else [wanted]
        present = [value for value in values if plain(value) is not None]
        matches = column.isin(present)
        if len(present) < len(values):
            matches |= column.isna()
        keep &= matches
    return frame[keep]


def markdown_table(headers, rows, right_aligned=(), notes=()):
    """A Markdown table; the columns whose indices are in `right_aligned` are right-aligned; notes follow,
    one paragraph each."""
    cells = [[str(cell).replace("|", "\\|") for cell in row] for row in rows]
    align = ["---:" if index in right_aligned else "---" for index in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    for note in notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text):
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def latex_table(headers, rows, left, under="", notes=()):
    """A booktabs tabular: the first `left` columns left-aligned, the others right-aligned; the notes as comments
    above it and `under`, a short line, as small text under its last rule (inside the tabular, so it travels with
    it)."""
    spec = "l" * left + "r" * (len(headers) - left)
    lines = [f"% {note}" for note in notes] + ["% Needs \\usepackage{booktabs}.",
                                               f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                                               " & ".join(latex_escape(h) for h in headers) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    lines.append("\\bottomrule")
    if under:
        lines.append(f"\\multicolumn{{{len(headers)}}}{{l}}{{\\footnotesize {latex_escape(under)}}} \\\\")
    lines.append("\\end{tabular}")
    return "\n".join(lines) + "\n"
