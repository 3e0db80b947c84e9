"""bench/judge_google.py in its smallest configuration: what its table says about the judges, on a few seeds.

The benchmark itself runs hundreds of seeds; these check the claims a reader takes from its table and the
data model under them (a minute is judged only once Monitoring has served all of it), never wall-clock time.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from bench import judge_google
from bench.judge_google_data import CASES, MAX_DELAY_S, MINUTE_S, TICK_S, Case, Run, settle_time

SEEDS = 6


def _case(prefix: str) -> Case:
    return next(c for c in CASES if c.name.startswith(prefix))


def _cells(prefix: str, *judges: str) -> dict[str, judge_google.Cell]:
    cells = judge_google.measure([_case(prefix)], list(judges), SEEDS, 10)
    return {cell.judge: cell for cell in cells}


def test_a_minute_is_judged_only_once_all_its_points_are_served_and_at_most_180_s_after_it_ends() -> None:
    case = _case("healthy, 20 rps")
    for seed in range(SEEDS):
        run = Run.draw(case, 10, np.random.default_rng([seed, zlib.crc32(case.name.encode())]))
        for m in range(run.minutes):
            end = (m + 1) * MINUTE_S
            at = settle_time(run, m)
            last_point = max(float(d[m]) for r in (run.canary, run.stable) for d in (r.count_delay, r.latency_delay))
            assert end + last_point <= at <= end + MAX_DELAY_S
            # re-read on the tick after the last point came (or at the bound), not later
            assert at <= min(end + MAX_DELAY_S, end + TICK_S * (int(last_point // TICK_S) + 2))


def test_flagger_rolls_back_no_sooner_than_its_interval_times_threshold_plus_the_check_that_acts() -> None:
    cells = _cells("5xx +1 pp", judge_google.FLAGGER_DEFAULTS, "Flagger fast (30s, threshold 2)")
    defaults, fast = cells[judge_google.FLAGGER_DEFAULTS], cells["Flagger fast (30s, threshold 2)"]
    assert defaults.times and fast.times
    assert min(defaults.times) >= 60 * (5 + 1)
    assert min(fast.times) >= 30 * (2 + 1)


def test_this_judge_rolls_back_a_1_pp_5xx_regression_every_time_and_sooner_than_flagger() -> None:
    cells = _cells("5xx +1 pp", judge_google.FLAGGER_DEFAULTS, "this judge", "this judge + probes")
    flagger = cells[judge_google.FLAGGER_DEFAULTS]
    for name in ("this judge", "this judge + probes"):
        assert cells[name].rolled_back == 1.0
        ours = cells[name].median
        assert ours is not None and (flagger.median is None or ours < flagger.median)
    rows = judge_google.table(list(cells.values()))
    assert any("this judge + probes" in row and f"detected 100.0% ({SEEDS}/{SEEDS})" in row for row in rows)


def test_flagger_promotes_a_canary_whose_p99_is_30_percent_above_stable_and_this_judge_does_not() -> None:
    cells = _cells("p99 +30 %", judge_google.FLAGGER_DEFAULTS, "this judge")
    assert cells[judge_google.FLAGGER_DEFAULTS].promoted == 1.0  # 234 ms is under its absolute 500 ms
    assert cells["this judge"].rolled_back == 1.0


def test_healthy_low_traffic_canaries_are_not_rolled_back_by_this_judge() -> None:
    cells = _cells("healthy, 0.2 rps", "this judge", "this judge + probes")
    assert cells["this judge"].rolled_back == 0.0
    assert cells["this judge + probes"].rolled_back == 0.0


def test_the_script_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    judge_google.main(["--seeds", "2", "--case", "5xx +1 pp (0.2 % -> 1.2 %), 20", "--only", "this judge"])
    out = capsys.readouterr().out
    assert "| 5xx +1 pp (0.2 % -> 1.2 %), 20 rps | this judge | detected 100.0% (2/2) |" in out
    assert "| 5xx +1 pp (0.2 % -> 1.2 %), 20 rps | Flagger defaults (1m, threshold 5) |" in out


def test_bad_arguments_are_refused_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        judge_google.main(["--seeds", "0"])
    assert stopped.value.code == 2
    assert "--seeds, --jobs and --planned-windows must be at least 1" in capsys.readouterr().err
