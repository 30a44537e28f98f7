"""The numba-cuda kernels, run on the CPU under numba's CUDA simulator (in a subprocess).

On a GPU machine the same kernels also run for real through the ``cupy`` case of the ``bc``
fixture in ``test_kernels.py`` (marked ``gpu``).
"""

import os
import subprocess
import sys
from pathlib import Path


def test_cuda_kernels_under_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    script = Path(__file__).with_name("_cudasim_check.py")
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ok ") == 4, proc.stdout
