import torch

from unet_course.device import get_device, is_accelerated


def test_get_device_says_which(capsys):
    device = get_device()
    assert isinstance(device, torch.device)
    assert f"Using device {device.type}" in capsys.readouterr().out
    assert is_accelerated(device) == (device.type != "cpu")


def test_cpu_is_not_accelerated():
    assert not is_accelerated("cpu")
