"""Hierarchical attention network and its flat baseline (PyTorch). Twin of `keras_net.py`.

Input: word ids (B, sentences, words), right-padded with PAD at both levels. The
recurrences are `modules/attention/torch_net.py`'s masked ones.
"""
from __future__ import annotations

import torch
from torch import nn

from modules.attention.spec import DOC_VOCAB_SIZE, PAD, check_sequence_shape
from modules.attention.torch_net import make_rnn, masked_softmax, run_rnn


class AttentionPooling(nn.Module):
    """HAN's pooling: weights from u . tanh(W h + b) with a learned context vector u."""

    def __init__(self, size: int, attention_size: int) -> None:
        super().__init__()
        self.project = nn.Linear(size, attention_size)
        self.context = nn.Linear(attention_size, 1, bias=False)

    def forward(self, states: torch.Tensor, mask: torch.Tensor):  # (B, T, D), (B, T)
        weights = masked_softmax(self.context(torch.tanh(self.project(states))).squeeze(-1), mask)
        return torch.einsum("bt,btd->bd", weights, states), weights


class DocumentClassifier(nn.Module):
    """What HAN and its flat baseline share: embedding -> word BiGRU -> attention pooling;
    each subclass adds its own layers, then its `classifier`."""

    def __init__(self, *, embedding_size: int, hidden_size: int, attention_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(DOC_VOCAB_SIZE, embedding_size)
        self.word_encoder = make_rnn("gru", embedding_size, hidden_size, bidirectional=True)
        self.word_attention = AttentionPooling(2 * hidden_size, attention_size)


class HAN(DocumentClassifier):
    """Words -> BiGRU -> attention -> sentence vectors -> BiGRU -> attention -> document -> classes."""

    def __init__(self, num_classes: int, *, embedding_size: int, hidden_size: int,
                 attention_size: int) -> None:
        super().__init__(embedding_size=embedding_size, hidden_size=hidden_size,
                         attention_size=attention_size)
        self.sentence_encoder = make_rnn("gru", 2 * hidden_size, hidden_size, bidirectional=True)
        self.sentence_attention = AttentionPooling(2 * hidden_size, attention_size)
        self.classifier = nn.Linear(2 * hidden_size, num_classes)

    def attend(self, x: torch.Tensor):
        """Logits (B, classes), word weights (B, S, W) and sentence weights (B, S)."""
        batch, n_sentences, n_words = x.shape
        words = x.reshape(batch * n_sentences, n_words)
        word_mask = words != PAD
        states, _ = run_rnn(self.word_encoder, self.embedding(words), word_mask)  # (B*S, W, 2H)
        sentences, word_weights = self.word_attention(states, word_mask)  # (B*S, 2H)
        sentences = sentences.reshape(batch, n_sentences, -1)
        sentence_mask = word_mask.any(dim=-1).reshape(batch, n_sentences)
        states, _ = run_rnn(self.sentence_encoder, sentences, sentence_mask)
        document, sentence_weights = self.sentence_attention(states, sentence_mask)  # (B, 2H)
        return (self.classifier(document), word_weights.reshape(batch, n_sentences, n_words),
                sentence_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, S, W) ids
        return self.attend(x)[0]


class FlatGRU(DocumentClassifier):
    """The flat baseline: every word of the document in one BiGRU, attention-pooled."""

    def __init__(self, num_classes: int, *, embedding_size: int, hidden_size: int,
                 attention_size: int) -> None:
        super().__init__(embedding_size=embedding_size, hidden_size=hidden_size,
                         attention_size=attention_size)
        self.classifier = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, S, W) ids
        words = x.reshape(len(x), -1)  # (B, S*W)
        position = torch.arange(words.shape[1])
        # the words of all sentences one after another, padding moved to the end
        order = torch.argsort(torch.where(words != PAD, position, words.shape[1] + position), dim=1)
        words = torch.gather(words, 1, order)
        mask = words != PAD
        states, _ = run_rnn(self.word_encoder, self.embedding(words), mask)
        document, _ = self.word_attention(states, mask)
        return self.classifier(document)


def han(input_shape: tuple, num_classes: int, *, embedding_size: int, hidden_size: int,
        attention_size: int) -> HAN:
    """Hierarchical attention network (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("han", input_shape, rank=2)
    return HAN(num_classes, embedding_size=embedding_size, hidden_size=hidden_size,
                   attention_size=attention_size)


def flat_gru(input_shape: tuple, num_classes: int, *, embedding_size: int, hidden_size: int,
             attention_size: int) -> FlatGRU:
    """HAN's flat baseline: a BiGRU with attention over all words
    (Yang et al. 2016, https://aclanthology.org/N16-1174)."""
    check_sequence_shape("flat_gru", input_shape, rank=2)
    return FlatGRU(num_classes, embedding_size=embedding_size, hidden_size=hidden_size,
                   attention_size=attention_size)
