"""Principal angles between subspaces and subspace distances."""

from __future__ import annotations

from .._validation import check_matrix, check_option, check_same_backend
from ._qr import orthonormalize

__all__ = ["principal_angles", "subspace_distance"]


def _prepare(U, V, orthonormal):
    check_matrix(U, "U", dtype_kind="numeric")
    check_matrix(V, "V", dtype_kind="numeric")
    bk = check_same_backend(("U", U), ("V", V))
    if U.shape[0] != V.shape[0]:
        raise ValueError(
            f"`U` and `V` must have the same number of rows, got {tuple(U.shape)} and "
            f"{tuple(V.shape)}"
        )
    for name, X in (("U", U), ("V", V)):
        if X.shape[1] > X.shape[0]:
            raise ValueError(f"`{name}` must have at most as many columns as rows, got "
                             f"{tuple(X.shape)}")
    dtype = bk.float_dtype(U, V)
    U = bk.xp.astype(U, dtype)
    V = bk.xp.astype(V, dtype)
    if not orthonormal:
        U = orthonormalize(U, check=False)
        V = orthonormalize(V, check=False)
    if U.shape[1] < V.shape[1]:  # angles are symmetric; make V the smaller basis
        U, V = V, U
    return bk, U, V


def principal_angles(U, V, *, orthonormal=False, accurate=True):
    """Principal angles between ``range(U)`` and ``range(V)``, in increasing order.

    Uses cosines from ``svd(Uᵀ V)`` for large angles and sines from ``svd(V - U Uᵀ V)`` for
    small ones, which keeps full relative accuracy for angles near zero (Knyazev-Argentati).

    Parameters
    ----------
    U : array, shape (n, k1)
    V : array, shape (n, k2)
    orthonormal : bool
        Set when the columns are already orthonormal (skips two QR factorizations).
    accurate : bool
        ``False`` uses the cosines only: one ``k x k`` SVD instead of an ``n x k`` one, but
        angles below about ``sqrt(eps)`` (1e-8 in float64) come out as 0.  Fine for monitoring
        convergence, not for measuring tiny angles.

    Returns
    -------
    theta : array, shape (min(k1, k2),)
        Angles in ``[0, pi/2]``.

    References
    ----------
    A. V. Knyazev, M. E. Argentati, "Principal angles between subspaces in an A-based scalar
    product", SIAM J. Sci. Comput. 23(6), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import principal_angles
    >>> U = np.array([[1.0], [0.0]]); V = np.array([[1.0], [1.0]])
    >>> float(np.degrees(principal_angles(U, V))[0])
    45.0
    """
    bk, U, V = _prepare(U, V, orthonormal)
    xp = bk.xp
    C = U.T @ V
    cos = xp.linalg.svdvals(C)  # decreasing
    if not accurate:
        return xp.acos(xp.clip(cos, 0.0, 1.0))  # increasing, as cos decreases
    sin = xp.flip(xp.linalg.svdvals(V - U @ C))  # increasing, paired with decreasing cosines
    cos = xp.clip(cos, 0.0, 1.0)
    sin = xp.clip(sin, 0.0, 1.0)
    return xp.where(sin * sin <= 0.5, xp.asin(sin), xp.acos(cos))


def subspace_distance(U, V, *, ord="2", orthonormal=False, accurate=True) -> float:
    """Distance between ``range(U)`` and ``range(V)`` from their principal angles.

    Parameters
    ----------
    U, V : array, shape (n, k)
    ord : {"2", "fro"}
        ``"2"``: ``sin`` of the largest angle, ``= ||U Uᵀ - V Vᵀ||_2`` for equal dimensions (the
        ``dist`` of alternating-minimization theory).  ``"fro"``: ``||sin θ||_2`` over all angles,
        ``= ||U Uᵀ - V Vᵀ||_F / sqrt(2)``.
    orthonormal : bool
        Set when the columns are already orthonormal.
    accurate : bool
        See :func:`principal_angles`.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import subspace_distance
    >>> subspace_distance(np.eye(3)[:, :2], np.eye(3)[:, 1:])
    1.0
    """
    check_option(ord, "ord", {"2", "fro"})
    theta = principal_angles(U, V, orthonormal=orthonormal, accurate=accurate)
    from .._backend import get_backend

    xp = get_backend(theta).xp
    s = xp.sin(theta)
    if ord == "2":
        return float(xp.max(s)) if s.shape[0] else 0.0
    return float(xp.sqrt(xp.sum(s * s)))
