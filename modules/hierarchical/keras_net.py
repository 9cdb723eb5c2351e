"""Hierarchical attention network and its flat baseline (Keras). Twin of `torch_net.py`.

Input: word ids (B, sentences, words), right-padded with PAD at both levels. The
recurrences are `modules/attention/keras_net.py`'s masked ones; each weighted layer is
named after the torch module it mirrors (`word_attention.project`, ...).
"""
from __future__ import annotations

import keras
from keras import layers, ops

from modules.attention.keras_net import make_rnn, masked_softmax, zero_masked
from modules.attention.spec import DOC_VOCAB_SIZE, PAD, check_sequence_shape


class AttentionPooling:
    """HAN's pooling: weights from u . tanh(W h + b) with a learned context vector u.

    Not a layer: the model owns its two Dense layers (`layers`), named `<name>.project` and
    `<name>.context` after the torch module's, so weights transfer by name."""

    def __init__(self, name: str, attention_size: int) -> None:
        self.project = layers.Dense(attention_size, name=f"{name}.project")
        self.context = layers.Dense(1, use_bias=False, name=f"{name}.context")
        self.layers = [self.project, self.context]

    def __call__(self, states, mask):  # (B, T, D), (B, T)
        weights = masked_softmax(ops.squeeze(self.context(ops.tanh(self.project(states))), axis=-1), mask)
        return ops.einsum("bt,btd->bd", weights, states), weights


class DocumentClassifier(keras.Model):
    """What HAN and its flat baseline share: embedding -> word BiGRU -> attention pooling;
    each subclass adds its own layers, then its `classifier`."""

    def __init__(self, num_classes: int, *, embedding_size: int, hidden_size: int, attention_size: int,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._arguments = dict(num_classes=num_classes, embedding_size=embedding_size,
                               hidden_size=hidden_size, attention_size=attention_size)
        self.embedding = layers.Embedding(DOC_VOCAB_SIZE, embedding_size, name="embedding")
        self.word_encoder = make_rnn("gru", hidden_size, "word_encoder", bidirectional=True)
        self.word_attention = AttentionPooling("word_attention", attention_size)
        self.word_attention_layers = self.word_attention.layers  # tracked, so saved and trained

    def get_config(self) -> dict:
        return {**super().get_config(), **self._arguments}

    def build(self, input_shape) -> None:
        self.call(ops.zeros((1, *input_shape[1:]), "int32"))  # one forward pass creates every weight


@keras.saving.register_keras_serializable(package="nnlab")
class HAN(DocumentClassifier):
    """Words -> BiGRU -> attention -> sentence vectors -> BiGRU -> attention -> document -> classes."""

    def __init__(self, num_classes: int, *, embedding_size: int, hidden_size: int,
                 attention_size: int, **kwargs) -> None:
        super().__init__(num_classes, embedding_size=embedding_size, hidden_size=hidden_size,
                         attention_size=attention_size, **kwargs)
        self.sentence_encoder = make_rnn("gru", hidden_size, "sentence_encoder", bidirectional=True)
        self.sentence_attention = AttentionPooling("sentence_attention", attention_size)
        self.sentence_attention_layers = self.sentence_attention.layers
        self.classifier = layers.Dense(num_classes, name="classifier")

    def attend(self, x):
        """Logits (B, classes), word weights (B, S, W) and sentence weights (B, S)."""
        n_sentences, n_words = x.shape[1], x.shape[2]
        words = ops.reshape(x, (-1, n_words))  # (B*S, W)
        word_mask = ops.not_equal(words, PAD)
        states = zero_masked(self.word_encoder(self.embedding(words), mask=word_mask), word_mask)
        sentences, word_weights = self.word_attention(states, word_mask)
        sentences = ops.reshape(sentences, (-1, n_sentences, sentences.shape[-1]))  # (B, S, 2H)
        sentence_mask = ops.reshape(ops.any(word_mask, axis=-1), (-1, n_sentences))
        states = zero_masked(self.sentence_encoder(sentences, mask=sentence_mask), sentence_mask)
        document, sentence_weights = self.sentence_attention(states, sentence_mask)
        return (self.classifier(document), ops.reshape(word_weights, (-1, n_sentences, n_words)),
                sentence_weights)

    def call(self, x, training=False):
        return self.attend(x)[0]


@keras.saving.register_keras_serializable(package="nnlab")
class FlatGRU(DocumentClassifier):
    """The flat baseline: every word of the document in one BiGRU, attention-pooled."""

    # HAN's constructor signature again: Keras rebuilds a saved layer from its own class's
    # `__init__` keywords (`duplicates` pairs the two constructors)

    def __init__(self, num_classes: int, *, embedding_size: int, hidden_size: int,
                 attention_size: int, **kwargs) -> None:
        super().__init__(num_classes, embedding_size=embedding_size, hidden_size=hidden_size,
                         attention_size=attention_size, **kwargs)
        self.classifier = layers.Dense(num_classes, name="classifier")

    def call(self, x, training=False):
        length = x.shape[1] * x.shape[2]
        words = ops.reshape(x, (-1, length))  # (B, S*W)
        position = ops.arange(length)
        # the words of all sentences one after another, padding moved to the end
        order = ops.argsort(ops.where(ops.not_equal(words, PAD), position, length + position), axis=1)
        words = ops.take_along_axis(words, order, axis=1)
        mask = ops.not_equal(words, PAD)
        states = zero_masked(self.word_encoder(self.embedding(words), mask=mask), mask)
        document, _ = self.word_attention(states, mask)
        return self.classifier(document)


def built(model: keras.Model, input_shape: tuple) -> keras.Model:
    """`model` with its weights created by one call on a batch of `input_shape` word ids."""
    model(ops.zeros((1, *input_shape), "int32"))
    return model


def han(input_shape: tuple, num_classes: int, *, embedding_size: int, hidden_size: int,
        attention_size: int) -> HAN:
    """Hierarchical attention network (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("han", input_shape, rank=2)
    return built(HAN(num_classes, name="han", embedding_size=embedding_size, hidden_size=hidden_size,
                     attention_size=attention_size), input_shape)


def flat_gru(input_shape: tuple, num_classes: int, *, embedding_size: int, hidden_size: int,
             attention_size: int) -> FlatGRU:
    """HAN's flat baseline: a BiGRU with attention over all words
    (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("flat_gru", input_shape, rank=2)
    return built(FlatGRU(num_classes, name="flat_gru", embedding_size=embedding_size,
                         hidden_size=hidden_size, attention_size=attention_size), input_shape)
