"""PyTorch layer of lowrank_la: factorized layers, compression and low-rank training controllers.

Importing :mod:`lowrank_la` does not import torch; importing this subpackage does.

- :class:`LowRankLinear`, :class:`LowRankConv2d` and :func:`compress_` (truncated-SVD
  replacement of ``nn.Linear`` and ``nn.Conv2d``);
- :class:`DLRT` (rank-adaptive dynamical low-rank training, Schotthöfer et al. 2022);
- :class:`TuckerConv2d` and :class:`TuckerDLRT` (Tucker-format convolutions, Zangrando et al.);
- :class:`TRP` (trained rank pruning, Xu et al. 2020);
- :class:`StableRankSwitch` (Cuttlefish, Wang et al. 2023);
- :class:`CondClamp` (bounded core condition numbers, Savostianova et al. 2023);
- :class:`GaLore` (gradient low-rank projection around any torch optimizer, Zhao et al. 2024).
"""

from __future__ import annotations

from ._compress import CompressionReport, compress_
from ._condclamp import CondClamp
from ._conv import LowRankConv2d
from ._cuttlefish import StableRankSwitch
from ._dlrt import DLRT
from ._galore import GaLore
from ._layers import LowRankLinear
from ._reproduce import reproduce_digits
from ._trp import TRP
from ._tucker import TuckerConv2d, TuckerDLRT

__all__ = ["LowRankLinear", "LowRankConv2d", "compress_", "CompressionReport", "DLRT", "TRP",
           "StableRankSwitch", "GaLore", "CondClamp", "TuckerConv2d", "TuckerDLRT",
           "reproduce_digits"]
