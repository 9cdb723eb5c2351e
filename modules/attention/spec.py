"""Attention: the seq2seq encoder-decoder (none | Bahdanau | Luong attention).

Token ids come in padded with PAD (0); every network masks PAD positions out of its
recurrences and attentions, so changing padding never changes an output. The helpers
here (`check_choice`, `check_sequence_shape`, `random_tokens`) serve `modules/hierarchical/` too.
"""
from __future__ import annotations

import numpy as np

from modules.errors import UserError
from modules.registry import Architecture, Param, register

# Token conventions the networks are built on; the text datamodules (`datamodules/textgen.py`)
# encode their vocabularies with them.
PAD, BOS = 0, 1  # padding (masked out everywhere) and the decoder's start token
TARGET_LENGTH = 10  # decoder steps: an ISO date "YYYY-MM-DD"
DOC_VOCAB_SIZE = 2000  # word ids < this in documents (the hierarchical networks' embedding size)

ATTENTIONS = ("none", "bahdanau", "luong")
CELLS = ("gru", "lstm")
SCORE_MASK = -1e9  # added to the scores of padding so softmax gives them exactly zero weight


def check_choice(name: str, value: str, choices: tuple) -> str:
    """Return `value` if it is one of `choices`, else raise UserError naming them."""
    if value not in choices:
        raise UserError(f"{name}={value!r} is not valid; choose one of: {', '.join(choices)}")
    return value


def check_sequence_shape(name: str, input_shape: tuple, rank: int) -> None:
    """Raise UserError unless `input_shape` has `rank` positive lengths."""
    if len(input_shape) != rank or min(input_shape) <= 0:
        what = "(length,)" if rank == 1 else "(sentences, words)"
        raise UserError(f"{name} needs token sequences shaped {what} with every length positive, "
                        f"got {tuple(input_shape)}")


def random_tokens(rng: np.random.Generator, shape: tuple, vocab_size: int) -> np.ndarray:
    """Right-padded token ids: each row along the last axis keeps a random length >= 1."""
    ids = rng.integers(BOS + 1, vocab_size, size=shape)
    lengths = rng.integers(1, shape[-1] + 1, size=shape[:-1])
    return np.where(np.arange(shape[-1]) < lengths[..., None], ids, PAD).astype(np.int64)


def seq2seq_parity_inputs(input_shape: tuple, num_classes: int, batch: int, seed: int) -> tuple:
    """(source ids, decoder input ids): a padded source batch and a teacher-forced target batch."""
    rng = np.random.default_rng(seed)
    source = random_tokens(rng, (batch, *input_shape), num_classes)
    decoder_input = rng.integers(BOS, num_classes, size=(batch, TARGET_LENGTH)).astype(np.int64)
    return source, decoder_input


register(Architecture(name="seq2seq", task="translate", family="attention", module="attention",
                          default_data="dates",
    defaults={"cell": "gru", "attention": "bahdanau", "embedding_size": 32, "hidden_size": 128},
    space={
        "cell": Param("categorical", choices=CELLS),
        "attention": Param("categorical", choices=ATTENTIONS),
        "embedding_size": Param("int", 16, 128, log=True, bounds=(1, 4096)),
        "hidden_size": Param("int", 32, 256, log=True, bounds=(1, 4096)),
    },
    train_defaults={"epochs": 12, "lr": 0.003, "batch_size": 64},
    # Bahdanau et al. 2014 (section 4.2, appendix A): 620-dimensional embeddings, 1000 hidden units in the
    # encoder, the decoder and the alignment model (here one size serves all three)
    presets={"paper": {"cell": "gru", "attention": "bahdanau", "embedding_size": 620, "hidden_size": 1000}},
    paper="Bahdanau, Cho & Bengio 2014, https://arxiv.org/abs/1409.0473; "
          "Luong, Pham & Manning 2015, https://arxiv.org/abs/1508.04025",
    parity_inputs=seq2seq_parity_inputs,
))

def pack_translations(logits: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """What a translate task outputs, as one array (N, T_out, V + T_in): the greedy decoding's
    logits, then its attention weights (zeros without attention). `unpack_translations` undoes it."""
    return np.concatenate([logits, weights], axis=-1).astype(np.float32)


def unpack_translations(outputs: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, T_out, V), attention weights (N, T_out, T_in)) of `pack_translations`'s array."""
    return outputs[..., :vocab_size], outputs[..., vocab_size:]
