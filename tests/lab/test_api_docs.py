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


def test_every_parameter_of_every_public_callable_is_named_in_its_docstring(rendered):
    assert api_docs.undocumented_parameters() == []


def test_the_parameter_check_sees_an_omitted_parameter(monkeypatch):
    from smix_timm import placement
    monkeypatch.setattr(placement.patch_size, "__doc__", "Patch sides.\n\nArgs:\n    lam: share kept.\n")
    assert api_docs.undocumented_parameters() == ["patch_size: height", "patch_size: width"]


def test_an_args_reference_counts_the_other_docstring_and_must_name_a_twin(monkeypatch):
    import smix_timm.mix as mix
    # FastCollateSaliencyMix documents its Args as SaliencyMix's: dropping a name there is seen for both
    monkeypatch.setattr(mix.SaliencyMix, "__doc__", mix.SaliencyMix.__doc__.replace("per: ", "pre: "))
    missing = api_docs.undocumented_parameters()
    assert "SaliencyMix: per" in missing and "FastCollateSaliencyMix: per" in missing
    monkeypatch.setattr(mix.FastCollateSaliencyMix, "__doc__", "Collate.\n\nArgs:\n    The same as ``saliency_map``.\n")
    with pytest.raises(ValueError, match="same signature"):
        api_docs.undocumented_parameters()


def test_check_mode_flags_a_stale_file_and_writes_nothing(rendered, tmp_path):
    stale = tmp_path / "api.md"
    stale.write_text(rendered.replace("SaliencyMix", "SaliencyMiks", 1), encoding="utf-8")
    assert api_docs.main(["--out", str(stale), "--check"]) == 1
    assert "SaliencyMiks" in stale.read_text(encoding="utf-8")
    fresh = tmp_path / "fresh.md"
    assert api_docs.main(["--out", str(fresh)]) == 0 and fresh.read_text(encoding="utf-8") == rendered
    assert api_docs.main(["--out", str(fresh), "--check"]) == 0
