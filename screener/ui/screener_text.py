"""Words the Screener page shows: the match headline, why a result is empty.

Pure functions (no Streamlit) so the wording can be tested on hand-made funnels.
"""

from __future__ import annotations

from screener.db import Funnel

def match_headline(count: int, total: int) -> str:
    """"23 of 1,998 stocks match"; "1 of 1,998 stocks matches"."""
    return f"{count:,} of {total:,} stocks {'matches' if count == 1 else 'match'}"


def explain_empty(funnel: Funnel) -> str | None:
    """Why nothing matches, in one or two plain sentences; None when something matches.

    The useful answer is the near miss: the filters that are the *only* obstacle for
    some stocks (relaxing one alone brings them back).  When no filter is ever the only
    obstacle, every near miss fails two or more filters, so the sentence names the step
    where the list first runs dry instead.  Filter descriptions are English from the
    catalog and may hold values from a link: escape before rendering as Markdown.
    """
    if funnel.matches > 0:
        return None
    if not funnel.steps:
        return "The snapshot holds no stocks."
    count = len(funnel.steps)
    lead = "No stock passes the filter." if count == 1 else f"No stock passes all {count} filters."
    if count == 1:
        step = funnel.steps[0]
        return f"{lead} '{step.description}' removes all {funnel.total:,} stocks."
    blockers = sorted((s for s in funnel.steps if s.only_blocker > 0), key=lambda s: -s.only_blocker)
    if blockers:
        first = blockers[0]
        sentence = (f"{lead} Relaxing '{first.description}' alone would bring back "
                    f"{first.only_blocker:,}.")
        others = [f"'{s.description}' alone, {s.only_blocker:,}" for s in blockers[1:3]]
        if others:
            sentence += f" Also: {'; '.join(others)}."
        return sentence
    dry = next(s for s in funnel.steps if s.remaining == 0)
    return (f"{lead} No single filter is the only obstacle: every stock fails at least two. "
            f"The list runs dry at '{dry.description}'.")
