"""Attention (PyTorch): masked recurrences, additive and multiplicative attention, seq2seq.

Twin of `keras_net.py`. Recurrences run over the real tokens of
right-padded sequences only (packed sequences here, masks in Keras), so the
state after the last real token is the final state and padding never leaks in.
"""
from __future__ import annotations

import torch
from torch import nn

from modules.attention.spec import ATTENTIONS, BOS, CELLS, PAD, SCORE_MASK, check_choice, check_sequence_shape


# --- recurrences ------------------------------------------------------------------------
class SequenceGRU(nn.GRU):
    """One batch-first GRU layer whose Keras twin is one `GRU` (or `Bidirectional`) layer of
    the same name (converted in `modules/convert/attention.py`)."""


class SequenceLSTM(nn.LSTM):
    """One batch-first LSTM layer whose Keras twin is one `LSTM` (or `Bidirectional`) layer."""


def make_rnn(cell: str, input_size: int, hidden_size: int, bidirectional: bool = False) -> nn.RNNBase:
    """A one-layer batch-first GRU or LSTM."""
    check_choice("cell", cell, CELLS)
    kind = SequenceGRU if cell == "gru" else SequenceLSTM
    return kind(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)


def hidden_of(state) -> torch.Tensor:
    """The last layer's hidden vector (B, H) of a GRU state h or an LSTM state (h, c)."""
    return (state[0] if isinstance(state, tuple) else state)[-1]


def run_rnn(rnn: nn.RNNBase, inputs: torch.Tensor, mask: torch.Tensor):
    """Run `rnn` over the real tokens of right-padded `inputs` (B, T, I); `mask` (B, T).

    Returns the outputs (B, T, D), zero at padding, and the final state (the
    state after each row's last real token; zero for a row with none), as
    Keras's masked recurrences give them.
    """
    lengths = mask.sum(dim=1)
    packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths.clamp(min=1).cpu(), batch_first=True,
                                               enforce_sorted=False)
    outputs, state = rnn(packed)
    outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])
    nonempty = (lengths > 0).to(outputs.dtype)[None, :, None]
    state = tuple(s * nonempty for s in state) if isinstance(state, tuple) else state * nonempty
    return outputs * mask[..., None], state


# --- attention ----------------------------------------------------------------------------
def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis with masked positions at exactly zero weight."""
    return torch.softmax(scores + (~mask) * SCORE_MASK, dim=-1)


class AdditiveAttention(nn.Module):
    """Bahdanau: score(q, k) = v . tanh(W q + U k)."""

    def __init__(self, query_size: int, key_size: int, size: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, size, bias=False)
        self.key = nn.Linear(key_size, size)
        self.energy = nn.Linear(size, 1, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key(keys)  # (B, T, A), once per source

    def forward(self, query, keys, projected, mask):  # (B, Q), (B, T, K), (B, T, A), (B, T)
        scores = self.energy(torch.tanh(self.query(query)[:, None] + projected)).squeeze(-1)
        weights = masked_softmax(scores, mask)  # (B, T)
        return torch.einsum("bt,btk->bk", weights, keys), weights


class MultiplicativeAttention(nn.Module):
    """Luong's "general" score: score(q, k) = q . W k."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key = nn.Linear(key_size, query_size, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key(keys)  # (B, T, Q)

    def forward(self, query, keys, projected, mask):
        scores = torch.einsum("bq,btq->bt", query, projected)
        weights = masked_softmax(scores, mask)
        return torch.einsum("bt,btk->bk", weights, keys), weights


# --- seq2seq ------------------------------------------------------------------------------
class Seq2Seq(nn.Module):
    """Encoder-decoder over one token vocabulary, with no, additive or multiplicative attention.

    `forward(source, decoder_input)` runs teacher forcing and returns logits
    (B, T_out, V); `generate(source, steps)` decodes greedily and returns the
    logits and the attention weights (B, steps, T_in).
    """

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, cell: str,
                 attention: str) -> None:
        super().__init__()
        self.kind = check_choice("attention", attention, ATTENTIONS)
        self.source_embedding = nn.Embedding(vocab_size, embedding_size)
        self.target_embedding = nn.Embedding(vocab_size, embedding_size)
        self.encoder = make_rnn(cell, embedding_size, hidden_size)
        context = hidden_size if attention == "bahdanau" else 0  # Bahdanau feeds the context in
        self.decoder = make_rnn(cell, embedding_size + context, hidden_size)
        if attention == "bahdanau":
            self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size)
            features = 2 * hidden_size  # [s_t; c_t]
        elif attention == "luong":
            self.attention = MultiplicativeAttention(hidden_size, hidden_size)
            self.combine = nn.Linear(2 * hidden_size, hidden_size)  # h~_t = tanh(W [c_t; h_t])
            features = hidden_size
        else:
            features = hidden_size
        self.output = nn.Linear(features, vocab_size)

    def encode(self, source: torch.Tensor):
        mask = source != PAD  # (B, T)
        keys, state = run_rnn(self.encoder, self.source_embedding(source), mask)
        projected = self.attention.project_keys(keys) if self.kind != "none" else None
        return keys, projected, mask, state

    def step(self, token: torch.Tensor, state, keys, projected, mask):
        """One decoder step from the previous token: (logits, state, attention weights)."""
        embedded = self.target_embedding(token)  # (B, E)
        if self.kind == "bahdanau":  # attend with the previous state, then step
            context, weights = self.attention(hidden_of(state), keys, projected, mask)
            _, state = self.decoder(torch.cat([embedded, context], dim=-1)[:, None], state)
            features = torch.cat([hidden_of(state), context], dim=-1)
        elif self.kind == "luong":  # step, then attend with the new state
            _, state = self.decoder(embedded[:, None], state)
            context, weights = self.attention(hidden_of(state), keys, projected, mask)
            features = torch.tanh(self.combine(torch.cat([context, hidden_of(state)], dim=-1)))
        else:
            _, state = self.decoder(embedded[:, None], state)
            features, weights = hidden_of(state), mask.new_zeros(mask.shape, dtype=keys.dtype)
        return self.output(features), state, weights

    def forward(self, source: torch.Tensor, decoder_input: torch.Tensor) -> torch.Tensor:
        keys, projected, mask, state = self.encode(source)
        if self.kind == "bahdanau":  # the context enters the recurrence: step by step
            logits = []
            for t in range(decoder_input.shape[1]):
                out, state, _ = self.step(decoder_input[:, t], state, keys, projected, mask)
                logits.append(out)
            return torch.stack(logits, dim=1)  # (B, T_out, V)
        hidden, _ = self.decoder(self.target_embedding(decoder_input), state)  # all steps at once
        if self.kind == "none":
            return self.output(hidden)
        scores = torch.einsum("bqh,bth->bqt", hidden, projected)  # Luong: every step's query at once
        weights = masked_softmax(scores, mask[:, None, :])
        context = torch.einsum("bqt,bth->bqh", weights, keys)
        return self.output(torch.tanh(self.combine(torch.cat([context, hidden], dim=-1))))

    def generate(self, source: torch.Tensor, steps: int):
        """Greedy decoding from BOS: logits (B, steps, V) and attention weights (B, steps, T_in)."""
        # line for line the twin's `generate` (`duplicates` pairs the two: that is the mirror)
        keys, projected, mask, state = self.encode(source)
        token = source.new_full((len(source),), BOS)
        logits, weights = [], []
        for _ in range(steps):
            out, state, w = self.step(token, state, keys, projected, mask)
            token = out.argmax(dim=-1)
            logits.append(out)
            weights.append(w)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)


def seq2seq(input_shape: tuple, num_classes: int, *, cell: str, attention: str, embedding_size: int,
            hidden_size: int) -> Seq2Seq:
    """Encoder-decoder with attention (Bahdanau et al. 2014, https://arxiv.org/abs/1409.0473;
    Luong et al. 2015, https://arxiv.org/abs/1508.04025). `num_classes` is the vocabulary size."""
    check_sequence_shape("seq2seq", input_shape, rank=1)
    return Seq2Seq(num_classes, embedding_size, hidden_size, cell, attention)
