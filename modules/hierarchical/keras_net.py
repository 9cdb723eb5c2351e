"""Hierarchical attention network and its flat baseline (Keras). Mirrors
`modules/torch/hierarchical.py`.

Input: word ids (B, sentences, words), right-padded with PAD at both levels.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from modules.attention.spec import DOC_VOCAB_SIZE, PAD, check_sequence_shape
from modules.attention.keras_net import attention_pool, attention_pooling_layers, make_rnn, zero_masked


@keras.saving.register_keras_serializable(package="nnlab")
class HAN(keras.Model):
    """Words -> BiGRU -> attention -> sentence vectors -> BiGRU -> attention -> document -> classes."""

    def __init__(self, num_classes: int, embedding_size: int, hidden_size: int,
                 attention_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self._arguments = dict(num_classes=num_classes, embedding_size=embedding_size,
                           hidden_size=hidden_size, attention_size=attention_size)
        self.embedding = layers.Embedding(DOC_VOCAB_SIZE, embedding_size, name="embedding")
        self.word_encoder = make_rnn("gru", hidden_size, "word_encoder", bidirectional=True)
        self.word_attention = attention_pooling_layers("word_attention", attention_size)
        self.sentence_encoder = make_rnn("gru", hidden_size, "sentence_encoder", bidirectional=True)
        self.sentence_attention = attention_pooling_layers("sentence_attention", attention_size)
        self.classifier = layers.Dense(num_classes, name="classifier")

    def get_config(self) -> dict:
        return {**super().get_config(), **self._arguments}

    def build(self, input_shape) -> None:
        self.call(ops.zeros((1, *input_shape[1:]), "int32"))  # one forward pass creates every weight

    def attend(self, x):
        """Logits (B, classes), word weights (B, S, W) and sentence weights (B, S)."""
        n_sentences, n_words = x.shape[1], x.shape[2]
        words = ops.reshape(x, (-1, n_words))  # (B*S, W)
        word_mask = ops.not_equal(words, PAD)
        states = zero_masked(self.word_encoder(self.embedding(words), mask=word_mask), word_mask)
        sentences, word_weights = attention_pool(*self.word_attention, states, word_mask)
        sentences = ops.reshape(sentences, (-1, n_sentences, sentences.shape[-1]))  # (B, S, 2H)
        sentence_mask = ops.reshape(ops.any(word_mask, axis=-1), (-1, n_sentences))
        states = zero_masked(self.sentence_encoder(sentences, mask=sentence_mask), sentence_mask)
        document, sentence_weights = attention_pool(*self.sentence_attention, states, sentence_mask)
        return (self.classifier(document), ops.reshape(word_weights, (-1, n_sentences, n_words)),
                sentence_weights)

    def call(self, x, training=False):
        return self.attend(x)[0]


@keras.saving.register_keras_serializable(package="nnlab")
class FlatGRU(keras.Model):
    """The flat baseline: every word of the document in one BiGRU, attention-pooled."""

    def __init__(self, num_classes: int, embedding_size: int, hidden_size: int,
                 attention_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self._arguments = dict(num_classes=num_classes, embedding_size=embedding_size,
                           hidden_size=hidden_size, attention_size=attention_size)
        self.embedding = layers.Embedding(DOC_VOCAB_SIZE, embedding_size, name="embedding")
        self.word_encoder = make_rnn("gru", hidden_size, "word_encoder", bidirectional=True)
        self.word_attention = attention_pooling_layers("word_attention", attention_size)
        self.classifier = layers.Dense(num_classes, name="classifier")

    def get_config(self) -> dict:
        return {**super().get_config(), **self._arguments}

    def build(self, input_shape) -> None:
        self.call(ops.zeros((1, *input_shape[1:]), "int32"))  # one forward pass creates every weight

    def call(self, x, training=False):
        length = x.shape[1] * x.shape[2]
        words = ops.reshape(x, (-1, length))  # (B, S*W)
        position = ops.arange(length)
        # the words of all sentences one after another, padding moved to the end
        order = ops.argsort(ops.where(ops.not_equal(words, PAD), position, length + position), axis=1)
        words = ops.take_along_axis(words, order, axis=1)
        mask = ops.not_equal(words, PAD)
        states = zero_masked(self.word_encoder(self.embedding(words), mask=mask), mask)
        document, _ = attention_pool(*self.word_attention, states, mask)
        return self.classifier(document)


def _built(model: keras.Model, input_shape: tuple) -> keras.Model:
    model(ops.zeros((1, *input_shape), "int32"))  # create the weights
    return model


def han(input_shape: tuple, num_classes: int, embedding_size: int = 32, hidden_size: int = 32,
        attention_size: int = 32) -> HAN:
    """Hierarchical attention network (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("han", input_shape, rank=2)
    return _built(HAN(num_classes, embedding_size, hidden_size, attention_size, name="han"), input_shape)


def flat_gru(input_shape: tuple, num_classes: int, embedding_size: int = 32, hidden_size: int = 58,
             attention_size: int = 32) -> FlatGRU:
    """HAN's flat baseline: a BiGRU with attention over all words
    (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("flat_gru", input_shape, rank=2)
    return _built(FlatGRU(num_classes, embedding_size, hidden_size, attention_size, name="flat_gru"),
                  input_shape)
