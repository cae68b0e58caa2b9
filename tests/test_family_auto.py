"""``family="auto"``: where t components are fitted (a t copula, and one t beating two), where the
Gaussian fit is kept, and its fall-backs. Apart from ``test_student_mixture.py`` so that pytest-xdist's
per-file scheduling runs the two files' slow fits on different workers."""

import numpy as np
import pytest

from bayesmi import toys
from bayesmi.inputs import copula_dof

#: Fewer draws where a test checks routes and flags rather than coverage.
QUICK = dict(num_warmup=200, num_samples=300, progress=False, seed=0)


def test_family_auto_fits_t_components_only_where_the_ranks_show_a_t_copula():
    """``family="auto"``: Gaussian-copula data get exactly the Gaussian fit (the default's); t-copula data
    get t components on t scores."""
    from bayesmi import estimate_mi

    x, y = toys.SUITE["half_cube_1x1"].sample(800, seed=2)
    auto, gaussian = (estimate_mi(x, y, predictive_check=False, **QUICK, **kw) for kw in ({"family": "auto"}, {}))
    assert auto.diagnostics["family"] == "gaussian" and auto.diagnostics["copula_dof"] == np.inf
    np.testing.assert_array_equal(auto.draws, gaussian.draws)
    x, y = toys.SUITE["student_1x1_dof1"].sample(800, seed=2)
    heavy = estimate_mi(x, y, family="auto", predictive_check=False, **QUICK)
    assert heavy.diagnostics["family"] == "student" and heavy.diagnostics["copula_dof"] == 1.0


def test_strongly_dependent_normal_columns_keep_the_gaussian_copula():
    """At 5 nats (N = 2000) the rank scores' tails are coarser than the conditional spread (gaps
    ~0.1 against 0.007 at z = 3) and a t copula fitted them better (ν = 6 chosen); with the columns'
    normal margins used instead of their ranks (:func:`copula_probabilities`) the Gaussian copula is
    kept, and family="auto" gives the Gaussian fit, which covers the truth (4.78 [4.73, 4.83] with
    the t-scored ranks)."""
    from bayesmi import estimate_mi

    rng = np.random.default_rng(5)
    rho = np.sqrt(1 - np.exp(-10.0))
    x = rng.normal(size=2000)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=2000)
    assert copula_dof(np.column_stack([x, y])) == np.inf
    result = estimate_mi(x, y, family="auto", progress=False, seed=0)
    assert result.diagnostics["family"] == "gaussian"
    low, high = result.interval(0.95)
    assert low <= 5.0 <= high


def test_family_auto_falls_back_to_gaussian_components_where_t_draws_break_down():
    """exp margins (rank-scored) 7 nats apart at N = 1000: 75% of rows share their x and y ranks, and a
    t copula of ν = 1 wins. With K left to "auto", two t components beat one and Gaussian ones are
    fitted (measured: diagnostics copula_dof 1, t_components 2). With K fixed at 3 (no such test) the
    t sampler's float32 draws come out NaN: family="auto"
    says so (ConvergenceWarning, diagnostics["t_failure"]) and returns the Gaussian fit, finite and
    flagged by its check, while family="student" raises; neither crashes or summarises NaN."""
    import warnings

    from bayesmi import ConvergenceWarning, estimate_mi
    from bayesmi.fitting import NonFiniteDrawsError

    rng = np.random.default_rng(1)
    rho = np.sqrt(1 - np.exp(-14.0))
    x = rng.normal(size=1000)
    y = np.exp(rho * x + np.sqrt(1 - rho**2) * rng.normal(size=1000))
    x = np.exp(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimate_mi(x, y, family="auto", num_components=3, **QUICK)
    assert any(issubclass(w.category, ConvergenceWarning) and "t_failure" in str(w.message) for w in caught)
    assert result.diagnostics["family"] == "gaussian" and "non-finite" in result.diagnostics["t_failure"]
    assert np.isfinite(result.interval(0.95)).all()
    assert not result.check_passed
    with pytest.raises(NonFiniteDrawsError, match="almost deterministic"):
        estimate_mi(x, y, family="student", num_components=3, predictive_check=False, **QUICK)


def test_family_auto_fits_one_t_only_where_one_t_beats_two():
    """The t-copula model holds for Student-t data (one t component, K = 1, closed-form MI) and not for a
    spiral, whose t copula verdict (ν = 6) comes from heavy joint tails of curved dependence: two t
    components fit better by BIC and the fit is the Gaussian one, the same as family="gaussian"."""
    from bayesmi import estimate_mi

    x, y = toys.SUITE["student_2x2_dof2"].sample(1000, seed=3)
    student = estimate_mi(x, y, family="auto", predictive_check=False, **QUICK)
    assert student.diagnostics["t_components"] == 1 and student.diagnostics["family"] == "student"
    assert np.all(np.asarray(student.diagnostics["n_components"]) == 1)
    x, y = toys.SUITE["spiral_2x1"].sample(1000, seed=3)
    spiral = estimate_mi(x, y, family="auto", predictive_check=False, **QUICK)
    assert np.isfinite(spiral.diagnostics["copula_dof"]) and spiral.diagnostics["t_components"] == 2
    assert spiral.diagnostics["family"] == "gaussian"
    gaussian = estimate_mi(x, y, family="gaussian", predictive_check=False, **QUICK)
    np.testing.assert_array_equal(spiral.draws, gaussian.draws)
