"""The lessons' "Try it" widgets: controls above, the function's figures and text below.

`interact_live(function, **controls)` is `ipywidgets.interact` without its two problems:

- it never prints the function's return value (only figures and printed text are shown);
- it does not make headless runs stall. `interact` and `interactive_output` let the front end
  capture the function's output while the cell runs (the Output widget's `msg_id`). nbclient,
  which `jupyter nbconvert --execute` uses, mimics that front end and answers every captured
  output with a message on the kernel's shell socket while it is waiting on the same socket for
  the cell's reply; now and then the reply's wake-up is lost and the cell waits out its whole
  timeout, or forever without one (jupyter/nbclient#312, open). Here the output is captured in
  the kernel and handed to the Output widget as its `outputs`, so no front end sends anything
  back, and JupyterLab shows the same view.

With UNET_COURSE_STATIC_WIDGETS=1 (the course website's build, `make site`) `interact_live` draws
the function once at the controls' values, prints a note that the controls work in JupyterLab,
Binder or Colab, and returns None: a static page has no kernel to move a slider with.
"""
import os
import sys
import traceback

import ipywidgets as widgets
from IPython.utils.capture import capture_output
from ipywidgets.widgets.interaction import show_inline_matplotlib_plots

LABELS = {"description_width": "initial"}  # long labels are shown in full, not cut


def _outputs(captured) -> tuple:
    """Captured stdout, stderr and displays (figures) as Output-widget outputs, in that order."""
    outputs = [{"output_type": "stream", "name": name, "text": text}
               for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)) if text]
    outputs += [{"output_type": "display_data", "data": shown.data, "metadata": shown.metadata or {}}
                for shown in captured.outputs]
    return tuple(outputs)


def _check(function, controls: dict):
    if not callable(function):
        raise ValueError(f"function must be callable, got {function!r}")
    bad = {name: c for name, c in controls.items() if not isinstance(c, widgets.ValueWidget)}
    if bad:
        raise ValueError(f"controls must be ipywidgets value widgets (sliders, dropdowns...), got {bad}")


def live_output(function, controls: dict) -> widgets.Output:
    """Like `ipywidgets.interactive_output`: an Output showing `function(**values)` and updated
    whenever a control changes. The first call runs now, and an error in it is raised here (so a
    headless run fails); an error after a change is shown in the Output as a traceback on stderr."""
    _check(function, controls)
    out = widgets.Output()

    def update(change=None):
        with capture_output() as captured:
            try:
                function(**{name: c.value for name, c in controls.items()})
                show_inline_matplotlib_plots()
            except Exception:
                if change is None:
                    raise
                traceback.print_exc(file=sys.stderr)
        out.outputs = _outputs(captured)

    update()
    for control in controls.values():
        control.observe(update, "value")
    return out


def interact_live(function, **controls) -> widgets.VBox:
    """The controls (labels shown in full) above the live output of `function`; display it as
    the cell's last expression. `function` should draw and print, its return value is ignored."""
    if os.environ.get("UNET_COURSE_STATIC_WIDGETS") == "1":
        return _draw_once(function, controls)
    for name, control in controls.items():
        if not getattr(control, "description", "x"):
            control.description = name
        if hasattr(getattr(control, "style", None), "description_width"):
            control.style.description_width = LABELS["description_width"]
    out = live_output(function, controls)
    return widgets.VBox([*controls.values(), out], _dom_classes=("widget-interact",))


def _draw_once(function, controls: dict) -> None:
    """The static page's stand-in for the widget: the figure at the controls' values, and a note."""
    _check(function, controls)
    values = {name: c.value for name, c in controls.items()}
    function(**values)
    show_inline_matplotlib_plots()
    shown = ", ".join(f"{name} = {value!r}" for name, value in values.items())
    print(f"Static page: drawn at {shown}. The controls work when you run the notebook "
          "(JupyterLab, Binder or Colab).")
