"""Fixtures shared by the lab's tests."""
import pytest

from tests._analysis_testlib import folder_without_test_split


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A folder with train/ and validation/ (no test/) and a linear checkpoint that fits it (the analysis
    tools' checks before their work: tests/lab/test_common.py, test_fgsm.py)."""
    return folder_without_test_split(tmp_path_factory.mktemp("checks"))
