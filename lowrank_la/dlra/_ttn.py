"""Tree tensor networks (TTN) and their fixed-rank BUG integrator (Ceruti-Lubich-Walach 2021).

A tree is nested tuples of mode indices, e.g. ``((0, 1), (2, 3))``.  A leaf ``l`` carries an
orthonormal basis ``U_l`` (``n_l x r_l``); an inner node ``τ = (τ_1, ..., τ_m)`` a connecting
tensor ``C_τ`` of shape ``(r_τ, r_τ1, ..., r_τm)`` (``r = 1`` at the root).  The node's basis is
``U_τ = Mat_0(C_τ ×_1 U_τ1 ... ×_m U_τm)ᵀ`` (``n_τ x r_τ``, orthonormal when every connecting
tensor has orthonormal rows in its mode-0 unfolding).

One step recursively generalizes the Tucker BUG: at a node, for every child ``i`` (independent
of the others) a K-step on ``K_i = U_τi R_iᴴ`` (QR of ``Mat_i(C_τ)ᴴ``) which, for an inner child,
is itself a TTN step of the child's subtree with the induced right-hand side; the new child basis
is the orthonormalized result; then a Galerkin step for ``C_τ`` on the new bases.  ``F`` is given
on dense tensors (:class:`TuckerODE`) and the bases are formed densely: meant for small tensors.
Not implemented: the rank-adaptive and the parallel TTN variants (Ceruti-Lubich-Sulz 2023,
Ceruti-Kusch-Lubich-Sulz).
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from .._backend import get_backend
from .._result import History, Result
from .._validation import check_int, check_option, check_rng
from ..linalg._tensor_ops import fold, mode_product, unfold
from ._factors import conj, ct, fro, orth
from ._problem import Flow
from ._substep import check_finite_state, solve_flow
from ._tucker import TuckerODE

__all__ = ["TTNode", "ttn_bug", "ttn_to_dense", "ttn_polynomial_problem"]


class TTNode(NamedTuple):
    """Inner node of a tree tensor network: connecting tensor and children.

    ``children`` holds :class:`TTNode` objects (inner nodes) or 2-d arrays (leaf bases); the
    connecting tensor ``core`` has shape ``(r, r_child_1, ..., r_child_m)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import TTNode, ttn_to_dense
    >>> leaf = np.eye(3)[:, :1]
    >>> root = TTNode(np.ones((1, 1, 1)), (leaf, leaf))
    >>> ttn_to_dense(root, (0, 1)).shape
    (3, 3)
    """

    core: Any
    children: tuple


def _is_leaf(x) -> bool:
    return not isinstance(x, TTNode)


def _basis(node):
    """Dense basis ``U_τ`` (``n_τ x r_τ``) of a node or leaf."""
    if _is_leaf(node):
        return node
    T = node.core
    for i, child in enumerate(node.children):
        T = mode_product(T, _basis(child), i + 1)
    xp = get_backend(T).xp
    return xp.reshape(T, (T.shape[0], -1)).T


def _flatten(tree):
    return [tree] if isinstance(tree, int) else [x for t in tree for x in _flatten(t)]


def ttn_to_dense(root, tree):
    """The full tensor of a TTN (modes in natural order 0, 1, ..., d-1).

    Parameters
    ----------
    root : TTNode
        Root node (leading dimension 1).
    tree : nested tuples of int
        The tree the network was built on.

    Returns
    -------
    array

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import TTNode, ttn_to_dense
    >>> root = TTNode(np.ones((1, 1, 1)), (np.ones((2, 1)), np.ones((4, 1))))
    >>> ttn_to_dense(root, (1, 0)).shape
    (4, 2)
    """
    xp = get_backend(root.core).xp
    leaves = _flatten(tree)
    dims = _leaf_dims(root)
    T = xp.reshape(_basis(root)[:, 0], tuple(dims))
    inv = [0] * len(leaves)
    for k, mode in enumerate(leaves):
        inv[mode] = k
    return xp.permute_dims(T, tuple(inv))


def _leaf_dims(node):
    if _is_leaf(node):
        return [int(node.shape[0])]
    return [d for c in node.children for d in _leaf_dims(c)]


def _check_tree(tree, d):
    leaves = _flatten(tree)
    if sorted(leaves) != list(range(d)):
        raise ValueError(f"`tree` must contain each mode 0..{d - 1} once, got {tree!r}")

    def walk(t):
        if isinstance(t, int):
            return
        if not isinstance(t, tuple) or len(t) < 2:
            raise ValueError(f"inner nodes of `tree` must be tuples of >= 2 subtrees, got {t!r}")
        for s in t:
            walk(s)
    walk(tree)


def _check_network(node, tree, path="root"):
    if isinstance(tree, int):
        if not _is_leaf(node) or len(node.shape) != 2:
            raise ValueError(f"{path}: a leaf basis (2-d array) is expected for mode {tree}")
        return
    if _is_leaf(node) or len(node.children) != len(tree):
        raise ValueError(f"{path}: an inner node with {len(tree)} children is expected")
    if node.core.ndim != len(tree) + 1:
        raise ValueError(f"{path}: connecting tensor of order {len(tree) + 1} expected, got "
                         f"{node.core.ndim}")
    for i, (child, sub) in enumerate(zip(node.children, tree)):
        r = child.shape[1] if _is_leaf(child) else child.core.shape[0]
        if node.core.shape[i + 1] != r:
            raise ValueError(f"{path}: rank {node.core.shape[i + 1]} of child {i} does not "
                             f"match the child's rank {r} (mismatched shapes)")
        _check_network(child, sub, f"{path}.{i}")


def _orthonormalize(node):
    """Return an equivalent node whose children have orthonormal bases, and its own QR factor.

    Leaves: ``U = Q R``; inner nodes: children first, then ``Mat_0(C)ᵀ = Q R``.  The returned
    ``R`` (``r x r``) satisfies ``U_old = U_new R``.
    """
    if _is_leaf(node):
        return orth(node)
    C = node.core
    kids = []
    for i, child in enumerate(node.children):
        new, R = _orthonormalize(child)
        C = mode_product(C, R, i + 1)
        kids.append(new)
    xp = get_backend(C).xp
    shape = tuple(C.shape)
    Q, R = orth(xp.reshape(C, (shape[0], -1)).T)
    core = xp.reshape(Q.T, (Q.shape[1],) + shape[1:])
    return TTNode(core, tuple(kids)), R


def _k_rhs(Ftau, G, bases, mode):
    others = [(j + 1, U) for j, U in enumerate(bases) if j + 1 != mode]

    def rhs(t, K):
        Y = mode_product(G, K, mode)
        for j, U in others:
            Y = mode_product(Y, U, j)
        F = Ftau(t, Y)
        for j, U in others:
            F = mode_product(F, ct(U), j)
        return unfold(F, mode) @ ct(unfold(G, mode))

    return rhs


def _step(node, Ftau, t0, t1, sub):
    """One BUG step of the subtree at ``node`` for ``Y' = Ftau(t, Y)``; children orthonormal."""
    C0 = node.core
    xp = get_backend(C0).xp
    bases0 = [_basis(c) for c in node.children]
    new_kids, new_bases = [], []
    for i, child in enumerate(node.children):
        mode = i + 1
        Q, R = orth(ct(unfold(C0, mode)))
        gshape = tuple(C0.shape[:mode]) + (Q.shape[1],) + tuple(C0.shape[mode + 1:])
        G = fold(ct(Q), mode, gshape)
        rhs = _k_rhs(Ftau, G, bases0, mode)
        if _is_leaf(child):
            K1 = solve_flow(Flow(rhs), bases0[i] @ ct(R), t0, t1, **sub)
            check_finite_state(K1, "K-step", t0, t1)
            new = orth(K1)[0]
        else:
            r_new = int(Q.shape[1])
            cshape = tuple(child.core.shape[1:])

            def Fc(t, Z, rhs=rhs, r_new=r_new):
                K = xp.reshape(Z, (r_new, -1)).T
                return xp.reshape(rhs(t, K).T, tuple(Z.shape))

            sub_node = TTNode(mode_product(child.core, conj(R), 0), child.children)
            stepped = _step(sub_node, Fc, t0, t1, sub)
            Qc, _ = orth(xp.reshape(stepped.core, (r_new, -1)).T)
            new = TTNode(xp.reshape(Qc.T, (Qc.shape[1],) + cshape), stepped.children)
        new_kids.append(new)
        new_bases.append(_basis(new))
    C = C0
    for i in range(len(new_bases)):
        C = mode_product(C, ct(new_bases[i]) @ bases0[i], i + 1)

    def core_rhs(t, S):
        Y = S
        for i, U in enumerate(new_bases):
            Y = mode_product(Y, U, i + 1)
        F = Ftau(t, Y)
        for i, U in enumerate(new_bases):
            F = mode_product(F, ct(U), i + 1)
        return F

    C1 = solve_flow(Flow(core_rhs), C, t0, t1, **sub)
    check_finite_state(C1, "connecting-tensor step", t0, t1)
    return TTNode(C1, tuple(new_kids))


def ttn_bug(problem, Y0, tree, t_span, h, *, solver="rk4", nsub=1, options=None,
            reference=None):
    """Integrate a tensor ODE on tree tensor networks of fixed ranks (TTN BUG).

    Parameters
    ----------
    problem : TuckerODE
        ``F`` on dense tensors of ``problem.shape``.
    Y0 : TTNode
        Root of the initial network (leading dimension 1); orthonormalized on entry.
    tree : nested tuples of int
        Binary (or wider) tree over the modes, e.g. ``((0, 1), (2, 3))``.
    t_span : (float, float)
    h : float
        Step size (> 0).
    solver : {"rk4", "solve_ivp"}
    nsub : int
    options : dict, optional
        ``solve_ivp`` options.
    reference : callable ``t -> array``, optional

    Returns
    -------
    Result
        ``Y`` (root :class:`TTNode`), ``t``, ``success``, ``status``, ``message``, ``nit`` and
        ``history`` (``t``, ``norm``, ``wall``, ``error`` with ``reference``).

    Raises
    ------
    ValueError, TypeError
        Bad tree, network not matching the tree or the problem's shape, ``h <= 0``.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, Time integration of tree tensor networks, SIAM J.
       Numer. Anal. 59 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import ttn_bug, ttn_polynomial_problem, ttn_to_dense
    >>> tp = ttn_polynomial_problem(((0, 1), 2), (4, 5, 6), moving=(0, 2, 4), rng=0)
    >>> res = ttn_bug(tp.problem, tp.Y0, tp.info["tree"], (0.0, 0.5), 0.1)
    >>> A = tp.exact(0.5)
    >>> bool(np.linalg.norm(ttn_to_dense(res.Y, tp.info["tree"]) - A) < 1e-12)
    True
    """
    if not isinstance(problem, TuckerODE):
        raise TypeError(f"`problem` must be a TuckerODE, got {type(problem).__name__}")
    if not isinstance(Y0, TTNode):
        raise TypeError(f"`Y0` must be a TTNode (the root), got {type(Y0).__name__}")
    d = len(problem.shape)
    _check_tree(tree, d)
    if isinstance(tree, int):
        raise ValueError("`tree` must have an inner root node")
    _check_network(Y0, tree)
    if Y0.core.shape[0] != 1:
        raise ValueError(f"the root's leading dimension must be 1, got {Y0.core.shape[0]}")
    leaves = _flatten(tree)
    dims = _leaf_dims(Y0)
    if any(dims[k] != problem.shape[mode] for k, mode in enumerate(leaves)):
        raise ValueError(f"leaf sizes {dims} (tree order {leaves}) do not match `problem` shape "
                         f"{problem.shape} (mismatched shapes)")
    if not (isinstance(h, (int, float)) and h > 0 and math.isfinite(h)):
        raise ValueError(f"`h` must be positive and finite, got {h!r}")
    if not isinstance(t_span, (tuple, list)) or len(t_span) != 2 or t_span[1] < t_span[0]:
        raise ValueError(f"`t_span` must be a pair (t0, t_end) with t_end >= t0, got {t_span!r}")
    check_option(solver, "solver", ("rk4", "solve_ivp"))
    sub = {"solver": solver, "nsub": check_int(nsub, "nsub", minimum=1), "options": options}
    xp = get_backend(Y0.core).xp
    perm = tuple(leaves)
    inv = [0] * d
    for k, mode in enumerate(leaves):
        inv[mode] = k
    child_sizes = tuple(int(_basis(c).shape[0]) for c in Y0.children)

    def Froot(t, Y):
        A = xp.permute_dims(xp.reshape(Y, tuple(dims)), tuple(inv))
        F = xp.permute_dims(problem.fun(t, A), perm)
        return xp.reshape(F, (1,) + child_sizes)

    root, R = _orthonormalize(Y0)
    root = TTNode(mode_product(root.core, R, 0), root.children)
    hist = History()
    t = float(t_span[0])

    def record(wall):
        m = {"t": t, "norm": fro(root.core), "wall": wall}
        if reference is not None:
            ref = reference(t)
            m["error"] = fro(ttn_to_dense(root, tree) - ref)
            m["rel_error"] = m["error"] / max(fro(ref), 1e-300)
        hist.record(**m)

    record(0.0)
    t_end = float(t_span[1])
    nsteps = max(0, math.ceil((t_end - t) / h - 1e-9))
    for k in range(nsteps):
        t1 = t_end if k == nsteps - 1 else float(t_span[0]) + (k + 1) * h
        start = time.perf_counter()
        root = _step(root, Froot, t, t1, sub)
        t = t1
        record(time.perf_counter() - start)
    return Result(Y=root, t=t, success=True, status=0,
                  message=f"integrated to t = {t:g} in {nsteps} steps", nit=nsteps, history=hist)


def ttn_polynomial_problem(tree, shape, *, leaf_rank=2, inner_rank=3, moving=None, scale=0.5,
                           rng=0):
    """A TTN whose leaf bases and connecting tensors move linearly in t, ``F = dA/dt``.

    ``A(t)`` keeps its tree ranks, so the TTN BUG reproduces it up to the sub-step solver's
    accuracy: ``F`` is a polynomial of degree ``(number of moving nodes) - 1`` in t, so RK4 is
    exact when at most 4 nodes move.

    Parameters
    ----------
    tree : nested tuples of int
    shape : tuple of int
    leaf_rank, inner_rank : int
        Ranks of the leaves and of the inner non-root nodes.
    moving : collection of int, optional
        Post-order indices of the nodes that move (default: all).
    scale : float
    rng : int or Generator

    Returns
    -------
    TestProblem
        ``Y0`` is the root :class:`TTNode`; ``info["tree"]`` the tree.

    Raises
    ------
    ValueError
        Bad tree or ranks above the sizes.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, Time integration of tree tensor networks, SIAM J.
       Numer. Anal. 59 (2021).

    Examples
    --------
    >>> from lowrank_la.dlra import ttn_polynomial_problem
    >>> ttn_polynomial_problem(((0, 1), (2, 3)), (3, 4, 5, 6)).exact(0.5).shape
    (3, 4, 5, 6)
    """
    import numpy as np

    from ._problems import TestProblem

    shape = tuple(check_int(s, "shape", minimum=1) for s in shape)
    _check_tree(tree, len(shape))
    if isinstance(tree, int):
        raise ValueError("`tree` must have an inner root node")
    gen = check_rng(rng)
    pairs = []  # (value at 0, velocity) per node, in post-order

    def _moves(i):
        return 1.0 if moving is None or i in moving else 0.0

    def build(t_sub, is_root):
        if isinstance(t_sub, int):
            n = shape[t_sub]
            if leaf_rank > n:
                raise ValueError(f"`leaf_rank` {leaf_rank} exceeds mode size {n}")
            U0 = np.linalg.qr(gen.standard_normal((n, leaf_rank)))[0]
            pairs.append((U0, scale * gen.standard_normal((n, leaf_rank)) / np.sqrt(n)
                          * _moves(len(pairs))))
            return ("leaf", len(pairs) - 1)
        kids = [build(s, False) for s in t_sub]
        ranks = [leaf_rank if k[0] == "leaf" else inner_rank for k in kids]
        r = 1 if is_root else inner_rank
        C0 = gen.standard_normal((r, *ranks))
        C0 /= np.linalg.norm(C0)
        pairs.append((C0, scale * gen.standard_normal(C0.shape) / np.sqrt(C0.size)
                      * _moves(len(pairs))))
        return ("node", len(pairs) - 1, kids)

    skeleton = build(tree, True)

    def assemble(sk, t, deriv=None):
        idx = sk[1]
        v0, v1 = pairs[idx]
        val = v1 if deriv == idx else v0 + t * v1
        if sk[0] == "leaf":
            return val
        return TTNode(val, tuple(assemble(k, t, deriv) for k in sk[2]))

    def exact(t):
        return ttn_to_dense(assemble(skeleton, t), tree)

    cache = {}

    def fun(t, A):
        # F does not depend on A: memoize per time (RK4 stages and sub-flows repeat times)
        key = float(t)
        if key not in cache:
            if len(cache) > 16:
                cache.clear()
            cache[key] = sum(ttn_to_dense(assemble(skeleton, t, deriv=i), tree)
                             for i in range(len(pairs)) if _moves(i))
        return cache[key]

    return TestProblem(TuckerODE(shape, fun), assemble(skeleton, 0.0), exact, lambda t: 0.0,
                       {"tree": tree, "shape": shape})
