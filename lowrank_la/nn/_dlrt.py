"""DLRT basis augmentation (Schotthöfer et al., "Low-rank lottery tickets").

One DLRT step on a factored weight ``W = U S V^T`` is: K- and L-steps as explicit Euler steps of
the factor gradient flows, augmentation of the bases with the old ones (the rank-adaptive BUG
integrator of Ceruti, Kusch and Lubich), a Galerkin step on the augmented core (done by the
caller with its autograd), and truncation of the core by :func:`lowrank_la.dlra.truncate_core`.
Only the augmentation is new here; QR and truncation come from :mod:`lowrank_la.linalg` and
:mod:`lowrank_la.dlra`.
"""

from __future__ import annotations

from .._backend import get_backend
from .._validation import check_matrix, check_positive, check_same_backend
from ..linalg import qr

__all__ = ["dlrt_augment", "clamp_core"]


def dlrt_augment(U, S, V, grad_K, grad_L, lr):
    """K- and L-steps and basis augmentation of one DLRT step.

    With ``K = U S - lr grad_K`` and ``L = V S^T - lr grad_L`` the new bases are
    ``U' = orth([K, U])`` and ``V' = orth([L, V])`` (at most ``min(m, 2r)`` and ``min(n, 2r)``
    columns) and the core ``S' = (U'^T U) S (V^T V')``, so that ``U' S' V'^T`` equals the old
    ``U S V^T`` exactly (up to rounding): the Galerkin step then starts from the old weight.

    Parameters
    ----------
    U : array, shape (m, r)
        Orthonormal columns.
    S : array, shape (r, q)
    V : array, shape (n, q)
        Orthonormal columns.
    grad_K : array, shape (m, q)
        ``G V`` with ``G`` the loss gradient with respect to the full weight (computed without
        forming ``G``: ``d^T (x V)`` for a linear layer).
    grad_L : array, shape (n, r)
        ``G^T U``.
    lr : float
        Step size of the explicit Euler K- and L-steps.

    Returns
    -------
    U1 : array, shape (m, p)
    S1 : array, shape (p, p2)
    V1 : array, shape (n, p2)

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite input, ``lr <= 0``.

    References
    ----------
    .. [1] S. Schotthöfer, E. Zangrando, J. Kusch, G. Ceruti, F. Tudisco, Low-rank lottery
       tickets: finding efficient low-rank neural networks via matrix differential equations,
       NeurIPS 2022.
    .. [2] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import dlrt_augment
    >>> U, V = np.eye(4)[:, :1], np.eye(3)[:, :1]
    >>> S = np.array([[2.0]])
    >>> U1, S1, V1 = dlrt_augment(U, S, V, np.ones((4, 1)), np.ones((3, 1)), 0.1)
    >>> U1.shape, bool(np.allclose(U1 @ S1 @ V1.T, U @ S @ V.T))
    ((4, 2), True)
    """
    for name, A in (("U", U), ("S", S), ("V", V), ("grad_K", grad_K), ("grad_L", grad_L)):
        check_matrix(A, name, dtype_kind="real floating")
    bk = check_same_backend(("U", U), ("S", S), ("V", V), ("grad_K", grad_K),
                            ("grad_L", grad_L))
    lr = check_positive(lr, "lr")
    m, r = U.shape
    n, q = V.shape
    if tuple(S.shape) != (r, q):
        raise ValueError(f"`S` must have shape ({r}, {q}), got {tuple(S.shape)}")
    if tuple(grad_K.shape) != (m, q):
        raise ValueError(f"`grad_K` must have shape ({m}, {q}), got {tuple(grad_K.shape)}")
    if tuple(grad_L.shape) != (n, r):
        raise ValueError(f"`grad_L` must have shape ({n}, {r}), got {tuple(grad_L.shape)}")
    xp = bk.xp
    K = U @ S - lr * grad_K
    L = V @ S.T - lr * grad_L
    U1, _ = qr(xp.concat([K, U], axis=1), check=False)
    V1, _ = qr(xp.concat([L, V], axis=1), check=False)
    S1 = (U1.T @ U) @ S @ (V.T @ V1)
    return U1, S1, V1


def clamp_core(U, S, V, kappa):
    """Clamp the singular values of the core into ``[s_max / kappa, s_max]`` (CondClamp).

    The approximate orthonormal constraint of robust low-rank training keeps each layer's
    condition number bounded; this projection does it exactly after a step: SVD the core
    ``S = P diag(s) Q^T``, clip ``s``, and rotate the bases ``U P``, ``V Q``.

    Parameters
    ----------
    U : array, shape (m, r)
    S : array, shape (r, q)
    V : array, shape (n, q)
    kappa : float
        Largest allowed condition number, ``>= 1`` (1 gives a scaled partial isometry).

    Returns
    -------
    U1, S1, V1 : arrays
        ``S1`` diagonal with condition number ``<= kappa``; also ``P`` and ``Q``
        (the rotations, for transforming optimizer state) as fourth and fifth outputs.

    Raises
    ------
    ValueError
        ``kappa < 1`` or non-finite input.

    References
    ----------
    .. [1] D. Savostianova, E. Zangrando, G. Ceruti, F. Tudisco, Robust low-rank training via
       approximate orthonormal constraints, NeurIPS 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import clamp_core
    >>> U1, S1, V1, P, Q = clamp_core(np.eye(2), np.diag([10.0, 0.1]), np.eye(2), 4.0)
    >>> np.diag(S1).tolist()
    [10.0, 2.5]
    """
    for name, A in (("U", U), ("S", S), ("V", V)):
        check_matrix(A, name, dtype_kind="real floating")
    bk = check_same_backend(("U", U), ("S", S), ("V", V))
    kappa = check_positive(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"`kappa` must be >= 1, got {kappa}")
    xp = bk.xp
    P, s, Qh = get_backend(S).linalg.svd(S)
    smax = s[0]
    s = xp.clip(s, smax / kappa, smax)
    S1 = xp.eye(s.shape[0], dtype=S.dtype, device=bk.device) * s[None, :]
    Q = Qh.T
    return U @ P, S1, V @ Q, P, Q
