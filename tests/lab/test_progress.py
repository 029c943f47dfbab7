"""smix_lab.progress: the progress lines of long runs and their time left, each kind of run at its own mean."""
import pytest

from smix_lab import progress as progress_module


def test_progress_estimates_each_kind_of_run_at_its_own_mean(monkeypatch):
    clock = iter([0.0, 600.0, 600.0, 660.0, 660.0, 660.0])
    monkeypatch.setattr(progress_module.time, "time", lambda: next(clock))
    lines = []
    p = progress_module.Progress({"classify": 3, "transfer": 2}, lines.append, "study", parallel=2)
    assert p.minutes_left() is None
    p.finish(p.start("classify a", "classify"), True, "classify")        # 600 s
    # 2 classify left at 600 s, 2 transfer not run yet (counted at the overall mean, 600 s), 2 at once
    assert p.minutes_left() == pytest.approx(4 * 600 / 2 / 60)
    p.finish(p.start("transfer a", "transfer"), True, "transfer")        # 60 s
    p.finish(p.start("classify b", "classify"), False, "classify")       # read back: no time
    assert p.minutes_left() == pytest.approx((1 * 600 + 1 * 60) / 2 / 60)
    p.start("classify c", "classify")
    assert lines == ["[study] 1/5: classify a", "[study] 2/5: transfer a, about 20 min left",
                     "[study] 3/5: classify b, about 10 min left", "[study] 4/5: classify c, about 6 min left"]
