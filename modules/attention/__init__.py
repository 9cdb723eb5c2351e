"""Attention: the seq2seq encoder-decoder with none, Bahdanau or Luong attention."""
