"""PyTorch layer of lowrank_la: factorized layers, compression and low-rank training controllers.

Importing :mod:`lowrank_la` does not import torch; importing this subpackage does.

- :class:`LowRankLinear` and :func:`compress_` (truncated-SVD replacement of ``nn.Linear``);
- :class:`DLRT` (rank-adaptive dynamical low-rank training, Schotthöfer et al. 2022);
- :class:`TRP` (trained rank pruning, Xu et al. 2020);
- :class:`StableRankSwitch` (Cuttlefish, Wang et al. 2023);
- :class:`GaLore` (gradient low-rank projection around any torch optimizer, Zhao et al. 2024).
"""

from __future__ import annotations

from ._compress import CompressionReport, compress_
from ._dlrt import DLRT
from ._layers import LowRankLinear

__all__ = ["LowRankLinear", "compress_", "CompressionReport", "DLRT"]
