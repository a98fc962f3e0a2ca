import pytest
import torch

from unet_course.device import get_device, is_accelerated


def test_get_device_says_which(capsys):
    device = get_device()
    assert isinstance(device, torch.device)
    assert f"Using device {device.type}" in capsys.readouterr().out
    assert is_accelerated(device) == (device.type != "cpu")


def test_cpu_is_not_accelerated():
    assert not is_accelerated("cpu")


def test_describe_hardware_names_the_cpu_and_its_bfloat16(monkeypatch):
    import unet_course.device as d
    monkeypatch.setattr(d.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(d, "cpu_name", lambda: "Some CPU 9000")
    for native in (True, False):
        monkeypatch.setattr(d, "cpu_has_native_bfloat16", lambda: native)
        text = d.describe_hardware(threads=3)
        assert text.startswith("CPU Some CPU 9000,") and "3 thread(s)" in text
        assert ("no native bfloat16" in text) != native
    assert d.cpu_name()  # this machine's name, never empty


def test_describe_hardware_names_an_instruction_set_cap(monkeypatch):
    import unet_course.device as d
    monkeypatch.setattr(d.torch.cuda, "is_available", lambda: False)
    for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"):
        monkeypatch.delenv(k, raising=False)
    assert "capped" not in d.describe_hardware(threads=1)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert d.describe_hardware(threads=1).endswith(", capped ONEDNN_MAX_CPU_ISA=AVX2")


def test_torch_threads_is_scoped_and_restores_the_count():
    from unet_course.device import torch_threads
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):   # restored after an error too
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be an integer >= 1"):
            with torch_threads(bad):
                pass
