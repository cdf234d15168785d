"""The web UI in a real Chromium (Playwright) against a real store of the demo corpus.

Answers are extractive (no LLM) or come from a scripted stand-in LLM, so the file runs in a few minutes; the
embedded LLM is exercised by the e2e tests. Screenshots go to test-artifacts/ (the lookup one also to
docs/screenshot.png, used by the README); the measured times (Enter to sources, to the answer, to the first
verified sentence on screen) to test-artifacts/ui-timings.json — recorded, never asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOOKUP = "Which attack builds a universal adversarial patch against CLIP-like encoders?"
COMPARE = ("How do GroCo and AMCL each change the way positive- and negative-pair similarities enter the "
           "contrastive loss?")
UNANSWERABLE = "Which paper proposes a method for optical flow estimation between consecutive video frames?"
UI_TIMEOUT = 30_000  # ms; extractive answers take ~1 s, the first one also warms the embedder

# In CI (make test installs chromium) a missing browser fails instead of skipping silently.
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Debian chromium is not installed")]


_SCROLL_TO_END = ("el => { for (const e of [el, ...el.querySelectorAll('*')]) "
                  "if (e.scrollHeight > e.clientHeight) e.scrollTop = e.scrollHeight; window.scrollTo(0, 1e6); }")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The demo corpus ingested into a tmp store, served in-process on a free loopback port."""
    from assistant.corpus import ingest_paths
    from assistant.embed import MiniLMEmbedding
    from assistant.service import Assistant
    from assistant.settings import Settings
    from ui.app import build_app, launch

    root = tmp_path_factory.mktemp("ui")
    settings = Settings(store=root / "chroma", cache_dir=root / "cache", extractive=True, port=free_port())
    embedder = MiniLMEmbedding(threads=settings.llm_threads, cache_dir=settings.cache_dir)
    ingest_paths([DEMO], settings, embedder=embedder)
    assistant = Assistant(settings, embedder=embedder)
    app = build_app(assistant)
    launch(app, settings, prevent_thread_lock=True, quiet=True)
    timings: dict[str, float] = {}
    yield SimpleNamespace(url=f"http://127.0.0.1:{settings.port}/", assistant=assistant, timings=timings)
    app.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui-timings.json").write_text(json.dumps(timings, indent=2) + "\n")


@pytest.fixture(scope="session")
def browser(server):
    """One headless Chromium context for the session; every request any page makes is recorded."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT)  # the assertions' own wait (5 s by default) is not the context's
    requests: list[str] = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True)
        context.set_default_timeout(UI_TIMEOUT)
        context.on("request", lambda request: requests.append(request.url))
        yield SimpleNamespace(context=context, requests=requests)
        context.close()
        chromium.close()


@pytest.fixture
def ui(browser, server, request):
    """A fresh page (= a fresh Gradio session) on the app; records dialogs; screenshots itself at the end."""
    page = browser.context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(server.url)
    page.locator("#question textarea").wait_for()
    yield SimpleNamespace(page=page, dialogs=dialogs, timings=server.timings)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{request.node.name}.png"))
    page.close()


def _ask(ui, question: str, label: str):
    """Ask through the textbox + Enter; returns the final answer message once it is rendered."""
    from playwright.sync_api import expect

    page = ui.page
    box = page.locator("#question textarea")
    box.fill(question)
    step = page.locator("#chat").get_by_text(re.compile(r"Retrieved \d+ papers?"))
    start = time.perf_counter()
    box.press("Enter")
    expect(step.first).to_be_visible()
    ui.timings[f"enter_to_sources_s[{label}]"] = round(time.perf_counter() - start, 3)
    answer = page.locator('#chat [data-testid="bot"]').last
    expect(answer).to_contain_text(re.compile(r"References|Not found"))
    ui.timings[f"enter_to_answer_s[{label}]"] = round(time.perf_counter() - start, 3)
    return answer


def _paper_count(page) -> int:
    return int(re.search(r"Papers:\s*(\d+)", page.locator("#status").inner_text()).group(1))


def _upload(page, path: Path) -> None:
    """Add a file in the Corpus tab and wait for the ingest report."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Corpus").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))
    # Gradio renders the stem and the extension in separate cells ("zebras .jsonl"); match either form.
    expect(page.locator("#upload")).to_contain_text(re.compile(rf"{re.escape(path.stem)}\s*{re.escape(path.suffix)}"))
    page.locator("#add-files").click()
    expect(page.locator("#ingest-note")).to_contain_text("added", timeout=60_000)


def test_lookup_cites_and_links_to_the_source_card(ui):
    from playwright.sync_api import expect

    page = ui.page
    answer = _ask(ui, LOOKUP, "lookup")
    expect(answer).to_contain_text("Extractive answer")
    link = answer.locator('a[href^="#src-"]').first
    expect(link).to_have_text("[1]")
    card = page.locator("#sources").locator("#" + link.get_attribute("href")[1:])
    expect(card).to_contain_text("AdvCLIP")
    expect(card.locator("mark").first).to_be_visible()  # the supporting sentence is highlighted
    # Open every other card's abstract and scroll the panel to its end, so the click has to bring the card back.
    page.locator("#sources").evaluate("el => el.querySelectorAll('details').forEach(d => d.open = true)")
    page.locator("#sources").evaluate(_SCROLL_TO_END)
    expect(card).not_to_be_in_viewport(ratio=0.9)
    link.click()
    expect(card).to_have_class(re.compile(r"\bpc-highlight\b"))
    expect(card).to_be_in_viewport(ratio=0.9)
    assert urlparse(page.url).fragment == ""  # handled in the page, no navigation
    # The README screenshot: the other papers collapsed again, the cited card highlighted.
    page.locator("#sources").evaluate("el => el.querySelectorAll('details').forEach(d => d.open = false)")
    link.click()
    page.wait_for_timeout(600)  # let the smooth scroll settle
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-lookup.png"))
    (ROOT / "docs").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))


def test_comparison_renders_a_table(ui):
    from playwright.sync_api import expect

    answer = _ask(ui, COMPARE, "comparative")
    table = answer.locator("table")
    expect(table).to_be_visible()
    expect(table.locator("th").first).to_have_text("aspect")
    expect(table).to_contain_text("approach")
    expect(table.locator("thead")).to_contain_text("Learning by Sorting")
    expect(table.locator("thead")).to_contain_text("Adaptive Multi")
    assert table.locator('a[href^="#src-"]').count() >= 2  # cells cite their paper
    mark = table.locator(".pc-v").first  # and carry the verifier's mark for the phrase against that paper
    expect(mark).to_have_text(re.compile(r"^[✓?✗]$"))
    expect(mark).to_have_attribute("title", re.compile(r"^(Verified|Unverified|Contradicted): "))


def test_unanswerable_question_shows_the_refusal_state(ui):
    from playwright.sync_api import expect

    from assistant.prompts import NOT_FOUND

    answer = _ask(ui, UNANSWERABLE, "refusal")
    expect(answer).to_contain_text("Not found")
    expect(answer).to_contain_text(NOT_FOUND)
    expect(answer.locator('a[href^="#src-"]')).to_have_count(0)
    expect(ui.page.locator("#sources")).to_contain_text("No retrieved abstract answers this question")


def test_uploaded_paper_is_counted_and_cited(ui, tmp_path):
    from playwright.sync_api import expect

    page = ui.page
    paper = {"id": "glimmerfold-2025", "authors": ["Ada Papercraft", "Ben Folder"], "published": "2025-01-15",
             "title": "Glimmerfold: Origami Crease Patterns as Priors for Radiance Fields of Paper Sculptures",
             "abstract": "Folded paper sculptures are hard to reconstruct because their sheets are thin and "
                         "self-occluding. We propose Glimmerfold, which predicts the origami crease pattern of a "
                         "sculpture and uses it as a geometric prior for a neural radiance field. On forty "
                         "scanned paper cranes, crease priors halve the depth error of the reconstruction.",
             "url": "https://example.org/glimmerfold", "categories": ["cs.CV"]}
    path = tmp_path / "glimmerfold.jsonl"
    path.write_text(json.dumps(paper) + "\n", encoding="utf-8")
    before = _paper_count(page)
    _upload(page, path)
    expect(page.locator("#status")).to_contain_text(f"Papers: {before + 1}")
    page.locator("#paper-search input, #paper-search textarea").first.fill("glimmer")
    expect(page.locator("#papers")).to_contain_text("Glimmerfold: Origami Crease Patterns")
    page.get_by_role("tab", name="Chat").click()
    # Asked by name: a topical question is at the mercy of a Chroma 1.5.9 bug (chunks added to a store that
    # already holds data are sometimes missing from nearest-neighbour results), reported to the store's owner.
    answer = _ask(ui, "What does Glimmerfold use as a prior for neural radiance fields?", "upload")
    expect(answer).to_contain_text("Glimmerfold")
    link = answer.locator('a[href^="#src-"]').first
    card = page.locator("#sources").locator("#" + link.get_attribute("href")[1:])
    expect(card).to_contain_text("Glimmerfold: Origami Crease Patterns")
    expect(card.locator('a[href="https://example.org/glimmerfold"]')).to_have_count(1)
    with page.expect_download() as info:
        page.locator("#export-bib").click()
    bib = Path(info.value.path()).read_text(encoding="utf-8")
    for field in ("@misc{glimmerfold-2025,", "author = {Ada Papercraft and Ben Folder}", "year = {2025}",
                  "url = {https://example.org/glimmerfold}"):
        assert field in bib, bib
    # Filters set in the Corpus tab apply to the next question: only the uploaded paper has this author.
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#author input, #author textarea").first.fill("Papercraft")
    page.locator("#apply-filters").click()
    page.get_by_role("tab", name="Chat").click()
    expect(page.locator("#filter-note")).to_contain_text("author Papercraft")
    page.locator("#question textarea").fill("Which papers study adversarial attacks?")
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#chat").get_by_text("Retrieved 1 paper", exact=True)).to_be_visible()


def test_export_markdown_and_bibtex(ui):
    page = ui.page
    _ask(ui, LOOKUP, "export")
    with page.expect_download() as info:
        page.locator("#export-md").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".md")
    assert "## Q1. Which attack builds a universal adversarial patch against CLIP" in text
    assert "**References**" in text
    assert re.search(r"^- \\\[1\\\] AdvCLIP: Downstream", text, re.MULTILINE), text
    with page.expect_download() as info:
        page.locator("#export-bib").click()
    bib = Path(info.value.path()).read_text(encoding="utf-8")
    assert bib.startswith("@misc{advclip-downstream-agnostic"), bib
    assert "title = {AdvCLIP: Downstream-agnostic Adversarial Examples" in bib


def test_html_in_titles_and_abstracts_stays_inert(ui, tmp_path):
    from playwright.sync_api import expect

    page = ui.page
    title = "Counting Zebras with Stripe Transformers <img src=x onerror=alert(1)>"
    script = "<script>alert(2)</script>"
    paper = {"id": "zebra-stripes", "title": title, "authors": ["Eve <b>Mallory</b>"], "published": "2024-03-01",
             "abstract": f"We count zebras in aerial savanna images with stripe-aware transformers {script} that "
                         "attend along stripe directions. Stripe attention improves zebra counting accuracy on "
                         "three aerial wildlife survey datasets.",
             "url": "javascript:alert(3)"}
    path = tmp_path / "zebras.jsonl"
    path.write_text(json.dumps(paper) + "\n", encoding="utf-8")
    _upload(page, path)
    page.locator("#paper-search input, #paper-search textarea").first.fill("zebras")
    expect(page.locator("#papers")).to_contain_text(title)
    page.get_by_role("tab", name="Chat").click()
    answer = _ask(ui, f'Summarise "{title}".', "html")  # the question itself carries the payload too
    expect(answer).to_contain_text(script)
    sources = page.locator("#sources")
    expect(sources).to_contain_text(title)
    expect(sources).to_contain_text(script)
    expect(sources).to_contain_text("Eve <b>Mallory</b>")
    page.locator("#chat").get_by_text(re.compile(r"Retrieved \d+ papers?")).first.click()  # open the step
    expect(page.locator("#chat")).to_contain_text(title)
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    for where in ("#chat", "#sources", "#papers"):
        assert page.locator(f"{where} img, {where} script, {where} b").count() == 0, where
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert ui.dialogs == []


def test_every_request_stays_on_localhost(ui, browser):
    from playwright.sync_api import expect

    page = ui.page
    page.get_by_text("Summarise the AdvCLIP paper.").click()  # an example fills the textbox
    expect(page.locator("#question textarea")).to_have_value("Summarise the AdvCLIP paper.")
    answer = _ask(ui, "Summarise the AdvCLIP paper.", "summary")
    expect(answer).to_contain_text("AdvCLIP")
    assert browser.requests, "no requests were recorded"
    outside = [u for u in browser.requests
               if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert outside == []


class ScriptedLLM:
    """A scripted stand-in for the LLM boundary: streams a canned reply word by word. Its first word waits for
    `go`, so a test decides what is on screen before the "model" speaks, without timing anything."""

    label = "scripted stand-in"

    def __init__(self, reply: str, per_word: float = 0.0, gated: bool = False):
        self.reply = reply
        self.per_word = per_word
        self.go = threading.Event()
        if not gated:
            self.go.set()
        self.tokens = 0
        self.closed = False

    def stream(self, system: str, user: str, **options):
        try:
            self.go.wait(60)
            for word in self.reply.split():
                time.sleep(self.per_word)
                self.tokens += 1
                yield word + " "
        finally:
            self.closed = True

    def close(self) -> None:
        self.go.set()


SLOW_REPLY = "AdvCLIP builds a universal adversarial patch that fools every downstream task. " * 40


def _wait_closed(llm: ScriptedLLM) -> None:
    deadline = time.monotonic() + 10
    while not llm.closed and time.monotonic() < deadline:
        time.sleep(0.1)


def _ask_with_llm(ui, server, monkeypatch, llm: ScriptedLLM, question: str = LOOKUP):
    """Ask with the LLM path on (Extractive unchecked) and `llm` as the model; returns the last bot message."""
    from playwright.sync_api import expect

    page = ui.page
    monkeypatch.setattr(server.assistant, "_llm", llm)
    page.locator("#extractive input").uncheck()
    retrieved = page.locator("#chat").get_by_text(re.compile(r"Retrieved \d+ papers?"))
    before = retrieved.count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    expect(retrieved).to_have_count(before + 1)
    return page.locator('#chat [data-testid="bot"]').last


def test_stop_mid_stream_with_scripted_llm_keeps_only_verified_text(ui, server, monkeypatch):
    from playwright.sync_api import expect

    page = ui.page
    llm = ScriptedLLM(SLOW_REPLY, per_word=0.1)
    last = _ask_with_llm(ui, server, monkeypatch, llm)
    expect(last).to_contain_text("AdvCLIP builds a universal")  # the model's sentences, each checked, stream in
    page.locator("#stop").click()
    expect(page.locator("#chat")).to_contain_text("Stopped")
    last = page.locator('#chat [data-testid="bot"]').last
    expect(last).not_to_contain_text("AdvCLIP builds a universal")  # the model's unfinished answer is gone
    expect(last).to_contain_text("AdvCLIP")  # the verified extracts stay, cited and linked to their cards
    link = last.locator('a[href^="#src-"]').first
    expect(page.locator("#sources").locator("#" + link.get_attribute("href")[1:])).to_contain_text("AdvCLIP")
    _wait_closed(llm)
    assert llm.closed, "the LLM stream kept running after Stop"
    assert llm.tokens < len(SLOW_REPLY.split()), llm.tokens
    # The next question (extractive again) is answered at once: no slot or state left behind by the stopped one.
    page.locator("#extractive input").check()
    page.locator("#question textarea").fill(LOOKUP)
    page.locator("#question textarea").press("Enter")
    expect(page.locator('#chat [data-testid="bot"]').last).to_contain_text("Extractive answer —")
    expect(page.locator('#chat a[href^="#src-2-1"]').first).to_be_visible()


def test_stop_before_the_scripted_llms_first_token_takes_effect_at_once(ui, server, monkeypatch):
    from playwright.sync_api import expect

    page = ui.page
    llm = ScriptedLLM(SLOW_REPLY, gated=True)  # a model still reading its prompt until the test says go
    _ask_with_llm(ui, server, monkeypatch, llm)
    page.locator("#stop").click()
    expect(page.locator("#chat")).to_contain_text("Stopped")
    assert llm.tokens == 0  # Stop took effect while the model had not said a word
    llm.go.set()
    _wait_closed(llm)
    assert llm.closed and llm.tokens <= 1, (llm.closed, llm.tokens)  # closed at its first token


def test_verified_draft_is_shown_first_then_replaced_by_the_scripted_llms_answer(ui, server, monkeypatch, record_property):
    """Issue 14: verified extracts on screen right after evidence selection, before the model's first word."""
    from playwright.sync_api import expect

    page = ui.page
    llm = ScriptedLLM("AdvCLIP constructs a universal adversarial patch for a set of natural images that can fool "
                      "all the downstream tasks [1].", gated=True)
    monkeypatch.setattr(server.assistant, "_llm", llm)
    page.locator("#extractive input").uncheck()
    page.locator("#question textarea").fill(LOOKUP)
    last = page.locator('#chat [data-testid="bot"]').last
    start = time.perf_counter()
    page.locator("#question textarea").press("Enter")
    expect(last).to_contain_text("Verified extracts")
    shown_s = round(time.perf_counter() - start, 3)
    ui.timings["enter_to_first_verified_sentence_s[draft]"] = shown_s
    record_property("enter_to_first_verified_sentence_s", shown_s)
    print(f"Enter to first verified sentence on screen: {shown_s} s")
    assert llm.tokens == 0  # on screen before the model's first word
    expect(last.locator(".pc-v-supported").first).to_be_visible()
    expect(last.locator('a[href^="#src-"]').first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-draft.png"))
    llm.go.set()
    expect(last).to_contain_text("References")
    expect(last).not_to_contain_text("Verified extracts")
    expect(last).to_contain_text("AdvCLIP constructs a universal adversarial patch")
    expect(last).not_to_contain_text("Extractive answer")


class _RejectingStandInJudge:
    """A stand-in judge that accepts nothing it is asked about (the draft's verbatim quotes never reach a judge)."""

    def judge_many(self, items):
        from assistant.records import Verdict

        return [Verdict("not_enough_info", 0.0, (), "stand-in: rejects everything") for _ in items]


def test_scripted_llm_text_that_fails_verification_leaves_the_verified_draft(ui, server, monkeypatch):
    """The UI's side of a failed check: the user keeps the verified draft. The judge is a stand-in so the test does
    not depend on the verifier's calibration (the trained one accepted this off-topic sentence at p=0.44)."""
    from playwright.sync_api import expect

    monkeypatch.setattr(server.assistant.answerer, "judge", _RejectingStandInJudge())
    llm = ScriptedLLM("Bananas ripen faster next to apples because apples release ethylene gas [1].")
    last = _ask_with_llm(ui, server, monkeypatch, llm)
    expect(last).to_contain_text("could not be checked against the abstracts")
    expect(last).to_contain_text("universal adversarial patch")  # the draft's verified quote
    expect(last).not_to_contain_text("Bananas")
    expect(last.locator('a[href^="#src-"]').first).to_be_visible()


def test_verdict_marks_show_their_evidence_on_hover_and_click(ui):
    from playwright.sync_api import expect

    answer = _ask(ui, LOOKUP, "marks")
    mark = answer.locator(".pc-v-supported").first
    expect(mark).to_have_text("✓")
    expect(mark).to_have_attribute("title", re.compile(r"^Verified: “.*AdvCLIP.*”$"))  # shown on hover
    mark.click()
    expect(mark).to_have_class(re.compile(r"\bpc-open\b"))  # the evidence shown inline after the mark
    assert "we propose AdvCLIP" in mark.evaluate("el => getComputedStyle(el, '::after').content")


class _NegationStandInJudge:
    """A stand-in judge used only while main's default judge is the resemblance baseline, which cannot tell a
    claim from its negation: a sentence with "not" is judged contradicted by the premise the baseline found.
    Once the trained verifier is the default, the test below runs against it instead."""

    def __init__(self, base):
        self.base = base

    def judge_many(self, items):
        from assistant.records import Verdict

        verdicts = self.base.judge_many(items)
        return [Verdict("contradicted", 0.02, v.evidence, "stand-in: negation") if " not " in f" {claim} " else v
                for (claim, _), v in zip(items, verdicts, strict=True)]


def test_contradicted_sentence_from_scripted_llm_is_marked_with_its_evidence(ui, server, monkeypatch):
    """Issue 12: a sentence the cited abstract contradicts gets the ✗ mark and the deciding sentence on hover."""
    from playwright.sync_api import expect

    answerer = server.assistant.answerer
    if type(answerer.judge).__name__ == "ResemblanceJudge":
        monkeypatch.setattr(answerer, "judge", _NegationStandInJudge(answerer.judge))
    llm = ScriptedLLM("AdvCLIP constructs a universal adversarial patch for a set of natural images that can fool "
                      "all the downstream tasks [1]. AdvCLIP does not construct a universal adversarial patch for "
                      "natural images [1].")
    last = _ask_with_llm(ui, server, monkeypatch, llm)
    expect(last).to_contain_text("References")
    mark = last.locator(".pc-v-contradicted")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text("✗")
    expect(mark).to_have_attribute("title", re.compile(r"^Contradicted: “.*universal adversarial patch"))
    expect(last.locator("del, s").filter(has_text="does not construct")).to_have_count(1)  # struck through
    expect(last).to_contain_text("contradicted by the cited abstract")
    expect(last.locator(".pc-v-supported").first).to_be_visible()  # the true sentence is still verified
    mark.click()
    expect(mark).to_have_class(re.compile(r"\bpc-open\b"))


ADVCLIP_ID = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


def test_check_a_claim_shows_each_papers_verdict_with_its_quote(ui):
    from playwright.sync_api import expect

    page = ui.page
    page.get_by_role("tab", name="Check a claim").click()
    page.locator("#claim input, #claim textarea").first.fill(
        "AdvCLIP constructs a universal adversarial patch that fools downstream tasks.")
    page.locator("#check-claim").click()
    rows = page.locator("#claim-result tr.pc-claim")
    advclip = rows.filter(has_text="AdvCLIP: Downstream-agnostic")
    expect(advclip).to_have_count(1)
    expect(advclip).to_contain_text("supports")
    expect(advclip).to_contain_text("“AdvCLIP aims to construct a universal adversarial patch")
    assert rows.count() > 1  # without paper ids, the best-matching papers are judged
    page.locator("#claim-papers input, #claim-papers textarea").first.fill(ADVCLIP_ID)
    page.locator("#check-claim").click()
    expect(rows).to_have_count(1)
    page.locator("#claim-papers input, #claim-papers textarea").first.fill("no-such-paper")
    page.locator("#check-claim").click()
    expect(page.get_by_text("'no-such-paper' is not in the store")).to_be_visible()
