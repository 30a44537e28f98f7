"""Tucker DLRT for convolution kernels (Zangrando et al.): basis augmentation and truncation.

The kernel is ``W = C x_1 U_1 ... x_d U_d``.  Per mode ``i``: ``unfold_i(C)^T = Q_i R_i``
(thin QR), so ``unfold_i(W) = K_i V_i^T`` with ``K_i = U_i R_i^T`` and
``V_i = (kron of the other U_j) Q_i``; the K-step is ``K_i -= lr unfold_i(G) V_i`` computed as
``unfold_i(G x_{j != i} U_j^T) Q_i`` (no Kronecker product formed), and the basis is augmented
to ``orth([K_i, U_i])``.  The core moves to the augmented bases exactly; after the caller's
Galerkin step the core is truncated by a HOSVD of the (small) core.  Tensor algebra comes from
:mod:`lowrank_la.tensor`.
"""

from __future__ import annotations

from .._backend import get_backend
from .._validation import check_array, check_fraction, check_positive

__all__ = ["tucker_dlrt_augment", "tucker_truncate"]


def _check(core, factors):
    check_array(core, "core", dtype_kind="real floating")
    if len(factors) != core.ndim:
        raise ValueError(f"`factors` must hold {core.ndim} matrices, got {len(factors)}")
    for i, U in enumerate(factors):
        check_array(U, f"factors[{i}]", ndim=2, dtype_kind="real floating")
        if U.shape[1] != core.shape[i]:
            raise ValueError(f"`factors[{i}]` has {U.shape[1]} columns, core mode {i} has "
                             f"size {core.shape[i]}")


def tucker_dlrt_augment(core, factors, grad, lr):
    """K-steps and basis augmentation of one Tucker DLRT step.

    Parameters
    ----------
    core : array, shape (r_1, ..., r_d)
    factors : list of arrays
        ``factors[i]`` of shape ``(n_i, r_i)``, orthonormal columns.
    grad : array, shape (n_1, ..., n_d)
        Loss gradient with respect to the full tensor (cheap for convolution kernels).
    lr : float

    Returns
    -------
    core1 : array
        The old tensor in the augmented bases (``C x_i (U_i'^T U_i)``).
    factors1 : list of arrays
        ``orth([K_i - lr grad_K_i, U_i])``, at most ``min(n_i, 2 r_i)`` columns.

    Raises
    ------
    ValueError
        Mismatched shapes, non-finite input, ``lr <= 0``.

    References
    ----------
    .. [1] E. Zangrando, S. Schotthöfer, G. Ceruti, J. Kusch, F. Tudisco, Rank-adaptive
       spectral pruning of convolutional layers during training, arXiv 2305.19059 (2023).
    .. [2] G. Ceruti, J. Kusch, C. Lubich, Rank-adaptive time integration of tree tensor
       networks, SIAM J. Numer. Anal. 61 (2023).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import tucker_dlrt_augment
    >>> from lowrank_la.tensor import multi_mode_product
    >>> rng = np.random.default_rng(0)
    >>> U = [np.linalg.qr(rng.standard_normal((n, 2)))[0] for n in (5, 4, 3)]
    >>> C = rng.standard_normal((2, 2, 2))
    >>> C1, U1 = tucker_dlrt_augment(C, U, rng.standard_normal((5, 4, 3)), 0.1)
    >>> [u.shape[1] for u in U1]
    [4, 4, 3]
    >>> bool(np.allclose(multi_mode_product(C1, U1), multi_mode_product(C, U)))
    True
    """
    from ..linalg import qr
    from ..tensor import multi_mode_product, unfold

    _check(core, factors)
    shape = tuple(U.shape[0] for U in factors)
    check_array(grad, "grad", shape=shape, dtype_kind="real floating")
    lr = check_positive(lr, "lr")
    xp = get_backend(core).xp
    new = []
    for i, U in enumerate(factors):
        Q, R = qr(unfold(core, i).T, check=False)
        K = U @ R.T
        Gi = multi_mode_product(grad, list(factors), skip=i, transpose=True)
        K = K - lr * (unfold(Gi, i) @ Q)
        U1, _ = qr(xp.concat([K, U], axis=1), check=False)
        new.append(U1)
    core1 = multi_mode_product(core, [U1.T @ U for U1, U in zip(new, factors)])
    return core1, new


def tucker_truncate(core, factors, tau, *, max_rank=None, min_rank=1):
    """Truncate a Tucker tensor by a HOSVD of its core (relative error ``<= tau``).

    Parameters
    ----------
    core : array
    factors : list of arrays
        Orthonormal columns.
    tau : float in [0, 1)
        Relative Frobenius error target of the truncation (per-mode tails ``tau^2 ||C||^2/d``).
    max_rank : sequence of int, optional
        Per-mode caps.
    min_rank : int

    Returns
    -------
    core1, factors1

    References
    ----------
    .. [1] L. De Lathauwer, B. De Moor, J. Vandewalle, A multilinear singular value
       decomposition, SIAM J. Matrix Anal. Appl. 21 (2000).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import tucker_truncate
    >>> C = np.zeros((3, 3, 3)); C[0, 0, 0] = 1.0; C[1, 1, 1] = 1e-6
    >>> C1, U1 = tucker_truncate(C, [np.eye(3)] * 3, 0.01)
    >>> C1.shape
    (1, 1, 1)
    """
    from ..tensor import hosvd

    _check(core, factors)
    tau = check_fraction(tau, "tau", closed=True)
    d = core.ndim
    if tau > 0:
        T = hosvd(core, rtol=min(tau, 1 - 1e-12))
        ranks = list(T.rank)
    else:
        ranks = list(core.shape)
    ranks = [max(min(r, s), min(min_rank, s)) for r, s in zip(ranks, core.shape)]
    if max_rank is not None:
        ranks = [min(r, int(c)) for r, c in zip(ranks, max_rank)]
    T = hosvd(core, tuple(ranks))
    return T.core, [factors[i] @ T.factors[i] for i in range(d)]
