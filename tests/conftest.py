"""Fixtures shared by several test files."""
import pytest
import torch


@pytest.fixture
def empty_allowlist():
    """torch's process-wide weights_only allow-list, emptied for one test and restored after it.

    Importing smix_mmdet fills it (pytest's collection of the mmdet tests does), which would hide what a
    checkpoint pickles from get_unsafe_globals_in_checkpoint and let loads pass without the code under test."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.add_safe_globals(saved)
