"""The Tucker format: a core tensor and one factor matrix per mode."""

from __future__ import annotations

import math

from .._backend import get_backend
from .._validation import check_array, check_option
from ..linalg._tensor_ops import _multi

__all__ = ["TuckerTensor"]

# below this relative error the cheap formula ||X||^2 - 2<X, X^> + ||X^||^2 cancels to noise
# (its rounding error is ~1e-16 ||X||^2, i.e. ~1e-8 in the unsquared error): form the difference
_CANCELLATION_RELERR = 1e-4


class TuckerTensor:
    """A tensor ``X^ = G x_1 U_1 x_2 U_2 ⋯ x_N U_N`` kept in factored form.

    Parameters
    ----------
    core : array, shape (r_1, ..., r_N)
    factors : sequence of arrays
        ``factors[n]`` of shape ``(I_n, r_n)``; usually with orthonormal columns (every
        decomposition in :mod:`lowrank_la.tensor` returns those), but any matrices work.

    Attributes
    ----------
    core, factors, shape, rank, ndim

    Raises
    ------
    ValueError
        If the number or shapes of the factors do not match the core.
    TypeError
        If the arrays come from different array libraries.

    References
    ----------
    L. R. Tucker, "Some mathematical notes on three-mode factor analysis", Psychometrika 31, 1966;
    T. G. Kolda, B. W. Bader, SIAM Review 51(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.tensor import TuckerTensor
    >>> G = np.ones((2, 2, 2))
    >>> U = [np.linalg.qr(np.random.default_rng(n).standard_normal((5, 2)))[0] for n in range(3)]
    >>> T = TuckerTensor(G, U)
    >>> T.shape, T.rank, T.size
    ((5, 5, 5), (2, 2, 2), 38)
    >>> bool(np.isclose(T.norm(), np.linalg.norm(T.to_dense())))
    True
    """

    def __init__(self, core, factors):
        check_array(core, "core", finite=False)
        factors = list(factors)
        if len(factors) != core.ndim:
            raise ValueError(
                f"`factors` must have one matrix per core mode ({core.ndim}), got {len(factors)}"
            )
        for n, U in enumerate(factors):
            check_array(U, f"factors[{n}]", ndim=2, finite=False)
            if U.shape[1] != core.shape[n]:
                raise ValueError(
                    f"`factors[{n}]` of shape {tuple(U.shape)} must have {core.shape[n]} columns "
                    f"(core mode {n})"
                )
        self._bk = get_backend(core, *factors)
        self.core = core
        self.factors = factors

    @property
    def ndim(self) -> int:
        return self.core.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the full tensor, ``(I_1, ⋯, I_N)``."""
        return tuple(int(U.shape[0]) for U in self.factors)

    @property
    def rank(self) -> tuple[int, ...]:
        """Core shape (multilinear rank), ``(r_1, ⋯, r_N)``."""
        return tuple(int(s) for s in self.core.shape)

    @property
    def size(self) -> int:
        """Number of stored parameters, ``prod(r_n) + sum(I_n r_n)``."""
        return math.prod(self.rank) + sum(i * r for i, r in zip(self.shape, self.rank))

    @property
    def dtype(self):
        return self.core.dtype

    def to_dense(self):
        """The full tensor ``G x_1 U_1 ⋯ x_N U_N`` (same namespace, device and dtype)."""
        return _multi(self._bk.xp, self.core, self.factors, range(self.ndim), False)

    def norm(self):
        """Frobenius norm, without forming the tensor (``||G||`` for orthonormal factors)."""
        xp = self._bk.xp
        grams = [U.T @ U for U in self.factors]
        # <G, G x_n (U_nᵀ U_n)> = ||X^||^2 for any factors
        val = xp.sum(self.core * _multi(xp, self.core, grams, range(self.ndim), False))
        return math.sqrt(max(float(self._bk.to_host(val)), 0.0))

    def project(self, X):
        """``X x_1 U_1ᵀ ⋯ x_N U_Nᵀ``: the core that best fits ``X`` for orthonormal factors."""
        self._check_like(X)
        return _multi(self._bk.xp, X, self.factors, range(self.ndim), True)

    def relative_error(self, X, *, method="auto"):
        """Relative error ``||X - X^||_F / ||X||_F`` (unsquared).

        Parameters
        ----------
        X : array, shape ``self.shape``
            The reference tensor (same backend).
        method : {"auto", "dense", "inner"}
            ``"inner"`` expands ``||X||^2 - 2<X, X^> + ||X^||^2`` (one projection of ``X``, never
            forms ``X^``); it cancels below ~1e-4 relative error, where ``"auto"`` falls back to
            ``"dense"``, which forms ``X - X^``.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If ``X`` has another shape or is zero.
        """
        method = check_option(method, "method", ("auto", "dense", "inner"))
        self._check_like(X)
        bk, xp = self._bk, self._bk.xp
        X = X if X.dtype == self.core.dtype else xp.astype(X, self.core.dtype)
        nx2 = float(bk.to_host(xp.sum(X * X)))
        if nx2 == 0.0:
            raise ValueError("`X` is zero: the relative error is undefined")
        if method != "dense":
            cross = float(bk.to_host(xp.sum(self.project(X) * self.core)))
            err2 = nx2 - 2.0 * cross + self.norm() ** 2
            rel = math.sqrt(max(err2, 0.0) / nx2)
            if method == "inner" or rel > _CANCELLATION_RELERR:
                return rel
        diff = X - self.to_dense()
        return math.sqrt(float(bk.to_host(xp.sum(diff * diff))) / nx2)

    def _check_like(self, X):
        check_array(X, "X", finite=False)
        if tuple(X.shape) != self.shape:
            raise ValueError(f"`X` must have shape {self.shape}, got {tuple(X.shape)}")
        get_backend(X, self.core)

    def __repr__(self):
        return (f"TuckerTensor(shape={self.shape}, rank={self.rank}, size={self.size}, "
                f"backend={self._bk.name})")
