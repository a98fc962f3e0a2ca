"""Fixtures shared by the unit tests."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """torch on one thread for the test (results independent of the core count), then back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
