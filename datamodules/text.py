"""Token datasets: generated dates (translate) and documents (classify), and a user's text folder.

Inputs are integer token ids, never normalised. For translation a batch is
`((source, decoder_input), target)`: the decoder input is the target shifted
right behind BOS (teacher forcing), made here once for both frameworks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datamodules import textgen
from datamodules.core import ArrayDataModule, Split, seeded_split
from modules.errors import DataError

DATES_SEED, DOCUMENTS_SEED = 20261125, 1606  # the generated sets are fixed; split_seed splits them


class TokenDataModule(ArrayDataModule):
    """An ArrayDataModule over integer token ids: no normalisation, int64 inputs."""

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        raw = self.load_arrays()
        self.source_digest = self._digest_of(raw)
        raw = self._carve_validation(raw)
        self.splits = {k: Split(np.ascontiguousarray(s.x, np.int64), s.y.astype(np.int64))
                       for k, s in raw.items()}
        self.digest = self._digest()


def decoder_inputs(y: np.ndarray) -> np.ndarray:
    """Targets shifted right behind BOS: what the decoder reads under teacher forcing."""
    return np.concatenate([np.full((len(y), 1), textgen.BOS, y.dtype), y[:, :-1]], axis=1)


class DatesDataModule(TokenDataModule):
    """Human-written dates -> ISO dates, as character ids; the test set holds unseen strings."""

    name = "dates"

    def load_arrays(self) -> dict[str, Split]:
        n_train, n_val, n_test = self.info.splits
        sources, targets = textgen.generate_dates(n_train + n_val, DATES_SEED)
        test_sources, test_targets = textgen.generate_dates(n_test, DATES_SEED + 1, exclude=set(sources))
        return {"train": Split(*textgen.date_arrays(sources, targets)),
                "test": Split(*textgen.date_arrays(test_sources, test_targets))}

    def batch_arrays(self, split: str, layout: str = "channels_first"):
        """Batches `((source, decoder_input), target)` in both frameworks."""
        x, y = self.arrays(split, layout=layout)
        return (x, decoder_inputs(y)), y


class DocumentsDataModule(TokenDataModule):
    """Documents as word ids (sentences, words): generated, or a user's folder via `data_dir`.

    A folder holds one subfolder per label and one text file per document; the
    vocabulary (the most frequent words, at most `DOC_VOCAB_SIZE`) comes from
    the train split alone, and the shape from the longest train document and
    sentence (capped at MAX_SENTENCES x MAX_WORDS).
    """

    name = "documents"
    MAX_SENTENCES, MAX_WORDS = 30, 40

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.labels: tuple[str, ...] = textgen.DOC_CLASSES
        self._shape: tuple[int, int] = (textgen.DOC_SENTENCES, textgen.DOC_WORDS)
        self.vocabulary: dict[str, int] = {}

    @property
    def input_shape(self) -> tuple:
        return self._shape

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def load_arrays(self) -> dict[str, Split]:
        n_train, n_val, n_test = self.info.splits
        x, y = textgen.generate_documents(n_train + n_val + n_test, DOCUMENTS_SEED)
        return {"train": Split(x, y)}

    def setup(self, stage: str | None = None) -> None:
        if self.splits or self.data_dir is None:
            return super().setup(stage)
        texts, labels, self.labels = read_text_folder(self.data_dir)
        n = len(texts)
        n_val, n_test = max(1, round(0.1 * n)), max(1, round(0.1 * n))
        parts = seeded_split(n, (n - n_val - n_test, n_val, n_test), self.split_seed)
        train_docs = [texts[i] for i in parts[0]]
        self.vocabulary = textgen.build_vocabulary(train_docs)
        self._shape = (min(max(len(d) for d in train_docs), self.MAX_SENTENCES),
                       min(max(len(s) for d in train_docs for s in d), self.MAX_WORDS))
        x = textgen.encode_documents(texts, self.vocabulary, self._shape)
        y = np.asarray(labels, np.int64)
        self.source_digest = self._digest_of({"folder": Split(x, y)})
        self.splits = {k: Split(x[i], y[i]) for k, i in zip(("train", "val", "test"), parts)}
        self.digest = self._digest()


def read_text_folder(folder: Path) -> tuple[list, list[int], tuple[str, ...]]:
    """(tokenised documents, label ids, label names) of a folder with one subfolder per label."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; pass --data-dir a folder with one subfolder "
                        "of text files per label")
    label_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(label_dirs) < 2:
        raise DataError(f"{folder}: found {len(label_dirs)} label subfolders, need at least 2 "
                        "(one subfolder of text files per label)")
    texts, labels = [], []
    for label, sub in enumerate(label_dirs):
        files = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
        docs = [textgen.tokenize(p.read_text(errors="replace")) for p in files]
        docs = [d for d in docs if d]
        if not docs:
            raise DataError(f"{sub}: no text files with words in them; put one document per file there")
        texts += docs
        labels += [label] * len(docs)
    if len(texts) < 10:
        raise DataError(f"{folder}: only {len(texts)} documents; need at least 10 to split "
                        "into train, validation and test")
    return texts, labels, tuple(p.name for p in label_dirs)
