"""unet_course.widgets: the lessons' Try-it widgets show what the function draws and prints, never
its return value, update on every change, and report errors (raised at creation, shown after)."""
import ipywidgets as widgets
import pytest

from unet_course.widgets import interact_live, live_output


def texts(out, name="stdout"):
    return "".join(o["text"] for o in out.outputs if o["output_type"] == "stream" and o["name"] == name)


def test_shows_printed_text_not_the_return_value_and_updates():
    slider = widgets.IntSlider(2, 0, 5)
    out = live_output(lambda x: print("x is", x) or ("raw", x), {"x": slider})
    assert texts(out) == "x is 2\n" and "raw" not in str(out.outputs)
    slider.value = 4
    assert texts(out) == "x is 4\n" and len(out.outputs) == 1      # replaced, not appended


def test_figures_become_display_outputs(monkeypatch):
    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    InteractiveShell.instance()                                        # a shell to capture displays
    from IPython.display import display

    out = live_output(lambda k: display({"image/png": "iVBORw0KGgo=", "text/plain": f"fig {k}"}, raw=True),
                      {"k": widgets.IntSlider(1, 0, 3)})
    assert [o["output_type"] for o in out.outputs] == ["display_data"]
    assert out.outputs[0]["data"]["text/plain"] == "fig 1"
    plt.close("all")


def test_error_at_creation_is_raised_and_after_a_change_is_shown():
    def f(x):
        if x > 3:
            raise ValueError(f"x = {x} is too large")
        print(x)

    with pytest.raises(ValueError, match="x = 5"):
        live_output(f, {"x": widgets.IntSlider(5, 0, 5)})
    slider = widgets.IntSlider(1, 0, 5)
    out = live_output(f, {"x": slider})
    slider.value = 4
    assert "Traceback" in texts(out, "stderr") and "x = 4 is too large" in texts(out, "stderr")


def test_interact_live_layout_labels_and_bad_arguments():
    box = interact_live(lambda a, b: None, a=widgets.IntSlider(description="a long description"),
                        b=widgets.Dropdown(options=[1, 2]))
    a, b, out = box.children
    assert isinstance(out, widgets.Output) and "widget-interact" in box._dom_classes
    assert a.style.description_width == "initial" and b.description == "b"
    with pytest.raises(ValueError, match="callable"):
        live_output(3, {})
    with pytest.raises(ValueError, match="value widgets"):
        live_output(lambda x: None, {"x": 3})


def test_static_mode_draws_once_at_the_defaults_and_returns_none(monkeypatch, capsys):
    """UNET_COURSE_STATIC_WIDGETS=1 (the website build): one drawing at the controls' values, a
    note that the controls work in a running notebook, no widget (a static page cannot move it)."""
    monkeypatch.setenv("UNET_COURSE_STATIC_WIDGETS", "1")
    calls = []
    result = interact_live(lambda sigma, mode: calls.append((sigma, mode)) or print("drawn", sigma),
                           sigma=widgets.FloatSlider(5.0, min=1, max=10), mode=widgets.Dropdown(options=["a", "b"]))
    assert result is None and calls == [(5.0, "a")]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "drawn 5.0"
    assert "sigma = 5.0, mode = 'a'" in lines[1] and "JupyterLab, Binder or Colab" in lines[1]
    with pytest.raises(ValueError, match="value widgets"):
        interact_live(lambda x: None, x=3)
    monkeypatch.setenv("UNET_COURSE_STATIC_WIDGETS", "0")
    assert interact_live(lambda x: None, x=widgets.IntSlider(1)) is not None
