"""Recurrent sequence classifiers: Elman, Jordan, LSTM, GRU and their bidirectional twins."""
