"""comodo — cross-modal video→IMU distillation for egocentric activity recognition.

The method lives in two files: :mod:`comodo.queue` (the FIFO queue of teacher embeddings) and
:mod:`comodo.losses` (the COMODO soft cross-entropy and its baselines). Everything else feeds them:
:mod:`comodo.world` (an embedded egocentric world written in the real datasets' layouts),
:mod:`comodo.data` (loaders), :mod:`comodo.encoders` (teacher and students), :mod:`comodo.train`
and :mod:`comodo.evaluate`.
"""

from comodo.errors import ComodoError

__version__ = "0.1.0"
__all__ = ["ComodoError", "__version__"]
