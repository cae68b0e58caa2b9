"""bayesmi: Bayesian mutual-information estimation with Gaussian mixtures.

>>> import bayesmi
>>> x, y = bayesmi.toys.gaussian(rho=0.75).sample(2000, seed=0)
>>> res = bayesmi.estimate_mi(x, y, method="nuts", seed=0)   # doctest: +SKIP
>>> res.mean, res.sd, res.interval(0.95)                       # doctest: +SKIP
"""

import os as _os


def _use_all_cores_for_chains() -> None:
    """Expose one XLA CPU device per core so NUTS chains run in parallel.

    This only takes effect if JAX has not started its backend yet and the
    user has not set the device count themselves (XLA_FLAGS).
    """
    flags = _os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        _os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={_os.cpu_count() or 1}".strip()
        )


_use_all_cores_for_chains()

from bayesmi import toys  # noqa: E402
from bayesmi.estimate import estimate_mi  # noqa: E402
from bayesmi.inputs import TiesWarning  # noqa: E402
from bayesmi.models import GMMPrior  # noqa: E402
from bayesmi.result import ConvergenceWarning, MIResult  # noqa: E402

__all__ = ["estimate_mi", "MIResult", "GMMPrior", "ConvergenceWarning", "TiesWarning", "toys"]
__version__ = "0.1.0"
