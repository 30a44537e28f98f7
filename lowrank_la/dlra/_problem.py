"""Problem descriptions ``dA/dt = F(t, A)`` in the form the integrators consume.

An integrator never needs ``F(t, Y)`` itself, only its products with the current factors:
``F(t, Y) W`` (K-step), ``F(t, Y)ᴴ W`` (L-step) and ``Uᴴ F(t, Y) V`` (S-step).  A
:class:`MatrixODE` holds those three callables; :meth:`MatrixODE.from_dense` wraps a dense
callable for small problems.  :class:`LinearMatrixODE` describes
``F(t, Y) = Σ_k A_k Y B_kᵀ + φ(t) P Qᴴ`` with dense or sparse ``A_k``, ``B_k``: its sub-flows
are linear, so the exact exponential sub-step solver (``solver="expm"``) applies.

Each sub-flow of a step is a :class:`Flow`: an ODE ``X' = rhs(t, X)`` on a thin array, plus, for
linear problems, its structure ``X' = Σ_k op_k(X) M_k + φ(t) C``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .._backend import get_backend
from .._validation import check_int
from ._factors import Factors, conj, ct

__all__ = ["MatrixODE", "LinearMatrixODE", "Flow"]


def _shape(shape, name="shape"):
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"`{name}` must be a pair (m, n), got {shape!r}")
    return (check_int(shape[0], f"{name}[0]", minimum=1), check_int(shape[1], f"{name}[1]",
                                                                      minimum=1))


# ---------------------------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------------------------


class _Op:
    """A square linear map acting on the columns of thin arrays: dense, scipy.sparse or identity.

    Adjoint, transpose and conjugate are precomputed once (rebuilding sparse transposes every
    sub-step cost a third of the time in a first version).
    """

    def __init__(self, A, n: int):
        self.A = A
        self.n = n
        self._adj = None

    @property
    def is_identity(self) -> bool:
        return self.A is None

    def matmat(self, X):
        return X if self.A is None else self.A @ X

    def _is_sparse(self):
        import scipy.sparse

        return scipy.sparse.issparse(self.A)

    def adjoint(self) -> _Op:
        if self.A is None:
            return self
        if self._adj is None:
            if self._is_sparse():
                self._adj = _Op(self.A.conj().T.tocsr(), self.n)
            else:
                self._adj = _Op(ct(self.A), self.n)
            self._adj._adj = self
        return self._adj

    def transpose(self) -> _Op:
        if self.A is None:
            return self
        if self._is_sparse():
            return _Op(self.A.T.tocsr(), self.n)
        return _Op(self.A.T, self.n)

    def conjugate(self) -> _Op:
        if self.A is None:
            return self
        if self._is_sparse():
            return _Op(self.A.conj().tocsr() if self.A.dtype.kind == "c" else self.A, self.n)
        return _Op(conj(self.A), self.n)

    def trace(self) -> complex:
        if self.A is None:
            return float(self.n)
        if self._is_sparse():
            return complex(self.A.diagonal().sum())
        bk = get_backend(self.A)
        return complex(bk.to_host(bk.xp.linalg.trace(self.A))[()])

    def dense_host(self):
        import numpy as np

        if self.A is None:
            return np.eye(self.n)
        if self._is_sparse():
            return self.A.toarray()
        return np.asarray(get_backend(self.A).to_host(self.A))

    def sandwich(self, U, V):
        """``Uᴴ op V`` as a small dense array."""
        return ct(U) @ self.matmat(V)


@dataclass
class Flow:
    """The ODE ``X' = rhs(t, X)`` of one sub-step (K, L or S).

    ``terms`` (pairs ``(op, M)``), ``source`` and ``phi`` describe linear flows
    ``X' = Σ op(X) @ M + φ(t) · source`` for the exact exponential solver; ``terms is None`` for a
    general flow.  ``sign = -1`` runs the flow backwards in its right-hand side (KSL's S-step).
    """

    rhs_fn: Callable | None = None
    terms: list | None = None
    source: object = None
    phi: Callable | None = None
    sign: float = 1.0
    evaluations: list = field(default_factory=lambda: [0])

    def __post_init__(self):
        if self.terms is not None:
            # fold all identity-operator terms into one: X M1 + X M2 = X (M1 + M2)
            ident = [M for op, M in self.terms if op.is_identity]
            if len(ident) > 1:
                op0 = next(op for op, _ in self.terms if op.is_identity)
                total = ident[0]
                for M in ident[1:]:
                    total = total + M
                self.terms = [t for t in self.terms if not t[0].is_identity] + [(op0, total)]

    @property
    def is_linear(self) -> bool:
        return self.terms is not None

    def phi_at(self, t):
        return 1.0 if self.phi is None else self.phi(t)

    def rhs(self, t, X):
        self.evaluations[0] += 1
        if self.terms is None:
            out = self.rhs_fn(t, X)
        else:
            out = None
            for op, M in self.terms:
                term = op.matmat(X) @ M
                out = term if out is None else out + term
            if self.source is not None:
                src = self.phi_at(t) * self.source
                out = src if out is None else out + src
        return out if self.sign == 1.0 else -out

    def negated(self) -> Flow:
        return Flow(self.rhs_fn, self.terms, self.source, self.phi, -self.sign, self.evaluations)


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


class MatrixODE:
    """``dA/dt = F(t, A)`` described by products of ``F`` with thin factors.

    Parameters
    ----------
    shape : (int, int)
        ``(m, n)``, the shape of ``A``.
    apply_right : callable ``(t, Y, W) -> F(t, Y) @ W``
        ``Y`` is a :class:`Factors` ``(U, S, V)`` with ``Y = U S Vᴴ`` (``S`` may be None),
        ``W`` an (n, k) array; returns an (m, k) array.
    apply_left : callable ``(t, Y, W) -> F(t, Y)ᴴ @ W``
        ``W`` (m, k); returns (n, k) (conjugate transpose for complex problems).
    galerkin : callable ``(t, Y, U, V) -> Uᴴ F(t, Y) V``, optional
        Defaults to ``Uᴴ apply_right(t, Y, V)``.
    dense : callable ``(t, A) -> F(t, A)``, optional
        The right-hand side on dense arrays (used by tests and full reference integrations).

    Raises
    ------
    ValueError
        If ``shape`` is not a pair of positive integers.
    TypeError
        If a callable argument is not callable.

    References
    ----------
    .. [1] O. Koch, C. Lubich, Dynamical low-rank approximation, SIAM J. Matrix Anal. Appl. 29
       (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import MatrixODE
    >>> W = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> ode = MatrixODE.from_dense(lambda t, A: W @ A, (3, 2))
    >>> ode.shape
    (3, 2)
    """

    def __init__(self, shape, apply_right, apply_left, galerkin=None, *, dense=None):
        self.shape = _shape(shape)
        for name, fn in (("apply_right", apply_right), ("apply_left", apply_left),
                         ("galerkin", galerkin), ("dense", dense)):
            if fn is not None and not callable(fn):
                raise TypeError(f"`{name}` must be callable, got {type(fn).__name__}")
        self.apply_right = apply_right
        self.apply_left = apply_left
        self._galerkin = galerkin
        self._dense = dense

    is_linear = False

    @classmethod
    def from_dense(cls, fun, shape) -> MatrixODE:
        """Wrap a dense right-hand side ``fun(t, A) -> F(t, A)`` (forms m x n arrays: small
        problems only).

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.dlra import Factors, MatrixODE
        >>> ode = MatrixODE.from_dense(lambda t, A: -A, (3, 3))
        >>> Y = Factors(np.eye(3)[:, :1], None, np.eye(3)[:, :1])
        >>> ode.galerkin(0.0, Y, Y.U, Y.V)
        array([[-1.]])
        """
        if not callable(fun):
            raise TypeError(f"`fun` must be callable, got {type(fun).__name__}")
        return cls(shape, lambda t, Y, W: fun(t, Y.to_dense()) @ W,
                   lambda t, Y, W: ct(fun(t, Y.to_dense())) @ W,
                   lambda t, Y, U, V: ct(U) @ fun(t, Y.to_dense()) @ V, dense=fun)

    def galerkin(self, t, Y, U, V):
        """``Uᴴ F(t, Y) V``."""
        if self._galerkin is not None:
            return self._galerkin(t, Y, U, V)
        return ct(U) @ self.apply_right(t, Y, V)

    def dense_rhs(self, t, A):
        """``F(t, A)`` for a dense ``A`` (only when the problem was given a dense form)."""
        if self._dense is None:
            raise NotImplementedError("this problem has no dense form (pass `dense=`)")
        return self._dense(t, A)

    # -- the three sub-flows --------------------------------------------------------------

    def k_flow(self, V0) -> Flow:
        """``K' = F(t, K V0ᴴ) V0``."""
        return Flow(lambda t, K: self.apply_right(t, Factors(K, None, V0), V0))

    def l_flow(self, U0) -> Flow:
        """``L' = F(t, U0 Lᴴ)ᴴ U0``."""
        return Flow(lambda t, L: self.apply_left(t, Factors(U0, None, L), U0))

    def s_flow(self, U, V) -> Flow:
        """``S' = Uᴴ F(t, U S Vᴴ) V``."""
        return Flow(lambda t, S: self.galerkin(t, Factors(U, S, V), U, V))


class LinearMatrixODE(MatrixODE):
    """Linear problem ``F(t, Y) = Σ_k A_k Y B_kᵀ + φ(t) P Qᴴ``.

    Lyapunov/Sylvester type ``L1 Y + Y L2ᵀ + B`` is ``terms=[(L1, None), (None, L2)]``.  The
    sub-flows are linear, so ``solver="expm"`` integrates them exactly (with ``φ`` frozen at the
    midpoint of each sub-step: exact for piecewise constant ``φ`` whose jumps fall on step
    boundaries).

    Parameters
    ----------
    terms : list of (A, B)
        ``A`` (m, m) and ``B`` (n, n): dense arrays, ``scipy.sparse`` matrices (NumPy only), or
        None for the identity.
    source : (P, Q), optional
        Factors of the source ``P Qᴴ``, shapes (m, s) and (n, s).
    phi : callable ``t -> float``, optional
        Scalar time profile of the source (default 1).
    shape : (int, int), optional
        Needed only when every operator is None.

    Raises
    ------
    ValueError
        Mismatched operator or source shapes, empty ``terms``.
    TypeError
        ``phi`` not callable.

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, A projector-splitting integrator for dynamical low-rank
       approximation, BIT 54 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import LinearMatrixODE
    >>> L = np.diag([-1.0, -2.0, -3.0])
    >>> ode = LinearMatrixODE([(L, None), (None, L)])
    >>> A = np.ones((3, 3))
    >>> bool(np.allclose(ode.dense_rhs(0.0, A), L @ A + A @ L.T))
    True
    """

    is_linear = True

    def __init__(self, terms, source=None, phi=None, *, shape=None):
        if not isinstance(terms, (list, tuple)) or not terms:
            raise ValueError(f"`terms` must be a non-empty list of (A, B) pairs, got {terms!r}")
        m = n = None
        if shape is not None:
            m, n = _shape(shape)
        for i, pair in enumerate(terms):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"`terms[{i}]` must be a pair (A, B), got {pair!r}")
            for j, (X, dim) in enumerate(zip(pair, ("m", "n"))):
                if X is None:
                    continue
                if len(X.shape) != 2 or X.shape[0] != X.shape[1]:
                    raise ValueError(f"`terms[{i}][{j}]` must be square, got shape {X.shape}")
                size = int(X.shape[0])
                cur = m if dim == "m" else n
                if cur is not None and cur != size:
                    raise ValueError(
                        f"`terms[{i}][{j}]` has size {size}, expected {cur} (mismatched shapes)")
                if dim == "m":
                    m = size
                else:
                    n = size
        if source is not None:
            if not isinstance(source, (tuple, list)) or len(source) != 2:
                raise ValueError("`source` must be a pair (P, Q) with source = P Qᴴ")
            P, Q = source
            if m is None:
                m = int(P.shape[0])
            if n is None:
                n = int(Q.shape[0])
            if P.ndim != 2 or Q.ndim != 2 or P.shape[0] != m or Q.shape[0] != n \
                    or P.shape[1] != Q.shape[1]:
                raise ValueError(
                    f"`source` factors must have shapes ({m}, s) and ({n}, s), got "
                    f"{tuple(P.shape)} and {tuple(Q.shape)}")
        if m is None or n is None:
            raise ValueError("`shape` is needed when the operators do not fix it")
        if phi is not None and not callable(phi):
            raise TypeError(f"`phi` must be callable, got {type(phi).__name__}")
        self.shape = (m, n)
        self.terms = [(_Op(A, m), _Op(B, n)) for A, B in terms]
        # precomputed: Bᵀ for the K-step, conj(B) for the L-step, Aᴴ for the L-step sandwich
        self._BT = [B.transpose() for _, B in self.terms]
        self._Bc = [B.conjugate() for _, B in self.terms]
        self._AH = [A.adjoint() for A, _ in self.terms]
        self.source = None if source is None else (source[0], source[1])
        self.phi = phi
        self._galerkin = None
        self._dense = None

    def _phi(self, t):
        return 1.0 if self.phi is None else self.phi(t)

    def apply_right(self, t, Y, W):
        out = None
        for (A, _), BT in zip(self.terms, self._BT):
            term = A.matmat(Y.matmat(BT.matmat(W)))
            out = term if out is None else out + term
        if self.source is not None:
            P, Q = self.source
            out = out + self._phi(t) * (P @ (ct(Q) @ W))
        return out

    def apply_left(self, t, Y, W):
        out = None
        for AH, Bc in zip(self._AH, self._Bc):
            term = Bc.matmat(Y.rmatmat(AH.matmat(W)))
            out = term if out is None else out + term
        if self.source is not None:
            P, Q = self.source
            out = out + conj(self._phi(t)) * (Q @ (ct(P) @ W))
        return out

    def dense_rhs(self, t, A):
        out = None
        for Aop, B in self.terms:
            term = Aop.matmat(B.matmat(A.T).T)  # A_k A B_kᵀ = A_k (B_k Aᵀ)ᵀ
            out = term if out is None else out + term
        if self.source is not None:
            P, Q = self.source
            out = out + self._phi(t) * (P @ ct(Q))
        return out

    def k_flow(self, V0) -> Flow:
        terms = [(A, ct(V0) @ BT.matmat(V0)) for (A, _), BT in zip(self.terms, self._BT)]
        src = None
        if self.source is not None:
            P, Q = self.source
            src = P @ (ct(Q) @ V0)
        return Flow(terms=terms, source=src, phi=self.phi)

    def l_flow(self, U0) -> Flow:
        terms = [(Bc, ct(U0) @ AH.matmat(U0)) for AH, Bc in zip(self._AH, self._Bc)]
        src = None
        if self.source is not None:
            P, Q = self.source
            src = Q @ (ct(P) @ U0)
        phi = None if self.phi is None else (lambda t: _conj_scalar(self.phi(t)))
        return Flow(terms=terms, source=src, phi=phi)

    def s_flow(self, U, V) -> Flow:
        r = int(U.shape[1])
        terms = [(_Op(A.sandwich(U, U), r), ct(V) @ BT.matmat(V))
                 for (A, _), BT in zip(self.terms, self._BT)]
        src = None
        if self.source is not None:
            P, Q = self.source
            src = (ct(U) @ P) @ (ct(Q) @ V)
        return Flow(terms=terms, source=src, phi=self.phi)


def _conj_scalar(z):
    return z.conjugate() if isinstance(z, complex) else z
