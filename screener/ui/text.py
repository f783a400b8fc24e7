"""Showing untrusted text literally in Streamlit's Markdown-rendered elements.

Preset names and descriptions, values and notes from a shared link, company names from
a data source, and run errors that quote input all reach ``st.markdown``-rendered
elements (headers, alerts, captions, badges).  Markdown would turn ``**bold**`` bold,
``[x](javascript:..)`` into a link and ``:red[x]`` into colour; :func:`escape_markdown`
makes every such string read as the literal text it is.
"""

from __future__ import annotations

import string

#: CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped
#: character is always literal; escaping all of it also defuses Streamlit's own
#: directives (``:red[..]``, ``:material/..:``, ``$..$`` LaTeX) and raw HTML (``<``).
_MARKDOWN_SPECIAL = frozenset(string.punctuation)


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders literally (line breaks become spaces)."""
    flat = " ".join(str(text).splitlines())
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in flat)
