"""smix_lab/api_docs.py: docs/api.md is what the code's signatures and docstrings give, every parameter of the
main entry points is named in its docstring, and --check fails on a stale file."""
import os

import pytest

from smix_lab import api_docs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def rendered():
    pytest.importorskip("mmdet")  # the reference covers smix_mmdet too
    return api_docs.render()


def test_docs_api_md_is_up_to_date(rendered):
    with open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8") as f:
        on_disk = f.read()
    assert on_disk == rendered, "docs/api.md is stale: run python tools/docs/make_api_md.py"
    for name in ("SaliencyMix", "FastCollateSaliencyMix", "saliency_map", "max_value", "channels", "backend"):
        assert name in rendered


MAIN_ENTRY_POINTS = ("SaliencyMix", "saliency_map")


def test_every_parameter_of_the_main_entry_points_is_named_in_its_docstring(rendered):
    missing = api_docs.undocumented_parameters()
    assert [m for m in missing if m.split(":")[0] in MAIN_ENTRY_POINTS] == []
    assert "FastCollateSaliencyMix: cutmix_alpha" in missing  # the check sees a parameter its docstring omits


def test_check_mode_flags_a_stale_file_and_writes_nothing(rendered, tmp_path):
    stale = tmp_path / "api.md"
    stale.write_text(rendered.replace("SaliencyMix", "SaliencyMiks", 1), encoding="utf-8")
    assert api_docs.main(["--out", str(stale), "--check"]) == 1
    assert "SaliencyMiks" in stale.read_text(encoding="utf-8")
    fresh = tmp_path / "fresh.md"
    assert api_docs.main(["--out", str(fresh)]) == 0 and fresh.read_text(encoding="utf-8") == rendered
    assert api_docs.main(["--out", str(fresh), "--check"]) == 0
