"""Public sampled-entry products and per-row solves: validate, then dispatch to a kernel.

Each function checks its inputs (types, shapes, finiteness, one backend) before any work, casts
the factors to one float dtype (float32 only when every floating input is float32) and calls
``get_backend(...).kernel(op)``: Numba on NumPy arrays and torch CPU tensors, numba-cuda on CuPy
arrays, the array-API reference elsewhere.  ``impl=`` forces an implementation (``"generic"``,
``"numpy"``, ``"torch"``, ``"cupy"``); tests use it to compare against the oracle.
"""

from __future__ import annotations

from .._result import Result, warn_not_converged
from .._validation import (
    check_array,
    check_int,
    check_nonnegative,
    check_same_backend,
)
from ._entries import ObservedEntries

__all__ = ["sddmm", "sampled_residual", "spmm", "spmm_t", "rowwise_gram", "rowwise_lstsq",
           "rowwise_cg"]


def _check_omega(omega, need_values=False):
    if not isinstance(omega, ObservedEntries):
        raise TypeError(f"`omega` must be an ObservedEntries, got {type(omega).__name__}")
    if need_values and omega.values is None:
        raise ValueError("`omega` must carry values (this entry set is a bare pattern)")


def _factors(omega, named, extra=()):
    """Validate ``(name, array, n_rows)`` factors; return backend, dtype and cast arrays."""
    k = None
    for name, A, n_rows in named:
        check_array(A, name, ndim=2, dtype_kind="numeric")
        if A.shape[0] != n_rows:
            raise ValueError(f"`{name}` must have {n_rows} rows for `omega` of shape "
                             f"{omega.shape}, got shape {tuple(A.shape)}")
        if k is None:
            k = A.shape[1]
        elif A.shape[1] != k:
            raise ValueError(f"the factors must share their number of columns (the rank): "
                             f"`{named[0][0]}` has {k}, `{name}` has {A.shape[1]}")
    arrays = [(n, A) for n, A, _ in named] + [(n, a) for n, a in extra if a is not None]
    bk = check_same_backend(("omega", omega.rows), *arrays)
    dtype = bk.float_dtype(*(a for _, a in arrays))
    cast = [bk.xp.astype(A, dtype, copy=False) for _, A, _ in named]
    return bk, dtype, cast


def _cast(bk, x, dtype):
    return None if x is None else bk.xp.astype(x, dtype, copy=False)


def sddmm(omega, U, V, *, impl=None):
    """Sampled dense-dense product: the entries of ``U V^T`` at Ω.

    Parameters
    ----------
    omega : ObservedEntries
        The entry set Ω of an ``m x n`` matrix (its values are not used).
    U : array, shape (m, k)
    V : array, shape (n, k)
    impl : {None, "generic", "numpy", "torch", "cupy"}
        Force a kernel implementation (default: the native one for the backend).

    Returns
    -------
    array, shape (nnz,)
        ``(U V^T)[omega.rows[p], omega.cols[p]]``, in ``omega``'s (row-major) order.

    Raises
    ------
    TypeError
        ``omega`` not an ObservedEntries, non-numeric or mixed-library factors.
    ValueError
        Wrong factor shapes, rank mismatch, NaN/inf.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank matrix completion using alternating
    minimization", STOC 2013 (the residual ``P_Ω(U V^T - M)`` every iteration evaluates).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, sddmm
    >>> om = ObservedEntries(np.array([0, 1]), np.array([1, 0]), None, (2, 2))
    >>> U = np.array([[1.0, 2.0], [3.0, 4.0]]); V = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> sddmm(om, U, V)
    array([2., 3.])
    """
    _check_omega(omega)
    m, n = omega.shape
    bk, _, (U, V) = _factors(omega, [("U", U, m), ("V", V, n)])
    return bk.kernel("sddmm", impl)(omega.rows, omega.indptr, omega.cols, U, V)


def sampled_residual(omega, U, V, *, impl=None):
    """Fused residual ``(U V^T)_Ω - values`` and its squared Euclidean norm, in one pass.

    Parameters
    ----------
    omega : ObservedEntries
        Entry set with values (the observed ``M_ij``).
    U : array, shape (m, k)
    V : array, shape (n, k)
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    R : array, shape (nnz,)
        Residual in ``omega``'s order.
    sq_norm : 0-d array
        ``sum(R**2)``, on the caller's device (convert with ``float()`` when needed).

    Raises
    ------
    TypeError, ValueError
        As :func:`sddmm`; also when ``omega`` has no values.

    References
    ----------
    Y. Gu, Z. Song, J. Yin, L. Zhang, "Low rank matrix completion via robust alternating
    minimization in nearly linear time", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, sampled_residual
    >>> om = ObservedEntries(np.array([0, 1]), np.array([0, 1]), np.array([1.0, 1.0]), (2, 2))
    >>> R, sq = sampled_residual(om, np.eye(2), 2 * np.eye(2))
    >>> R, float(sq)
    (array([1., 1.]), 2.0)
    """
    _check_omega(omega, need_values=True)
    m, n = omega.shape
    bk, dtype, (U, V) = _factors(omega, [("U", U, m), ("V", V, n)],
                                 extra=[("values", omega.values)])
    return bk.kernel("sddmm_residual", impl)(omega.rows, omega.indptr, omega.cols, U, V,
                                            _cast(bk, omega.values, dtype))


def _weights(omega, weights, bk):
    if weights is None:
        if omega.values is None:
            raise ValueError("`weights` must be given when `omega` carries no values")
        return None
    check_array(weights, "weights", ndim=1, shape=(omega.nnz,), allow_empty=True)
    check_same_backend(("omega", omega.rows), ("weights", weights))
    return weights


def spmm(omega, V, weights=None, *, impl=None):
    """Sparse-dense product ``S V``, where ``S`` (m x n) holds ``weights`` at Ω.

    Parameters
    ----------
    omega : ObservedEntries
    V : array, shape (n, k)
    weights : array, shape (nnz,), optional
        Entry values in ``omega``'s order (default: ``omega.values``), e.g. a residual from
        :func:`sampled_residual`.
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    array, shape (m, k)

    Raises
    ------
    TypeError, ValueError
        Bad ``omega``/``V``/``weights`` (shapes, dtypes, NaN), no values and no weights.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, STOC 2013 (the gradient ``P_Ω(U V^T - M) V``).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, spmm
    >>> om = ObservedEntries(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0]), (2, 2))
    >>> spmm(om, np.array([[1.0], [10.0]]))
    array([[21.],
           [ 0.]])
    """
    _check_omega(omega)
    bk = check_same_backend(("omega", omega.rows), ("V", V))
    w = _weights(omega, weights, bk)
    bk, dtype, (V,) = _factors(omega, [("V", V, omega.shape[1])],
                               extra=[("weights", w if w is not None else omega.values)])
    w = _cast(bk, omega.values if w is None else w, dtype)
    return bk.kernel("spmm", impl)(omega.rows, omega.indptr, omega.cols, w, V, None)


def spmm_t(omega, U, weights=None, *, impl=None):
    """Transposed product ``S^T U``, where ``S`` (m x n) holds ``weights`` at Ω.

    Runs row-wise over the cached column-major ordering (:attr:`ObservedEntries.T`), gathering
    custom ``weights`` through the cached permutation, so no atomics are needed.

    Parameters
    ----------
    omega : ObservedEntries
    U : array, shape (m, k)
    weights : array, shape (nnz,), optional
        In ``omega``'s (row-major) order; default ``omega.values``.
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    array, shape (n, k)

    Raises
    ------
    TypeError, ValueError
        As :func:`spmm`.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, STOC 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, spmm_t
    >>> om = ObservedEntries(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 2.0]), (2, 2))
    >>> spmm_t(om, np.array([[1.0], [10.0]]))
    array([[21.],
           [ 0.]])
    """
    _check_omega(omega)
    bk = check_same_backend(("omega", omega.rows), ("U", U))
    w = _weights(omega, weights, bk)
    bk, dtype, (U,) = _factors(omega, [("U", U, omega.shape[0])],
                               extra=[("weights", w if w is not None else omega.values)])
    T = omega.T
    kern = bk.kernel("spmm", impl)
    if w is None:
        return kern(T.rows, T.indptr, T.cols, _cast(bk, T.values, dtype), U, None)
    return kern(T.rows, T.indptr, T.cols, _cast(bk, w, dtype), U, omega.csc_permutation())


def _check_lam(lam, omega, bk, dtype):
    """A non-negative scalar, or one non-negative value per row (e.g. ALS-WR's ``reg · |Ω_i|``)."""
    if not hasattr(lam, "shape"):
        return check_nonnegative(lam, "lam")
    m = omega.shape[0]
    check_array(lam, "lam", ndim=1, shape=(m,), dtype_kind="numeric", allow_empty=True)
    check_same_backend(("omega", omega.rows), ("lam", lam))
    xp = bk.xp
    if m and bool(xp.any(lam < 0)):
        raise ValueError("`lam` must be non-negative in every row")
    return xp.astype(lam, dtype)


def _rowwise_args(omega, V, lam, need_values=True):
    _check_omega(omega, need_values=need_values)
    bk, dtype, (V,) = _factors(omega, [("V", V, omega.shape[1])],
                               extra=[("values", omega.values)])
    lam = _check_lam(lam, omega, bk, dtype)
    return bk, dtype, V, lam, _cast(bk, omega.values, dtype)


def rowwise_gram(omega, V, *, lam=0.0, impl=None):
    """Per-row normal equations of ``min_x ||P_Ω(x V^T - M)_i||^2 + lam ||x||^2``.

    For every row ``i``: ``G_i = sum_{j in Ω_i} v_j v_j^T + lam I`` and
    ``b_i = sum_{j in Ω_i} M_ij v_j``.  Memory is ``m k^2``; :func:`rowwise_lstsq` solves without
    storing the Grams.

    Parameters
    ----------
    omega : ObservedEntries
        Entries of an ``m x n`` matrix; values give ``b`` (a bare pattern gives ``b=None``).
    V : array, shape (n, k)
    lam : float >= 0, or array of shape (m,)
        Ridge parameter, one per row if an array (ALS-WR scales it by the row count).
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    G : array, shape (m, k, k)
    b : array, shape (m, k), or None

    Raises
    ------
    TypeError, ValueError
        Bad inputs or a negative ``lam``.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, STOC 2013, Algorithm 2 (the alternating least-squares
    step).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, rowwise_gram
    >>> om = ObservedEntries(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0]), (1, 2))
    >>> G, b = rowwise_gram(om, np.array([[1.0], [2.0]]), lam=0.5)
    >>> G[0], b[0]
    (array([[5.5]]), array([5.]))
    """
    bk, dtype, V, lam, values = _rowwise_args(omega, V, lam, need_values=False)
    return bk.kernel("rowwise_gram", impl)(omega.rows, omega.indptr, omega.cols, V, values, lam)


def rowwise_lstsq(omega, V, *, lam=0.0, impl=None):
    """Exact per-row ridge least squares: ``x_i = argmin ||P_Ω(x V^T - M)_i||^2 + lam ||x||^2``.

    Forms each row's ``k x k`` normal equations and solves them by Cholesky (inline in the CPU
    kernel, batched ``posv`` on the GPU).  Rows without entries get zeros.  Cost about
    ``|Ω| k^2 + m k^3 / 3``.

    Parameters
    ----------
    omega : ObservedEntries
        Entries with values.
    V : array, shape (n, k)
    lam : float >= 0, or array of shape (m,)
        Ridge parameter, one per row if an array.
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    X : array, shape (m, k)

    Raises
    ------
    TypeError, ValueError
        Bad inputs.
    numpy.linalg.LinAlgError
        When a row's Gram is not positive definite (fewer than ``k`` informative entries with
        ``lam=0``); the backend's own error on non-NumPy arrays.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, STOC 2013, Algorithm 2.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, rowwise_lstsq
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> x = np.array([2.0, -1.0])
    >>> om = ObservedEntries(np.zeros(3, dtype=int), np.arange(3), V @ x, (1, 3))
    >>> rowwise_lstsq(om, V)
    array([[ 2., -1.]])
    """
    bk, dtype, V, lam, values = _rowwise_args(omega, V, lam)
    return bk.kernel("rowwise_lstsq", impl)(omega.rows, omega.indptr, omega.cols, V, values, lam)


def rowwise_cg(omega, V, x0=None, *, lam=0.0, maxiter=2, rtol=None, impl=None):
    """Per-row matrix-free conjugate gradient on the ridge normal equations, warm-started.

    Each step costs ``2 |Ω_i| k`` per row (``G_i p = sum_j (v_j . p) v_j``; no Gram is formed),
    so a sweep with ``s`` steps costs about ``2 (s + 1) |Ω| k``.  With ``rtol=None`` every row
    takes ``maxiter`` steps (the inexact inner solve of robust alternating minimization); with a
    tolerance a row stops once ``||b_i - G_i x_i|| <= rtol ||b_i||``.

    Parameters
    ----------
    omega : ObservedEntries
        Entries with values.
    V : array, shape (n, k)
    x0 : array, shape (m, k), optional
        Warm start (default zeros), e.g. the previous iterate.
    lam : float >= 0, or array of shape (m,)
        Ridge parameter, one per row if an array.
    maxiter : int >= 0
    rtol : float >= 0, optional
    impl : {None, "generic", "numpy", "torch", "cupy"}

    Returns
    -------
    Result
        ``X`` (m, k); ``residual_norms`` (m,), each row's ``||b_i - G_i x_i||``; ``rhs_norms``
        (m,), each row's ``||b_i||`` (``b_i = Σ_j M_ij v_j``, for relative residuals); ``steps`` (m,);
        ``nit`` (most steps any row took); ``success``/``status``/``message`` (with ``rtol``: all
        rows converged; without: always True); ``history`` (empty: rows iterate independently).
        Rows without entries get zeros.

    Raises
    ------
    TypeError, ValueError
        Bad inputs.

    Warns
    -----
    ConvergenceWarning
        With ``rtol`` set, when some rows did not reach it within ``maxiter`` steps.

    References
    ----------
    Y. Gu, Z. Song, J. Yin, L. Zhang, "Low rank matrix completion via robust alternating
    minimization in nearly linear time", ICLR 2024 (inexact per-row regression solves).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries, rowwise_cg
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> om = ObservedEntries(np.zeros(3, dtype=int), np.arange(3), V @ [2.0, -1.0], (1, 3))
    >>> res = rowwise_cg(om, V, maxiter=2)
    >>> np.round(res.X, 12), res.nit
    (array([[ 2., -1.]]), 2)
    """
    bk, dtype, V, lam, values = _rowwise_args(omega, V, lam)
    maxiter = check_int(maxiter, "maxiter", minimum=0)
    tol = 0.0 if rtol is None else check_nonnegative(rtol, "rtol")
    m, k = omega.shape[0], V.shape[1]
    xp = bk.xp
    if x0 is None:
        x0 = xp.zeros((m, k), dtype=dtype, device=bk.device)
    else:
        check_array(x0, "x0", ndim=2, shape=(m, k), dtype_kind="numeric")
        check_same_backend(("omega", omega.rows), ("x0", x0))
        x0 = xp.astype(x0, dtype, copy=False)
    X, resnorm, steps, bnorm = bk.kernel("rowwise_cg", impl)(
        omega.rows, omega.indptr, omega.cols, V, values, lam, x0, maxiter, tol)
    nit = int(bk.to_host(xp.max(steps))) if m else 0
    if rtol is None:
        success, status, message = True, 0, f"fixed budget of {maxiter} CG steps per row"
    else:
        # the kernels stop a row at ||r||^2 <= rtol^2 ||b||^2 (squares, and ||b|| rounded to
        # the data's dtype here): a little rounding slack
        slack = 1 + 64 * float(xp.finfo(dtype).eps)
        n_bad = int(bk.to_host(xp.sum(xp.astype(resnorm > tol * bnorm * slack, xp.int64))))
        success = n_bad == 0
        status = 0 if success else 1
        message = ("all rows converged" if success else
                   f"{n_bad} of {m} rows did not reach rtol={tol:g} in {maxiter} CG steps")
        if not success:
            warn_not_converged(f"rowwise_cg: {message}")
    from .._result import History

    return Result(X=X, residual_norms=resnorm, rhs_norms=bnorm, steps=steps, nit=nit,
                  success=success, status=status, message=message, history=History())
