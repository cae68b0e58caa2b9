"""How a mixture posterior is fitted and integrated: :class:`FitOptions`, the one carrier of fit settings.

Every mixture-based estimator (:func:`bayesmi.estimate_mi` and its categorical form,
:func:`~bayesmi.estimate_entropy`, :func:`~bayesmi.estimate_kl`, :func:`~bayesmi.estimate_cmi`,
:func:`~bayesmi.mi_matrix`, :func:`~bayesmi.compare`, the validation runner) takes
``options=FitOptions(...)`` and/or the same settings as keyword arguments, resolved here by
:meth:`FitOptions.resolve`. This module is light (no JAX): the command line reads its names
before any heavy import.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from bayesmi.util import check_int, find_stack_level

if TYPE_CHECKING:
    from bayesmi.models import GMMPrior

__all__ = ["FitOptions", "METHODS", "MIXTURE_METHODS", "SELECTION_CRITERIA", "MC_SE_TARGET"]

#: Mixture inference methods: exact conjugate Gibbs, NUTS, SVI (full-rank Gaussian guide), and the
#: frequentist bootstrap of maximum-likelihood EM (the GMM-MI baseline).
MIXTURE_METHODS = ("gibbs", "nuts", "svi", "bootstrap")
#: Every method: the mixture methods, the KSG nearest-neighbour baseline and MIENF flows with a
#: Gaussian posterior on their latents (these two: I(X;Y) of continuous x and y only, through
#: ``estimate_mi``).
METHODS = (*MIXTURE_METHODS, "ksg", "mienf")
#: Families of mixture components: Gaussian, multivariate Student-t (Gaussian scale mixtures with degrees
#: of freedom per component; the Gibbs sampler only), or "auto": t components where ``estimate_mi``'s joint
#: route finds a t copula, Gaussian ones everywhere else.
FAMILIES = ("auto", "gaussian", "student")
#: Rules for the number of components.
SELECTION_CRITERIA = ("bic", "aic", "cv")
#: The Monte Carlo error of the per-draw integral is kept below this fraction of the posterior
#: sd, so MC noise does not inflate the posterior.
MC_SE_TARGET = 0.1
#: Old option names, accepted one release with a DeprecationWarning.
RENAMED = {"n_components": "num_components", "svi_steps": "num_steps", "n_bootstrap": "num_bootstrap",
           "mc_points": "num_points", "mc_randomizations": "num_randomizations"}


@dataclass(frozen=True)
class FitOptions:
    """Settings of the mixture fit and of the per-draw integral.

    Attributes
    ----------
    method : "gibbs" (default: the exact conjugate Gibbs sampler, fastest), "nuts" (NumPyro NUTS on
        the same model), "svi" (full-rank Gaussian variational posterior) or "bootstrap" (the
        frequentist GMM-MI baseline: maximum-likelihood EM, K by cross-validation, ``num_bootstrap``
        EM refits on resampled rows), or "ksg" (no mixture: the Kraskov et al. nearest-neighbour
        estimate of I(X;Y) with ``num_neighbours``, its spread from ``num_bootstrap`` half-samples;
        :mod:`bayesmi.estimators.ksg`), or "mienf" (normal scores, MIENF flows, and the posterior of a
        single Gaussian on their latents; :mod:`bayesmi.estimators.mienf`).
    family : the mixture components: "auto" (default), "gaussian" or "student". "student":
        multivariate t components, each with its own degrees of freedom ν (prior in
        :class:`bayesmi.models.GMMPrior`), K chosen by BIC of t-mixture EM, for dependence carried by a
        shared heavy-tailed scale (a t copula), which Gaussian mixtures misjudge even with many
        components; of the mixture methods, "gibbs" only. "auto": in ``estimate_mi``'s joint route with
        method "gibbs" and ``transform="auto"``, one t component on the t scores of every column where
        a t copula fits their ranks better than the Gaussian one and one t component beats two by BIC;
        Gaussian components everywhere else, exactly as "gaussian" (the Gaussian copula, other methods,
        transforms and estimators).
    num_components : mixture size K, or "auto" to choose it by ``select_by`` (K ≤ ``max_components``).
    max_components : largest K tried by "auto".
    select_by : "bic", "aic" or "cv" (2-fold cross-validated held-out likelihood with a
        one-standard-error rule); None means "cv" for the bootstrap and "bic" otherwise.
    prior : the mixture prior (:class:`bayesmi.models.GMMPrior`); None means ``GMMPrior()`` for the
        Bayesian methods and maximum likelihood for the bootstrap (a prior gives MAP refits).
    num_chains, num_warmup, num_samples : Markov chains, warmup iterations per chain and draws kept
        per chain (Gibbs, NUTS); SVI draws ``num_chains`` × ``num_samples`` independent samples.
    num_steps : SVI optimisation steps.
    num_bootstrap : bootstrap replicates (the "draws" of the bootstrap, one chain), or KSG half-samples.
    num_neighbours : k of the KSG estimator ("ksg").
    num_points, num_randomizations : randomised-QMC points per component (a power of two) and
        independent randomisations for each draw's integral; the points are multiplied by 4 (up to
        twice) until the MC standard error is at most ``MC_SE_TARGET`` × the posterior sd. A pilot
        on a few draws may start with a quarter or half of ``num_points`` where these meet the
        target (:func:`bayesmi.fitting.integrate`); ``diagnostics["num_points"]`` says what was used.
    predictive_check : after a joint fit, check that the posterior reproduces the data's dependence
        (:func:`bayesmi.checks.predictive_check`; ~0.5 s): a failure sets ``result.check_passed``
        False and issues a MisfitWarning.
    progress : show one progress bar per call, advanced through its stages.
    """

    method: str = "gibbs"
    family: str = "auto"
    num_components: int | str = "auto"
    max_components: int = 10
    select_by: str | None = None
    prior: GMMPrior | None = None
    num_chains: int = 4
    num_warmup: int = 500
    num_samples: int = 1000
    num_steps: int = 3000
    num_bootstrap: int = 50
    num_neighbours: int = 10
    num_points: int = 256
    num_randomizations: int = 8
    predictive_check: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.family == "student" and self.method in MIXTURE_METHODS and self.method != "gibbs":
            raise ValueError(f"family='student' is sampled by method='gibbs' only, got method={self.method!r}")
        k = self.num_components
        if k != "auto":
            check_int(k, "num_components (an int or 'auto')", 1)
        check_int(self.max_components, "max_components", 1)
        if self.select_by is not None and self.select_by not in SELECTION_CRITERIA:
            raise ValueError(f"select_by must be one of {SELECTION_CRITERIA}, got {self.select_by!r}")
        for name in ("num_chains", "num_warmup", "num_samples", "num_steps", "num_bootstrap", "num_neighbours"):
            check_int(getattr(self, name), name, 0 if name == "num_warmup" else 1)
        points = check_int(self.num_points, "num_points", 2)
        if points & (points - 1):
            raise ValueError(f"num_points must be a power of two, got {points}")
        check_int(self.num_randomizations, "num_randomizations", 2)
        for name in ("predictive_check", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.prior is not None and not hasattr(self.prior, "rate_matrix"):
            raise TypeError(f"prior must be a bayesmi.models.GMMPrior or None, got {type(self.prior).__name__}")

    @classmethod
    def resolve(cls, options: FitOptions | None = None, /, **settings: Any) -> FitOptions:
        """``options`` (default ``FitOptions()``) with ``settings`` replacing its fields.

        Unknown names raise a TypeError that lists the valid ones; the old names of
        :data:`RENAMED` (``n_components``, ``svi_steps``, ``n_bootstrap``, ``mc_points``,
        ``mc_randomizations``) are accepted with a DeprecationWarning.
        """
        if options is not None and not isinstance(options, FitOptions):
            raise TypeError(f"options must be a FitOptions, got {type(options).__name__}")
        for old, new in RENAMED.items():
            if old in settings:
                if new in settings:
                    raise TypeError(f"got both {old!r} (the old name) and {new!r}")
                warnings.warn(f"the option {old!r} is now called {new!r}; the old name will be removed in the "
                              "next release", DeprecationWarning, stacklevel=find_stack_level())
                settings[new] = settings.pop(old)
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; the fit options (bayesmi.FitOptions) are {names}")
        return dataclasses.replace(options if options is not None else cls(), **settings)

    @property
    def effective_select_by(self) -> str:
        """``select_by``, or its default for the method: "cv" for the bootstrap, "bic" otherwise."""
        return self.select_by or ("cv" if self.method == "bootstrap" else "bic")
