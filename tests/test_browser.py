"""The deploy form in a real browser: Voilà serves app/deploy_form.ipynb on 127.0.0.1, Debian's
headless Chromium drives it through Playwright the way a data scientist would (sliders, dropdown,
buttons, typing), and an independent boto3 client checks the emulator at every step.

Each step leaves a screenshot in test-artifacts/ (browser-*.png), the page's request log
(browser-requests-*.txt, asserted to stay on 127.0.0.1) and the step timings (browser-timings.json).
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

import labnet
from tests.browser_support import (CHROMIUM_ARGS, RequestLog, require_chromium, save_json, start_voila)
from tests.inspect_ec2 import inventory, total

pytestmark = pytest.mark.browser

STACK = "browser-net"
SPOKES, NODES, INSTANCE = 2, 8, "p4d.24xlarge"  # p4d: 4 network cards, so 4 IPs per node with EFA
PAGE_TIMEOUT_MS = 120_000  # first render starts a kernel and sizes against the emulator
OP_TIMEOUT_MS = 180_000  # a deploy or destroy on a shared two-core machine


# -- the page, as a person uses it ---------------------------------------------------------------------

def set_slider(page, cls: str, value: int) -> None:
    """Type a value into a slider's readout (click, select all, type, Enter), as a person can."""
    readout = page.locator(f".{cls} .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([cls, v]) => document.querySelector(`.${cls} .noUi-handle`).getAttribute('aria-valuenow') == v",
        arg=[cls, value])


def set_text(page, cls: str, value: str) -> None:
    """Replace a text box's content and press Enter (the supernet box only syncs on Enter or blur)."""
    box = page.locator(f".{cls} input")
    box.fill(value)
    box.press("Enter")


def select_instance(page, instance_type: str) -> None:
    """Pick the dropdown option for ``instance_type`` (labels read like 'p4d.24xlarge · 8× NVIDIA A100 · …')."""
    value = page.evaluate(
        """(t) => [...document.querySelectorAll('.labnet-instance-type option')]
                 .map(o => o.value).find(v => v === t || v.startsWith(t + ' '))""", instance_type)
    assert value, f"{instance_type} is not offered in the instance dropdown"
    page.locator(".labnet-instance-type select").select_option(value=value)


def text_of(page, cls: str) -> str:
    return page.locator(f".{cls}").inner_text()


def wait_text(page, cls: str, needle: str, timeout: float = PAGE_TIMEOUT_MS) -> str:
    """Wait until the element with class ``cls`` shows ``needle``; returns its text."""
    page.wait_for_function("([cls, needle]) => (document.querySelector('.' + cls)?.innerText || '').includes(needle)",
                           arg=[cls, needle], timeout=timeout)
    return text_of(page, cls)


def table(page, cls: str) -> list[dict[str, str]]:
    """The rows of the HTML table inside the element with class ``cls``, keyed by header."""
    return page.evaluate(
        """(cls) => {
             const t = document.querySelector('.' + cls + ' table');
             if (!t) return [];
             const heads = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim());
             return [...t.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
               [...tr.querySelectorAll('td')].map((td, i) => [heads[i], td.innerText.trim()])));
           }""", cls)


def wait_table(page, cls: str, expected: list[dict[str, str]], timeout: float = 30.0) -> list[dict[str, str]]:
    """Wait until the table in ``cls`` shows ``expected`` (the widgets sync one by one, so the message
    above a table can land before the table itself); returns the rows, or fails showing both."""
    deadline = time.monotonic() + timeout
    while (rows := table(page, cls)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert rows == expected
    return rows


def screenshot(page, artifacts, name: str) -> str:
    """The whole form as one image: Voilà scrolls inside #rendered_cells, so grow the window to fit it."""
    height = page.evaluate("() => document.querySelector('#rendered_cells').scrollHeight")
    size = {"width": 1280, "height": max(900, min(int(height) + 40, 12000))}
    if page.viewport_size != size:
        page.set_viewport_size(size)
        page.wait_for_timeout(200)  # let layout settle after the resize
    path = artifacts / f"browser-{name}.png"
    page.screenshot(path=str(path))
    return str(path)


RECORD_PROGRESS = """() => {
  // Every distinct state of the progress bar (its 'done/total' label and bar width), in order.
  window.__labnetProgress = [];
  const root = document.querySelector('.labnet-progress');
  const rec = () => {
    const label = root.querySelector('.widget-label')?.textContent || '';
    const width = root.querySelector('.progress-bar')?.style.width || '';
    const s = label + '|' + width;
    if (window.__labnetProgress[window.__labnetProgress.length - 1] !== s) window.__labnetProgress.push(s);
  };
  new MutationObserver(rec).observe(root, {subtree: true, attributes: true, childList: true, characterData: true});
  rec();
}"""

PARTIAL_PROGRESS = """() => {
  // While the bar is part-way (k/n with 0 < k < n, bar under 100%), a snapshot of the form taken at
  // that same instant: are the buttons off and the form marked busy?
  const label = document.querySelector('.labnet-progress .widget-label')?.textContent || '';
  const width = document.querySelector('.labnet-progress .progress-bar')?.style.width || '';
  const m = label.match(/^(\\d+)\\/(\\d+)$/);
  if (!(m && +m[1] > 0 && +m[1] < +m[2] && parseFloat(width) < 100)) return false;
  const disabled = (cls) => document.querySelector('button.' + cls).disabled;
  return {label, width, busy: document.querySelector('.labnet-deploy-form').classList.contains('labnet-busy'),
          preview: disabled('labnet-preview-button'), deploy: disabled('labnet-deploy-button'),
          destroy: disabled('labnet-destroy-button')};
}"""


# -- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture
def browser_page(ec2, labnet_home, tmp_path, artifacts, request):
    """Voilà (this test's LABNET_HOME and emulator) + headless Chromium on the served form.

    Yields (page, request log); stops the browser and Voilà (and Voilà's kernels) afterwards and
    saves the request log whatever happened.
    """
    require_chromium()

    server = start_voila({"LABNET_APP_STACK": "ml-net", "LABNET_APP_ENGINE": "rehearsal",
                          "LABNET_APP_SPOKES": "3", "LABNET_APP_NODES": "64"}, tmp_path)
    log = RequestLog()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                log.attach(context)
                page = context.new_page()
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                page.goto(server.url)
                page.wait_for_selector(".labnet-deploy-form .labnet-destroy-button")
                wait_text(page, "labnet-sizing-message", "spoke(s)")  # the first sizing has landed
                server.note_kernels()
                yield page, log, server
            finally:
                browser.close()
    finally:
        log.save(artifacts / f"browser-requests-{request.node.name}.txt")
        server.stop()


# -- tests --------------------------------------------------------------------------------------------

def test_deploy_form_in_browser(browser_page, ec2, artifacts):
    page, log, server = browser_page
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    shots: list[str] = []

    def step(name: str) -> None:
        timings[name] = round(time.monotonic() - t0, 2)
        shots.append(screenshot(page, artifacts, name))

    step("01-opened")
    assert total(inventory(ec2)) == 0

    # 1. Size: spokes, nodes per spoke, instance type. The table follows.
    set_slider(page, "labnet-spokes", SPOKES)
    set_slider(page, "labnet-nodes-per-spoke", NODES)
    select_instance(page, INSTANCE)
    message = wait_text(page, "labnet-sizing-message", f"{NODES} × {INSTANCE} per spoke")
    assert f"{SPOKES} spoke(s)" in message and "4 IP/node" in message, message
    # The same sizing computed here, outside the page, is what the page's table must show.
    expected = labnet.size(spokes=SPOKES, nodes_per_spoke=NODES, instance_type=INSTANCE).table()
    rows = wait_table(page, "labnet-sizing-table",
                      [{k: str(v) for k, v in r.items()} for r in expected.to_dict("records")])
    compute = [r for r in rows if r["role"] == "compute"]
    assert [r["spoke"] for r in compute] == ["spoke-01", "spoke-02"]
    assert all(int(r["ips_needed"]) == 40 for r in compute)  # 8 nodes × 4 IPs × 1.25 headroom
    step("02-sized")
    assert total(inventory(ec2)) == 0

    # 2. Stack name, then Preview: the resources table appears and nothing is created.
    page.locator(".labnet-stack-name input").fill(STACK)
    page.locator("button.labnet-preview-button").click()
    wait_text(page, "labnet-deploy-message", f"preview of {STACK}")
    preview = table(page, "labnet-preview-table")
    kinds = [r["resource"] for r in preview]
    assert preview and {r["action"] for r in preview} == {"create"}, preview[:3]
    assert kinds.count("Vpc") == SPOKES and kinds.count("TransitGateway") == 1, kinds
    assert kinds.count("VpcAttachment") == SPOKES, kinds
    step("03-previewed")
    assert total(inventory(ec2)) == 0, "preview created something"

    # 3. Deploy: the progress bar moves, then the outputs table appears.
    page.evaluate(RECORD_PROGRESS)
    page.locator("button.labnet-deploy-button").click()
    try:
        midway = page.wait_for_function(PARTIAL_PROGRESS, timeout=60_000, polling=20).json_value()
    except PlaywrightTimeout:  # a very fast deploy can finish between two polls; the recorder still saw it
        midway = None
    if midway is not None:
        step("04-deploying")
        # One operation at a time: every button is off while the deploy runs.
        assert midway["busy"] and midway["preview"] and midway["deploy"] and midway["destroy"], midway
    wait_text(page, "labnet-deploy-message", f"deployed {STACK}", timeout=OP_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelectorAll('.labnet-outputs-table tbody tr').length > 0")
    progress = page.evaluate("() => window.__labnetProgress")
    done_total = [tuple(map(int, s.split("|")[0].split("/"))) for s in progress if "/" in s.split("|")[0]]
    assert done_total, f"the progress bar never showed progress: {progress}"
    n = done_total[-1][1]
    assert progress[-1].endswith("|100%") and (n, n) in done_total, progress[-5:]
    assert any(0 < d < n for d, _ in done_total), f"no intermediate progress seen: {progress}"
    assert n == len(preview), f"deploy counted {n} resources, the preview listed {len(preview)}"
    # The rehearsal engine reports from several threads, each step under the lock that numbered it, so
    # the label ends at n/n (it once ended at "35/36" under a full bar, the last two reports swapped).
    assert done_total[-1] == (n, n), progress[-5:]
    outputs = table(page, "labnet-outputs-table")
    step("05-deployed")

    # The emulator agrees with the outputs table in the page.
    inv = inventory(ec2)
    tagged = inventory(ec2, stack=STACK)  # VPCs and the TGW carry the stack's tag
    assert tagged["vpcs"] == inv["vpcs"] and tagged["transit_gateways"] == inv["transit_gateways"]
    by_kind = lambda kind: sorted(r["id"] for r in outputs if r["resource"] == kind)  # noqa: E731
    assert by_kind("vpc") == inv["vpcs"] and len(inv["vpcs"]) == SPOKES
    assert by_kind("transit_gateway") == inv["transit_gateways"] and len(inv["transit_gateways"]) == 1
    assert by_kind("subnet") == inv["subnets"]
    assert by_kind("tgw_attachment") == inv["attachments"] and len(inv["attachments"]) == SPOKES
    cidrs = {v["VpcId"]: v["CidrBlock"] for v in ec2.describe_vpcs(VpcIds=inv["vpcs"])["Vpcs"]}
    assert {r["id"]: r["cidr"] for r in outputs if r["resource"] == "vpc"} == cidrs
    tgw_id = inv["transit_gateways"][0]
    attached = ec2.describe_transit_gateway_vpc_attachments(
        Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}])["TransitGatewayVpcAttachments"]
    assert sorted(a["VpcId"] for a in attached if a["State"] not in ("deleted", "deleting")) == inv["vpcs"]

    # 4. Destroy asks for the stack name: without it, nothing is deleted.
    page.locator("button.labnet-destroy-button").click()
    wait_text(page, "labnet-deploy-message", "nothing was deleted")
    assert inventory(ec2) == inv
    step("06-destroy-refused")
    page.locator(".labnet-destroy-confirm input").fill(STACK)
    page.locator("button.labnet-destroy-button").click()
    final = wait_text(page, "labnet-deploy-message", f"destroyed {STACK}", timeout=OP_TIMEOUT_MS)
    assert "state destroyed" in final, final
    wait_text(page, "labnet-outputs-table", "nothing left")
    assert page.locator("button.labnet-deploy-button").is_enabled()
    step("07-destroyed")
    assert total(inventory(ec2)) == 0, inventory(ec2)

    # Another path on the same server (Voilà answers it itself, without the notebook): nothing from outside
    # there either. (The template's page.html covers Voilà's tree and 404 pages when serving a folder.)
    page.goto(server.url + "no-such-page")
    page.wait_for_load_state("load")

    timings["total_in_page"] = round(time.monotonic() - t0, 2)
    timings["caught_deploy_midway"] = midway is not None
    timings["midway_snapshot"] = midway  # the form at one instant with the bar part-way
    timings["progress_states_seen"] = len(progress)
    save_json(artifacts / "browser-timings.json", timings)
    assert log.entries, "the request log is empty: the logger is not attached"
    assert not log.outside(), f"the page made requests outside 127.0.0.1: {log.outside()}"
    print("\nscreenshots:", *shots, sep="\n  ")
    print("timings:", timings)


def test_bad_input_shows_preflight_and_creates_nothing(browser_page, ec2, artifacts):
    page, log, _server = browser_page

    # A malformed supernet: preflight's message in the page, no table, and deploy refuses.
    set_text(page, "labnet-supernet", "10.0.0.300/8")
    msg = wait_text(page, "labnet-sizing-message", "not a valid IPv4 CIDR block")
    assert "supernet='10.0.0.300/8'" in msg, msg
    assert "fix the value above" in text_of(page, "labnet-sizing-table")
    page.locator("button.labnet-deploy-button").click()
    deploy_msg = wait_text(page, "labnet-deploy-message", "not a valid IPv4 CIDR block")
    assert "deploy" in deploy_msg, deploy_msg
    screenshot(page, artifacts, "08-bad-supernet")
    assert total(inventory(ec2)) == 0

    # Zero nodes per spoke, with the supernet fixed again.
    set_text(page, "labnet-supernet", "10.0.0.0/8")
    wait_text(page, "labnet-sizing-message", "spoke(s)")
    set_slider(page, "labnet-nodes-per-spoke", 0)
    msg = wait_text(page, "labnet-sizing-message", "nodes_per_spoke=0")
    assert "must be between 1 and" in msg, msg
    page.locator("button.labnet-preview-button").click()
    wait_text(page, "labnet-deploy-message", "preview: nodes_per_spoke=0")
    page.locator("button.labnet-deploy-button").click()
    wait_text(page, "labnet-deploy-message", "deploy: nodes_per_spoke=0")
    assert table(page, "labnet-preview-table") == [] and table(page, "labnet-outputs-table") == []
    screenshot(page, artifacts, "09-zero-nodes")

    assert total(inventory(ec2)) == 0
    assert all(labnet.stacks()["resources"] == 0)  # no state with resources either
    assert not log.outside(), f"the page made requests outside 127.0.0.1: {log.outside()}"


FITS = """() => {
  // For the instance dropdown (its longest option, as it shows once chosen) and the destroy box's
  // placeholder: the text's width in the element's own font, against the room the element gives it.
  const canvas = document.createElement('canvas').getContext('2d');
  const room = (el, extra) => {
    const cs = getComputedStyle(el);
    canvas.font = cs.font;
    return el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - extra;
  };
  const select = document.querySelector('.labnet-instance-type select');
  const selectRoom = room(select, 0);  // the arrow sits in the select's right padding
  const longest = [...select.options].map(o => o.text).sort((a, b) => b.length - a.length)[0];
  const input = document.querySelector('.labnet-destroy-confirm input');
  const inputRoom = room(input, 0);
  return {longest, longestWidth: canvas.measureText(longest).width, selectRoom,
          selectFont: getComputedStyle(select).font,
          placeholder: input.placeholder, placeholderWidth: (canvas.font = getComputedStyle(input).font,
                                                             canvas.measureText(input.placeholder).width),
          inputRoom: room(input, 0)};
}"""


def test_labels_fit_and_a_closed_page_shuts_its_kernel_down(browser_page, artifacts):
    """The instance dropdown shows its longest label whole, the destroy box its whole placeholder; and
    closing the page ends its kernel (Voilà's shutdown POST carries the _xsrf cookie that
    app/config/voila.py makes the page set)."""
    from tests.browser_support import _alive, _children

    page, log, server = browser_page
    sizes = page.evaluate(FITS)
    save_json(artifacts / "browser-label-widths.json", sizes)
    assert sizes["longestWidth"] <= sizes["selectRoom"], sizes
    assert sizes["placeholder"] == "type the stack name to destroy"
    assert sizes["placeholderWidth"] <= sizes["inputRoom"], sizes
    labels = page.evaluate("() => [...document.querySelectorAll('.labnet-instance-type option')].map(o => o.text)")
    assert not [t for t in labels if " 1 network cards" in t]
    cost = table(page, "labnet-sizing-cost")
    hours = next(r for r in cost if r["item"] == "Transit Gateway VPC attachment")
    assert hours["quantity"] == "2,190" and hours["per_hour_usd"] == "0.15", hours  # 3 spokes × 730 h at $0.05

    assert "_xsrf=" in page.evaluate("() => document.cookie"), "the page set no _xsrf cookie"
    kernels = [k for k in _children(server.proc.pid) if _alive(k)]
    assert len(kernels) == 1, kernels  # this page's kernel
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 60  # a watchdog, not a timing claim: the kernel must end at all
    while _alive(kernels[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    voila_log = server.log.read_text()
    assert "_xsrf' argument missing" not in voila_log and "403 POST /voila/api/shutdown" not in voila_log, \
        voila_log[-2000:]
    assert not _alive(kernels[0]), f"the kernel of the closed page still runs:\n{voila_log[-2000:]}"
