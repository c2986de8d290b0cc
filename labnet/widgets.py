"""ipywidgets forms over labnet's own functions: a sizing form and a deploy form.

    >>> from labnet.widgets import SizingForm, DeployForm
    >>> sizing = SizingForm(spokes=3, nodes_per_spoke=64)
    >>> sizing                      # sliders; the table, picture and cost follow them
    >>> DeployForm("ml-net", sizing=sizing)   # preview / deploy / destroy the sized network

The forms hold no logic of their own. Every value goes to :func:`labnet.size`, :class:`labnet.Lab`,
:mod:`labnet.diagram` and :mod:`labnet.cost`, exactly as the notebooks' parameters do, and every
handler is a plain method (``update``, ``on_preview``, ``on_deploy``, ``on_destroy``) that tests and
scripts call from Python. Errors are labnet's own: the preflight message of a bad value, or
:class:`~labnet.StackLockedError` when an operation already holds the stack, shown in the form's
message area; nothing is created.

How the forms render (and why they never stall a papermill run)
---------------------------------------------------------------
Tables are ``HTML`` widgets (``DataFrame.to_html``) and pictures are ``Image`` widgets (PNG bytes).
No ``ipywidgets.Output`` widget is used anywhere: an Output widget is the one widget for which a
headless executor (nbclient, so papermill and Voilà) acts as a front end and writes back to the
kernel on the shell channel *while* it waits for the cell's execute reply, the pattern behind the
intermittent stalls of jupyter/nbclient#312. With HTML/Image widgets the kernel only publishes state
(one-way, on IOPub) and a batch run never has to answer a widget. Progress events come from the
engine's worker thread; they only set trait values, which ipykernel sends through its IOPub thread.

Stable DOM classes (``_dom_classes``) for browser tests
-------------------------------------------------------
:func:`app` (what a Voilà page shows) is a box with class ``labnet-app`` holding the two forms.

Sizing form (root ``labnet-sizing-form``):

==============================  ===========================================  ==================
class                           widget                                       attribute
==============================  ===========================================  ==================
``labnet-spokes``               IntSlider, description "Spokes"              ``spokes``
``labnet-nodes-per-spoke``      IntSlider, description "Nodes/spoke"         ``nodes_per_spoke``
``labnet-instance-type``        Dropdown, description "Instance"             ``instance_type``
``labnet-azs``                  IntSlider, description "AZs"                 ``azs``
``labnet-compute-az``           Dropdown "Compute AZ": auto or an offering   ``compute_az``
                                AZ, shown as name (AZ ID); EFA modes only
``labnet-regions``              Text, description "Regions"                  ``regions``
``labnet-existing-vpcs``        Text "Existing VPCs": name=vpc-…, …          ``existing_vpcs``
``labnet-transit-gateway``      Text "Existing TGW": tgw-… or empty          ``transit_gateway``
``labnet-supernet``             Text, description "Supernet"                 ``supernet``
``labnet-interface-mode``       Dropdown, description "EFA mode"             ``interface_mode``
``labnet-headroom``             FloatSlider, description "Headroom"          ``headroom``
``labnet-sizing-message``       HTML: preflight errors and warnings          ``message``
``labnet-sizing-table``         HTML: the sizing table                       ``table``
``labnet-sizing-picture``       Image (PNG): the hub-and-spoke picture       ``picture``
``labnet-sizing-cost``          HTML: the cost estimate                      ``cost``
==============================  ===========================================  ==================

Deploy form (root ``labnet-deploy-form``; the root also carries ``labnet-busy`` while an
operation runs):

==============================  ===========================================  ==================
class                           widget                                       attribute
==============================  ===========================================  ==================
``labnet-stack-name``           Text, description "Stack"                    ``stack_name``
``labnet-preview-button``       Button "Preview"                             ``preview_button``
``labnet-deploy-button``        Button "Deploy"                              ``deploy_button``
``labnet-destroy-confirm``      Text, description "Confirm"                  ``confirm``
``labnet-destroy-button``       Button "Destroy"                             ``destroy_button``
``labnet-progress``             IntProgress                                  ``progress``
``labnet-deploy-message``       HTML: what happened, errors, quota warnings  ``message``
``labnet-preview-table``        HTML: the preview table                      ``preview_table``
``labnet-outputs-table``        HTML: the outputs table                      ``outputs_table``
``labnet-deploy-picture``       Image (PNG): the picture of what was built   ``picture``
``labnet-matrix-table``         HTML: spoke × spoke matrix after Deploy      ``matrix_table``
``labnet-matrix-picture``       Image (PNG): the connectivity heatmap        ``matrix_picture``
``labnet-posture-table``        HTML: the security posture after Deploy      ``posture_table``
==============================  ===========================================  ==================

After a deploy the form also verifies the network (:meth:`labnet.Lab.connectivity`): the matrix says
"ok" or the reason codes per spoke pair, and the message says how many pairs are reachable; and it
shows the posture table (:meth:`labnet.Lab.posture`, from the same snapshot). Destroy keeps the
flow-log bucket (audit data) and says so; the form says it next to the button.

Every message written to a form's message area is also kept, newest last, in ``form.history``
as ``(kind, text)`` with kind ``info`` (an operation started), ``ok``, ``warning``, ``error`` or
``refused``.
"""

from __future__ import annotations

import html
import io
import threading
from typing import Any, Callable

import ipywidgets as W

import labnet

from .errors import InvalidSpecError, LabnetError
from .spec import NetworkSpec

INTERFACE_MODES = (("EFA (one IP per network card)", "efa"), ("EFA-only interfaces (one IP per node)", "efa-only"),
                   ("ENA, no EFA", "ena"))
BUSY_CLASS = "labnet-busy"
AUTO_AZ = "auto (first offering AZ)"
_KEEP_MESSAGES = 50


def _classed(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(name)
    return widget


def _table_html(frame, empty: str = "") -> str:
    if frame is None or len(frame) == 0:
        return f"<i>{html.escape(empty)}</i>" if empty else ""
    return frame.to_html(index=False, border=0, classes="labnet-table", na_rep="")  # total rows: no quantity


def _set_picture(widget: W.Image, png: bytes) -> None:
    """Show a picture, or hide the widget when there is none (an empty Image draws a broken icon)."""
    widget.value = png
    widget.layout.display = "" if png else "none"


def _png(fig) -> bytes:
    """PNG bytes of the picture (labnet.diagram's figures are not pyplot's, so nothing to close)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _line(kind: str, text: str) -> str:
    colour = {"ok": "#1a7f37", "warning": "#9a6700", "error": "#cf222e", "refused": "#cf222e"}.get(kind, "inherit")
    return f"<div class='labnet-msg labnet-msg-{kind}' style='color:{colour}'>{html.escape(text)}</div>"


class _Messages:
    """The message area of a form and its history (thread-safe: handlers may run in two threads)."""

    def __init__(self, widget: W.HTML) -> None:
        self.widget = widget
        self.history: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def show(self, kind: str, *texts: str) -> None:
        with self._lock:
            self.history.extend((kind, t) for t in texts)
            del self.history[:-_KEEP_MESSAGES]
            self.widget.value = "".join(_line(kind, t) for t in texts)

    def add(self, kind: str, text: str) -> None:
        with self._lock:
            self.history.append((kind, text))
            del self.history[:-_KEEP_MESSAGES]
            self.widget.value += _line(kind, text)


def _instance_options(target: str, region: str, all_types: bool) -> list[tuple[str, str]]:
    """Dropdown choices from EC2's own instance facts, GPU/accelerator and EFA types first.

    Unless ``all_types``, only types with accelerators or EFA are offered (EC2 reports over a
    thousand types; the rest are not built for multi-node training)."""
    frame = labnet.instance_types(target=target, region=region)
    if not all_types:
        frame = frame[(frame.accelerators > 0) | frame.efa_supported]
    options = []
    for row in frame.itertuples(index=False):
        bits = []
        if row.accelerators:
            bits.append(f"{row.accelerators}× {row.accelerator_name}".strip())
        if row.efa_supported:
            cards = int(row.network_cards)
            bits.append(f"EFA, {cards} network card{'s' if cards != 1 else ''}")
        options.append((f"{row.instance_type}" + (f" · {' · '.join(bits)}" if bits else ""), row.instance_type))
    return options


class SizingForm(W.VBox):
    """Sliders and dropdowns for :func:`labnet.size`; the table, picture and cost follow every change.

    ``spec`` is the spec the current values give (None while a value fails preflight, and then
    ``error`` holds the :class:`~labnet.InvalidSpecError`). Call :meth:`update` to recompute.
    """

    def __init__(self, spokes: int = 3, nodes_per_spoke: int = 64, instance_type: str = "p5.48xlarge",
                 azs: int = 2, supernet: str = "10.0.0.0/8", interface_mode: str = "efa", headroom: float = 0.25,
                 *, region: str = "us-east-1", target: str = "emulator", cross_vpc_gb_per_month: float = 1000.0,
                 max_spokes: int = 20, max_nodes: int = 1024, all_types: bool = False,
                 compute_az: str | None = None, regions: str = "", existing_vpcs: str = "",
                 transit_gateway_id: str = "") -> None:
        self.region, self.target = region, target
        self.cross_vpc_gb_per_month = cross_vpc_gb_per_month
        self.spec: NetworkSpec | None = None
        self.error: LabnetError | None = None
        self.warnings: list[str] = []
        options = _instance_options(target, region, all_types)
        if instance_type not in {v for _, v in options}:
            options.insert(0, (instance_type, instance_type))  # let size() explain why it is unknown
        style = {"description_width": "110px"}
        layout = W.Layout(width="460px")
        self.spokes = _classed(W.IntSlider(value=spokes, min=1, max=max(max_spokes, spokes), description="Spokes",
                                           continuous_update=False, style=style, layout=layout), "labnet-spokes")
        # min=0 on purpose: dragging to zero shows preflight's message instead of silently clamping.
        self.nodes_per_spoke = _classed(W.IntSlider(value=nodes_per_spoke, min=0, max=max(max_nodes, nodes_per_spoke),
                                                    description="Nodes/spoke", continuous_update=False, style=style,
                                                    layout=layout), "labnet-nodes-per-spoke")
        # Wider than the sliders: its labels run to ~70 characters ("g7e.48xlarge · 8× NVIDIA RTX PRO Server
        # 6000 · EFA, 4 network cards"); tests/test_browser.py measures that the longest fits.
        self.instance_type = _classed(W.Dropdown(options=options, value=instance_type, description="Instance",
                                                 style=style, layout=W.Layout(width="640px")),
                                      "labnet-instance-type")
        self.azs = _classed(W.IntSlider(value=azs, min=1, max=max(6, azs), description="AZs",
                                        continuous_update=False, style=style, layout=layout), "labnet-azs")
        # Where an EFA cluster's nodes go: "auto" (sizing's rule) or one of the AZs that offer the type,
        # each shown with its AZ ID. Its choices follow the instance type.
        self.compute_az = _classed(W.Dropdown(options=[(AUTO_AZ, "")], value="", description="Compute AZ",
                                              style=style, layout=layout), "labnet-compute-az")
        # A network across regions: "us-east-1:2, us-west-2:2" (region:spokes); empty for one region,
        # sized by the Spokes slider. labnet.request.parse_regions reads it, with its errors.
        self.regions = _classed(W.Text(value=regions, description="Regions", continuous_update=False,
                                       placeholder="one region; or us-east-1:2, us-west-2:2", style=style,
                                       layout=layout), "labnet-regions")
        # Bring your own: VPCs that exist already ("data=vpc-…, lake=vpc-…"; request.parse_pairs reads it)
        # and an existing Transit Gateway's id; both empty by default.
        self.existing_vpcs = _classed(W.Text(value=existing_vpcs, description="Existing VPCs", continuous_update=False,
                                             placeholder="none; or data=vpc-0123456789abcdef0", style=style,
                                             layout=layout), "labnet-existing-vpcs")
        self.transit_gateway = _classed(W.Text(value=transit_gateway_id, description="Existing TGW",
                                               continuous_update=False, placeholder="none: a new one; or tgw-…",
                                               style=style, layout=layout), "labnet-transit-gateway")
        self.supernet = _classed(W.Text(value=supernet, description="Supernet", continuous_update=False,
                                        placeholder="10.0.0.0/8", style=style, layout=layout), "labnet-supernet")
        self.interface_mode = _classed(W.Dropdown(options=INTERFACE_MODES, value=interface_mode,
                                                  description="EFA mode", style=style, layout=layout),
                                       "labnet-interface-mode")
        self.headroom = _classed(W.FloatSlider(value=headroom, min=0.0, max=2.0, step=0.05, description="Headroom",
                                               readout_format=".0%", continuous_update=False, style=style,
                                               layout=layout), "labnet-headroom")
        self._refresh_compute_azs(keep=compute_az or "")
        self.message = _classed(W.HTML(), "labnet-sizing-message")
        self.table = _classed(W.HTML(), "labnet-sizing-table")
        self.picture = _classed(W.Image(format="png", layout=W.Layout(max_width="900px", display="none")),
                                "labnet-sizing-picture")
        self.cost = _classed(W.HTML(), "labnet-sizing-cost")
        self._messages = _Messages(self.message)
        self.controls = (self.spokes, self.nodes_per_spoke, self.instance_type, self.azs, self.compute_az,
                         self.regions, self.existing_vpcs, self.transit_gateway, self.supernet,
                         self.interface_mode, self.headroom)
        for control in self.controls:
            if control in (self.instance_type, self.interface_mode):
                control.observe(self._on_type, names="value")  # new compute AZ choices, then one update
            else:
                control.observe(self.update, names="value")
        super().__init__([W.HTML("<b>Size the network</b>"), *self.controls, self.message,
                          W.HTML("<b>Subnets</b>"), self.table, self.picture, W.HTML("<b>Cost estimate</b>"),
                          self.cost])
        self.add_class("labnet-sizing-form")
        self.update()

    @property
    def history(self) -> list[tuple[str, str]]:
        return self._messages.history

    def _refresh_compute_azs(self, keep: str = "") -> None:
        """The compute AZ choices for the current instance type: the AZs EC2 offers it in, as
        ``name (AZ ID)``. Only EFA clusters have one compute AZ, so it is off for ``ena``."""
        options = [(AUTO_AZ, "")]
        efa = self.interface_mode.value != "ena"
        if efa:
            try:
                frame = labnet.offerings(self.instance_type.value, region=self.region, target=self.target)
                options += [(f"{r.az} ({r.az_id})" if r.az_id else r.az, r.az)
                            for r in frame.itertuples(index=False) if r.offered]
            except LabnetError:
                pass  # an unknown type: size() explains it in the message area
        self._choosing = True  # new options may reset the value: one update follows, not two
        try:
            self.compute_az.options = options
            self.compute_az.value = keep if keep in {v for _, v in options} else ""
            self.compute_az.disabled = not efa
        finally:
            self._choosing = False

    def _on_type(self, change: Any = None) -> None:
        self._refresh_compute_azs(keep=self.compute_az.value)
        self.update()

    def values(self) -> dict[str, Any]:
        """The form's values as :func:`labnet.size` keyword arguments (a bad Regions text raises
        labnet's error, shown like any other)."""
        from . import request

        regions = request.parse_regions(self.regions.value)
        # The regions say how many spokes and where; only an EFA cluster in one region has a compute AZ.
        self.spokes.disabled = bool(regions)
        self.compute_az.disabled = bool(regions) or self.interface_mode.value == "ena"
        return {"spokes": None if regions else self.spokes.value, "regions": regions,
                "nodes_per_spoke": self.nodes_per_spoke.value,
                "instance_type": self.instance_type.value, "azs": self.azs.value,
                "compute_az": None if regions else (self.compute_az.value or None),
                "supernet": self.supernet.value.strip(), "interface_mode": self.interface_mode.value,
                "headroom": float(self.headroom.value), "region": next(iter(regions)) if regions else self.region,
                "target": self.target,
                "existing_vpcs": request.parse_pairs("existing_vpcs", self.existing_vpcs.value,
                                                     "data=vpc-0123456789abcdef0"),
                "transit_gateway_id": self.transit_gateway.value.strip() or None}

    def update(self, change: Any = None) -> NetworkSpec | None:
        """Size from the current values and redraw the table, picture and cost (the 'value' observer)."""
        if getattr(self, "_choosing", False):
            return self.spec
        try:
            spec = labnet.size(**self.values())
            warnings = labnet.spec_warnings(spec)
        except LabnetError as exc:
            self.spec, self.error, self.warnings = None, exc, []
            self._messages.show("error", str(exc))
            # Nothing stale stays on screen: a table for other values would read as this one's.
            self.table.value = "<i>fix the value above to see the subnets</i>"
            _set_picture(self.picture, b"")
            self.cost.value = ""
            return None
        self.spec, self.error, self.warnings = spec, None, warnings
        notes = list(warnings)
        self.table.value = _table_html(spec.table())
        # The picture and the estimate have limits of their own (at most 64 spokes drawn, regions with
        # published prices): a valid spec beyond them still shows its table, and says why the rest is missing.
        try:
            _set_picture(self.picture, _png(labnet.diagram.draw(spec)))
        except LabnetError as exc:
            _set_picture(self.picture, b"")
            notes.append(f"picture: {exc}")
        try:
            estimate = labnet.cost.estimate(spec, cross_vpc_gb_per_month=self.cross_vpc_gb_per_month)
            self.cost.value = _table_html(labnet.formats.readable(estimate))  # 2,190 and 0.15, not 2190.0, 0.150000
        except LabnetError as exc:
            self.cost.value = ""
            notes.append(f"cost: {exc}")
        if notes:
            self._messages.show("warning", *notes)
        else:
            self._messages.show("ok", spec.summary())
        return spec


class DeployForm(W.VBox):
    """Preview, deploy and destroy one stack, with a progress bar and the outputs table.

    The spec comes from ``sizing`` (a :class:`SizingForm`, read at each click) or from ``spec``.
    Buttons are disabled while an operation runs. Two operations on one stack are kept apart by
    labnet's stack lock (which also guards against other kernels and processes): a second deploy
    or destroy started meanwhile gets :class:`~labnet.StackLockedError`, shown in the message area;
    a preview asked for meanwhile is refused by the form. Destroy asks for the stack name in the
    confirm box first.
    """

    def __init__(self, stack_name: str = "ml-net", spec: NetworkSpec | None = None, *,
                 sizing: SizingForm | None = None, target: str = "emulator", engine: str = "auto") -> None:
        if spec is None and sizing is None:
            raise InvalidSpecError("spec", None, "a deploy form needs a spec or a sizing form",
                                   "pass spec=labnet.size(...) or sizing=SizingForm()")
        self._spec, self.sizing, self.target, self.engine = spec, sizing, target, engine
        self.lab: labnet.Lab | None = None
        style = {"description_width": "80px"}
        self.stack_name = _classed(W.Text(value=stack_name, description="Stack", style=style), "labnet-stack-name")
        self.preview_button = _classed(W.Button(description="Preview", icon="eye", tooltip="list what deploy would create"),
                                       "labnet-preview-button")
        self.deploy_button = _classed(W.Button(description="Deploy", icon="play", button_style="primary",
                                               tooltip="create the network"), "labnet-deploy-button")
        # Wide enough for its placeholder (tests/test_browser.py measures it).
        self.confirm = _classed(W.Text(description="Confirm", placeholder="type the stack name to destroy",
                                       style=style, layout=W.Layout(width="400px")), "labnet-destroy-confirm")
        self.destroy_button = _classed(W.Button(description="Destroy", icon="trash", button_style="danger",
                                                tooltip="delete everything the stack owns"), "labnet-destroy-button")
        self.progress = _classed(W.IntProgress(value=0, min=0, max=1, description="", bar_style="info"),
                                 "labnet-progress")
        self.message = _classed(W.HTML(), "labnet-deploy-message")
        self.preview_table = _classed(W.HTML(), "labnet-preview-table")
        self.outputs_table = _classed(W.HTML(), "labnet-outputs-table")
        self.picture = _classed(W.Image(format="png", layout=W.Layout(max_width="900px", display="none")),
                                "labnet-deploy-picture")
        self.matrix_table = _classed(W.HTML(), "labnet-matrix-table")
        self.matrix_picture = _classed(W.Image(format="png", layout=W.Layout(max_width="600px", display="none")),
                                       "labnet-matrix-picture")
        self.posture_table = _classed(W.HTML(), "labnet-posture-table")
        self._messages = _Messages(self.message)
        self.buttons = (self.preview_button, self.deploy_button, self.destroy_button)
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._done = 0  # the furthest progress seen in the running operation
        self.preview_button.on_click(self.on_preview)
        self.deploy_button.on_click(self.on_deploy)
        self.destroy_button.on_click(self.on_destroy)
        super().__init__([
            W.HTML("<b>Deploy</b>"), self.stack_name,
            W.HBox([self.preview_button, self.deploy_button]), self.progress, self.message,
            W.HTML("<b>Preview</b>"), self.preview_table, W.HTML("<b>Outputs</b>"), self.outputs_table, self.picture,
            W.HTML("<b>Connectivity</b>"), self.matrix_table, self.matrix_picture,
            W.HTML("<b>Security posture</b>"), self.posture_table,
            W.HTML("<b>Tear down</b>"), W.HBox([self.confirm, self.destroy_button]),
            W.HTML("<i>Destroy keeps the stack's flow-log bucket (audit data; a later deploy of the stack reuses "
                   "it). To delete the logs too: <code>labnet.Lab(name).destroy(delete_logs=True)</code>.</i>"),
        ])
        self.add_class("labnet-deploy-form")

    # -- state the handlers share --------------------------------------------------------------------
    @property
    def history(self) -> list[tuple[str, str]]:
        return self._messages.history

    @property
    def busy(self) -> bool:
        return self._inflight > 0

    def _begin(self) -> None:
        with self._inflight_lock:
            self._inflight += 1
            for b in self.buttons:
                b.disabled = True
            self.add_class(BUSY_CLASS)

    def _end(self) -> None:
        with self._inflight_lock:
            self._inflight -= 1
            if self._inflight == 0:
                for b in self.buttons:
                    b.disabled = False
                self.remove_class(BUSY_CLASS)

    def _current_spec(self) -> NetworkSpec:
        if self.sizing is not None:
            if self.sizing.spec is None:
                err = self.sizing.error
                raise err if err is not None else InvalidSpecError("spec", None, "the sizing form has no spec", "")
            return self.sizing.spec
        assert self._spec is not None
        return self._spec

    def _open(self, with_spec: bool = True) -> labnet.Lab:
        name = self.stack_name.value.strip()
        spec = self._current_spec() if with_spec else None
        return labnet.Lab(name, spec, target=self.target, engine=self.engine, progress=self.on_progress)

    def _operation(self, title: str, body: Callable[[], str]) -> None:
        """Run one operation: buttons off, labnet errors to the message area, buttons back on.
        The quota warnings of a preview or deploy (``Lab.quota_warnings``) follow its result."""
        self._begin()
        self._quota_warnings: list[str] = []
        try:
            text = body()
        except LabnetError as exc:
            kind = "refused" if isinstance(exc, labnet.StackLockedError) else "error"
            if kind == "error":
                self._messages.show(kind, f"{title}: {exc}")  # replaces the "…ing" line it ends
            else:
                self._messages.add(kind, f"{title}: {exc}")
        except Exception as exc:
            # Not one of labnet's own errors: say so in the form, and let it reach the log too.
            self._messages.show("error", f"{title} failed unexpectedly: {type(exc).__name__}: {exc}")
            raise
        else:
            self._messages.show("ok", text)
            for warning in self._quota_warnings:
                self._messages.add("warning", f"{title}: quotas: {warning}")
        finally:
            self._end()

    # -- handlers (plain methods; the buttons call them) ----------------------------------------------
    def on_progress(self, event) -> None:
        """Feed the progress bar from an engine event (called from the engine's worker thread)."""
        # The rehearsal engine reports from several worker threads, so events can arrive out of order:
        # the bar only moves forward.
        with self._inflight_lock:
            self._done = max(self._done, event.done)
            done = self._done
        self.progress.max = max(1, event.total)
        self.progress.value = min(done, self.progress.max)
        self.progress.description = f"{done}/{event.total}"
        self.progress.bar_style = "danger" if event.status == "failed" else "info"

    def _progress_start(self) -> None:
        with self._inflight_lock:
            self._done = 0
        self.progress.value, self.progress.bar_style = 0, "info"

    def _progress_finish(self) -> None:
        self.progress.value = self.progress.max
        self.progress.description = f"{self.progress.max}/{self.progress.max}"
        self.progress.bar_style = "success"

    def on_preview(self, _button: Any = None) -> None:
        """Show every resource deploy would create; creates nothing."""
        if self.busy:
            # Deploy and destroy are kept apart by labnet's stack lock; preview takes no lock (it only
            # reads), so the form refuses it rather than let it queue behind the running operation.
            self._messages.add("refused", "preview: an operation is running on this stack; wait for it to finish")
            return

        def body() -> str:
            self._messages.show("info", "previewing…")
            lab = self._open()
            table = lab.preview()
            self._quota_warnings = lab.quota_warnings
            self.preview_table.value = _table_html(table, "nothing to do")
            counts = table["action"].value_counts().to_dict() if len(table) else {}
            return f"preview of {lab.stack_name}: " + (", ".join(f"{n} to {a}" for a, n in counts.items()) or "nothing to do")
        self._operation("preview", body)

    def on_deploy(self, _button: Any = None) -> None:
        """Deploy the current spec with live progress; show the outputs table and the picture."""
        def body() -> str:
            self._messages.show("info", "deploying…")
            lab = self._open()
            self._progress_start()
            try:
                outputs = lab.up()
            finally:
                self._quota_warnings = lab.quota_warnings
            self.lab = lab
            self._progress_finish()
            self.outputs_table.value = _table_html(outputs)
            _set_picture(self.picture, _png(labnet.diagram.draw(lab.spec, exports=lab.stack_outputs())))
            verified = self._show_connectivity(lab)
            return f"deployed {lab.stack_name}: {len(outputs)} output rows, state {lab.status()}; {verified}"
        self._operation("deploy", body)

    def _show_connectivity(self, lab: labnet.Lab) -> str:
        """Verify what was deployed; show the matrix and the heatmap; one line for the message."""
        from .analysis import verify

        try:
            snap = lab.snapshot()
            frame = lab.connectivity(snapshot=snap)
            posture = lab.posture(snapshot=snap)
        except LabnetError as exc:  # the network is deployed either way: say why it was not verified
            self.matrix_table.value = f"<i>{html.escape(f'not verified: {exc}')}</i>"
            self.posture_table.value = ""
            _set_picture(self.matrix_picture, b"")
            return f"connectivity not verified ({exc})"
        self.matrix_table.value = verify.matrix(frame).to_html(border=0, classes="labnet-table")
        _set_picture(self.matrix_picture, _png(labnet.heatmap.draw(frame)))
        self.posture_table.value = posture.to_html(index=False, border=0, classes="labnet-table")
        failed = int((posture.status == "fail").sum())
        return f"connectivity: {verify.summary(frame)}; posture: {failed} failed control(s) of {len(posture)}"

    def on_destroy(self, _button: Any = None) -> None:
        """Destroy everything the stack owns, only once the stack name is typed into the confirm box."""
        name = self.stack_name.value.strip()
        if self.confirm.value.strip() != name:
            self._messages.add("refused", f"destroy: type the stack name {name!r} in the confirm box to destroy it; "
                                          "nothing was deleted")
            return

        def body() -> str:
            self._messages.show("info", "destroying…")
            lab = self._open(with_spec=False)  # what the stack owns, from its saved state
            self._progress_start()
            result = lab.destroy()
            removed, kept = result[result.outcome == "removed"], result[result.outcome == "kept"]
            self.lab = lab
            self._progress_finish()
            self.confirm.value = ""
            self.outputs_table.value = _table_html(lab.outputs(), "nothing left")
            self.preview_table.value = "<i>the stack was destroyed: preview again to plan a new deploy</i>"
            _set_picture(self.picture, b"")
            self.matrix_table.value = ""
            self.posture_table.value = ""
            _set_picture(self.matrix_picture, b"")
            kept_text = (f"; kept {len(kept)} (the flow-log bucket and its settings: audit data, reused by the next "
                         "deploy of this stack; destroy(delete_logs=True) deletes them)" if len(kept) else "")
            return f"destroyed {name}: {len(removed)} resource(s) removed{kept_text}, state {lab.status()}"
        self._operation("destroy", body)


def app(stack_name: str = "ml-net", target: str = "emulator", engine: str = "auto", **sizing: Any) -> W.VBox:
    """The sizing form and a deploy form bound to it, in one box (what a Voilà page shows)."""
    form = SizingForm(target=target, **sizing)
    deploy = DeployForm(stack_name, sizing=form, target=target, engine=engine)
    box = W.VBox([form, deploy])
    box.add_class("labnet-app")
    box.sizing, box.deploy = form, deploy  # type: ignore[attr-defined]
    return box
