"""Hierarchical attention: HAN (Yang et al. 2016) and its flat baseline, document classifiers.

Input: word ids (B, sentences, words), right-padded with PAD at both levels; both networks
mask PAD out of their recurrences and attention poolings (see `modules/attention/spec.py`).
"""
from __future__ import annotations

import numpy as np

from modules.attention.spec import DOC_VOCAB_SIZE, PAD, random_tokens
from modules.registry import Architecture, Param, register

HAN_PAPER = "Yang et al. 2016, https://aclanthology.org/N16-1174"
DOCUMENT_SPACE = {
    "embedding_size": Param("int", 16, 128, log=True, bounds=(1, 4096)),
    "hidden_size": Param("int", 16, 128, log=True, bounds=(1, 4096)),
    "attention_size": Param("int", 16, 128, log=True, bounds=(1, 4096)),
}


def document_parity_inputs(input_shape: tuple, num_classes: int, batch: int, seed: int) -> tuple:
    """(word ids,) shaped (batch, sentences, words); some documents end in empty sentences."""
    rng = np.random.default_rng(seed)
    words = random_tokens(rng, (batch, *input_shape), DOC_VOCAB_SIZE)
    n_sentences = rng.integers(1, input_shape[0] + 1, size=batch)
    words[np.arange(input_shape[0])[None, :] >= n_sentences[:, None]] = PAD
    return (words,)


# Yang et al. 2016 (section 3.3): 200-dimensional word embeddings, GRUs of 50 units per direction,
# word and sentence context vectors of 100
PAPER_PRESET = {"embedding_size": 200, "hidden_size": 50, "attention_size": 100}

for _name, _hidden_size, _paper in (
        ("han", 32, HAN_PAPER),
        # hidden 58 gives it as many parameters as han's default, within 1 per cent
        ("flat_gru", 58,
         f"HAN's flat baseline: bidirectional GRU with attention over all words ({HAN_PAPER})")):
    register(Architecture(name=_name, task="classify", family="attention", module="hierarchical",
                              default_data="documents",
        defaults={"embedding_size": 32, "hidden_size": _hidden_size, "attention_size": 32},
        space=DOCUMENT_SPACE,
        train_defaults={"epochs": 8, "lr": 0.003},
        paper=_paper,
        parity_inputs=document_parity_inputs,
        presets={"paper": PAPER_PRESET} if _name == "han" else {},
    ))
