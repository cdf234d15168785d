"""The "Check a claim" tab: which papers support a claim, which contradict it, each with its quote."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass

import gradio as gr

from assistant.errors import PaperchatError
from assistant.records import ClaimCheck
from assistant.service import Assistant
from ui.render import VERDICTS, safe_url

log = logging.getLogger(__name__)

LABELS = {"supported": "supports", "contradicted": "contradicts", "not_enough_info": "not enough info"}
EMPTY = ('<p class="pc-muted">Type a claim to see which papers support it and which contradict it, each with the '
         'sentence that decided it. Leave the paper ids empty to check the best-matching papers.</p>')


@dataclass
class ClaimsTab:
    """The claim-check tab's components."""

    claim: gr.Textbox
    paper_ids: gr.Textbox
    check: gr.Button
    result: gr.HTML


def claims_tab() -> ClaimsTab:
    """Lay out the claim-check tab (call inside a gr.Tab)."""
    gr.Markdown("### Check a claim against the abstracts")
    with gr.Row():
        claim = gr.Textbox(label="Claim", placeholder="AdvCLIP attacks cross-modal pre-trained encoders.", scale=5,
                           elem_id="claim")
        paper_ids = gr.Textbox(label="Paper ids (optional, comma-separated)", scale=2, elem_id="claim-papers")
        check = gr.Button("Check", variant="primary", scale=0, min_width=90, elem_id="check-claim")
    result = gr.HTML(EMPTY, elem_id="claim-result")
    return ClaimsTab(claim, paper_ids, check, result)


def wire_claims(tab: ClaimsTab, assistant: Assistant, concurrency: int) -> None:
    """Connect the claim-check events (call inside the Blocks)."""

    def check(claim: str, ids: str) -> str:
        return claim_html(run_check(assistant, claim, ids))

    for trigger in (tab.check.click, tab.claim.submit):
        trigger(check, [tab.claim, tab.paper_ids], [tab.result], api_visibility="private", concurrency_id="assistant",
                concurrency_limit=concurrency)


def run_check(assistant: Assistant, claim: str, ids: str = "") -> ClaimCheck:
    """assistant.check_claim with the user's input checked; errors raised as gr.Error."""
    claim = " ".join((claim or "").split())
    if not claim:
        raise gr.Error("Type a claim first, e.g. 'AdvCLIP attacks cross-modal pre-trained encoders.'")
    paper_ids = [p for p in re.split(r"[\s,;]+", ids or "") if p] or None
    try:
        return assistant.check_claim(claim, paper_ids=paper_ids)
    except PaperchatError as exc:
        log.warning("checking %r failed: %s", claim, exc)
        raise gr.Error(str(exc), print_exception=False) from None
    except Exception:
        log.exception("checking %r failed", claim)
        raise gr.Error("Checking the claim failed unexpectedly — the details are in the server log.") from None


def claim_html(check: ClaimCheck) -> str:
    """One row per paper: label with its mark, score, the quoted evidence sentence; every string escaped."""
    if not check.verdicts:
        return '<p class="pc-refused">⊘ No paper in the store was found to check this claim against.</p>'
    rows = []
    # Supporting papers first, then contradicting ones, then the rest; the strongest first within each.
    order = list(LABELS)
    ranked = sorted(check.verdicts, key=lambda sv: (order.index(sv[1].label) if sv[1].label in order else 3,
                                                    -sv[1].score))
    for source, verdict in ranked:
        symbol, _ = VERDICTS.get(verdict.label, VERDICTS["not_enough_info"])
        url = safe_url(source.url)
        title = html.escape(source.title)
        if url:
            title = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
        quote = " ".join(" ".join(e.split()) for e in verdict.evidence)
        evidence = f"“{html.escape(quote)}”" if quote else '<span class="pc-muted">no sentence states it</span>'
        reason = f'<div class="pc-muted">{html.escape(verdict.reason)}</div>' if verdict.reason else ""
        rows.append(f'<tr class="pc-claim pc-claim-{html.escape(verdict.label)}">'
                    f'<td>{title}<div class="pc-id">{html.escape(source.id)}</div></td>'
                    f'<td><span class="pc-v pc-v-{html.escape(verdict.label)}">{symbol}</span> '
                    f'{LABELS.get(verdict.label, html.escape(verdict.label))}</td>'
                    f'<td>{verdict.score:.2f}</td><td>{evidence}{reason}</td></tr>')
    head = "<tr><th>paper</th><th>verdict</th><th>score</th><th>evidence</th></tr>"
    return (f'<div class="pc-claims"><p class="pc-q">{html.escape(check.claim)}</p>'
            f'<table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>')
