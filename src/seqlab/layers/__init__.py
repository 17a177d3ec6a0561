"""Neural building blocks: recurrent cells and layers from their equations, embeddings, pooling, convolution."""

from .cells import GRUCell, LSTMCell, RNNCell
from .recurrent import GRU, LSTM, RNN

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
