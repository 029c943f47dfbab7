"""_files.py: atomic_write leaves the whole new file or the old one, never a part, and no temporary file."""
import os

import pytest

from smix_timm._files import atomic_write


def test_writes_text_and_bytes_and_replaces_the_old_file(tmp_path):
    path = str(tmp_path / "a.txt")
    atomic_write(path, "first\n")
    assert open(path).read() == "first\n"
    atomic_write(path, b"\x00second")
    assert open(path, "rb").read() == b"\x00second"
    assert os.listdir(tmp_path) == ["a.txt"]  # no .partial left beside it


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial(tmp_path, monkeypatch):
    path = str(tmp_path / "keep.txt")
    atomic_write(path, "old")

    def no_rename(src, dst):
        assert os.path.exists(src) and src == path + ".tmp-x"  # the whole new text was written aside
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, "new", partial_suffix=".tmp-x")
    assert open(path).read() == "old" and os.listdir(tmp_path) == ["keep.txt"]


def test_an_interrupted_first_write_leaves_no_file(tmp_path, monkeypatch):
    path = str(tmp_path / "new.txt")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, "text")
    assert os.listdir(tmp_path) == []


def test_data_that_is_neither_text_nor_bytes_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        atomic_write(str(tmp_path / "new.txt"), 12345)
    assert os.listdir(tmp_path) == []
