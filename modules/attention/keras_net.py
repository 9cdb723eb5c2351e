"""Attention (Keras): masked recurrences, additive and multiplicative attention, seq2seq.

Twin of `torch_net.py`. Each weighted layer is named after the
torch module it mirrors (`encoder`, `attention.query`, ...) so weights transfer
by name. Recurrences take a PAD mask (the state is carried over masked steps,
as torch's packed sequences skip them); greedy decoding, and Bahdanau's decoder
whose input holds the attention context, step the decoder's cell by hand.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from modules.attention.spec import (
    ATTENTIONS,
    BOS,
    CELLS,
    PAD,
    SCORE_MASK,
    TARGET_LENGTH,
    check_choice,
    check_sequence_shape,
)


# --- recurrences ------------------------------------------------------------------------
def make_rnn(cell: str, hidden_size: int, name: str, bidirectional: bool = False,
             return_state: bool = False) -> layers.Layer:
    """A GRU (reset_after=True, as torch's) or LSTM layer returning sequences, named like the
    torch module it mirrors; PAD steps are skipped through the `mask` it is called with."""
    check_choice("cell", cell, CELLS)

    def kind(**options) -> layers.Layer:
        if cell == "gru":
            return layers.GRU(hidden_size, reset_after=True, **options)
        return layers.LSTM(hidden_size, **options)

    if bidirectional:
        return layers.Bidirectional(kind(return_sequences=True, name=name), name=name)
    return kind(return_sequences=True, return_state=return_state, name=name)


def zero_masked(outputs, mask):
    """Outputs (B, T, D) with masked positions zeroed, as the torch side returns them."""
    return outputs * ops.cast(mask, outputs.dtype)[..., None]


# --- attention ----------------------------------------------------------------------------
def masked_softmax(scores, mask):
    """Softmax over the last axis with masked positions at exactly zero weight."""
    return ops.softmax(scores + (1.0 - ops.cast(mask, scores.dtype)) * SCORE_MASK, axis=-1)


# The attentions are not Keras layers but plain objects holding named Dense layers (`layers`,
# which the model tracks), so each Dense carries its torch twin's full path (`attention.query`)
# and weights transfer by name.
class AdditiveAttention:
    """Bahdanau: score(q, k) = v . tanh(W q + U k)."""

    def __init__(self, size: int, name: str) -> None:
        self.query = layers.Dense(size, use_bias=False, name=f"{name}.query")
        self.key = layers.Dense(size, name=f"{name}.key")
        self.energy = layers.Dense(1, use_bias=False, name=f"{name}.energy")
        self.layers = [self.query, self.key, self.energy]

    def project_keys(self, keys):
        return self.key(keys)  # (B, T, A), once per source

    def __call__(self, query, keys, projected, mask):  # (B, Q), (B, T, K), (B, T, A), (B, T)
        scores = ops.squeeze(self.energy(ops.tanh(self.query(query)[:, None] + projected)), axis=-1)
        weights = masked_softmax(scores, mask)  # (B, T)
        return ops.einsum("bt,btk->bk", weights, keys), weights


class MultiplicativeAttention:
    """Luong's "general" score: score(q, k) = q . W k."""

    def __init__(self, size: int, name: str) -> None:
        self.key = layers.Dense(size, use_bias=False, name=f"{name}.key")
        self.layers = [self.key]

    def project_keys(self, keys):
        return self.key(keys)  # (B, T, Q)

    def __call__(self, query, keys, projected, mask):
        scores = ops.einsum("bq,btq->bt", query, projected)
        weights = masked_softmax(scores, mask)
        return ops.einsum("bt,btk->bk", weights, keys), weights


# --- seq2seq ------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="nnlab")
class Seq2Seq(keras.Model):
    """Encoder-decoder over one token vocabulary, with no, additive or multiplicative attention.

    `model((source, decoder_input))` runs teacher forcing and returns logits
    (B, T_out, V); `generate(source, steps)` decodes greedily and returns the
    logits and the attention weights (B, steps, T_in).
    """

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, cell: str,
                 attention: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._arguments = dict(vocab_size=vocab_size, embedding_size=embedding_size,
                           hidden_size=hidden_size, cell=cell, attention=attention)
        self.kind = check_choice("attention", attention, ATTENTIONS)
        self.source_embedding = layers.Embedding(vocab_size, embedding_size, name="source_embedding")
        self.target_embedding = layers.Embedding(vocab_size, embedding_size, name="target_embedding")
        self.encoder = make_rnn(cell, hidden_size, "encoder", return_state=True)
        self.decoder = make_rnn(cell, hidden_size, "decoder", return_state=True)
        if attention == "bahdanau":
            self.attention = AdditiveAttention(hidden_size, "attention")
            self.attention_layers = self.attention.layers
        elif attention == "luong":
            self.attention = MultiplicativeAttention(hidden_size, "attention")
            self.attention_layers = self.attention.layers
            self.combine = layers.Dense(hidden_size, name="combine")  # h~_t = tanh(W [c_t; h_t])
        self.output_layer = layers.Dense(vocab_size, name="output")

    def get_config(self) -> dict:
        return {**super().get_config(), **self._arguments}

    def build(self, input_shape) -> None:
        source_shape, target_shape = input_shape  # one forward pass creates every weight
        self.call((ops.zeros((1, *source_shape[1:]), "int32"), ops.zeros((1, *target_shape[1:]), "int32")))

    def encode(self, source):
        mask = ops.not_equal(source, PAD)  # (B, T)
        keys, *state = self.encoder(self.source_embedding(source), mask=mask)
        keys = zero_masked(keys, mask)
        projected = self.attention.project_keys(keys) if self.kind != "none" else None
        return keys, projected, mask, state

    def step(self, token, state, keys, projected, mask):
        """One decoder step from the previous token: (logits, state, attention weights)."""
        embedded = self.target_embedding(token)  # (B, E)
        if self.kind == "bahdanau":  # attend with the previous state, then step
            context, weights = self.attention(state[0], keys, projected, mask)
            hidden, state = self.decoder.cell(ops.concatenate([embedded, context], axis=-1), state)
            features = ops.concatenate([hidden, context], axis=-1)
        elif self.kind == "luong":  # step, then attend with the new state
            hidden, state = self.decoder.cell(embedded, state)
            context, weights = self.attention(hidden, keys, projected, mask)
            features = ops.tanh(self.combine(ops.concatenate([context, hidden], axis=-1)))
        else:
            hidden, state = self.decoder.cell(embedded, state)
            features, weights = hidden, ops.zeros(ops.shape(mask), dtype=hidden.dtype)
        return self.output_layer(features), list(state), weights

    def call(self, inputs, training=False):
        source, decoder_input = inputs
        keys, projected, mask, state = self.encode(source)
        if self.kind == "bahdanau":  # the context enters the recurrence: step by step
            logits = []
            for t in range(decoder_input.shape[1]):
                out, state, _ = self.step(decoder_input[:, t], state, keys, projected, mask)
                logits.append(out)
            return ops.stack(logits, axis=1)  # (B, T_out, V)
        hidden = self.decoder(self.target_embedding(decoder_input), initial_state=state)[0]
        if self.kind == "none":
            return self.output_layer(hidden)
        scores = ops.einsum("bqh,bth->bqt", hidden, projected)  # Luong: every step's query at once
        weights = masked_softmax(scores, mask[:, None, :])
        context = ops.einsum("bqt,bth->bqh", weights, keys)
        return self.output_layer(ops.tanh(self.combine(ops.concatenate([context, hidden], axis=-1))))

    def generate(self, source, steps: int):
        """Greedy decoding from BOS: logits (B, steps, V) and attention weights (B, steps, T_in)."""
        # line for line the twin's `generate` (`duplicates` pairs the two: that is the mirror)
        keys, projected, mask, state = self.encode(source)
        token = ops.full((ops.shape(source)[0],), BOS, dtype="int32")
        logits, weights = [], []
        for _ in range(steps):
            out, state, w = self.step(token, state, keys, projected, mask)
            token = ops.argmax(out, axis=-1)
            logits.append(out)
            weights.append(w)
        return ops.stack(logits, axis=1), ops.stack(weights, axis=1)


def seq2seq(input_shape: tuple, num_classes: int, *, cell: str, attention: str, embedding_size: int,
            hidden_size: int) -> Seq2Seq:
    """Encoder-decoder with attention (Bahdanau et al. 2014, https://arxiv.org/abs/1409.0473;
    Luong et al. 2015, https://arxiv.org/abs/1508.04025). `num_classes` is the vocabulary size."""
    check_sequence_shape("seq2seq", input_shape, rank=1)
    model = Seq2Seq(num_classes, embedding_size, hidden_size, cell, attention, name="seq2seq")
    model((ops.zeros((1, *input_shape), "int32"), ops.zeros((1, TARGET_LENGTH), "int32")))  # build
    return model
