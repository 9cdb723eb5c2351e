"""Attention: date and document data, masks, attention weights, seq2seq and HAN in both frameworks."""
import dataclasses
import datetime as dt

import numpy as np
import pytest
from conftest import run_cli

import datamodules
from datamodules import textgen
from experiments.config import TrainConfig
from experiments.parity import parity
from experiments.train import train
from modules import backend, registry
from modules.convert import transfer
from modules.errors import DataError, UserError

torch = backend.torch()
ATTENTIONS = ("none", "bahdanau", "luong")


@pytest.fixture
def tiny_data(monkeypatch):
    """dates and documents cut to a few hundred samples, for runs that only check the plumbing."""
    for name in ("dates", "documents"):
        monkeypatch.setitem(datamodules.DATASETS, name,
                            dataclasses.replace(datamodules.DATASETS[name], splits=(192, 64, 64)))


def twins(name: str, input_shape: tuple, num_classes: int, **hparams):
    """The torch and Keras networks of `name` with the same weights."""
    arch = registry.get(name)
    torch.manual_seed(0)
    torch_net = arch.build("torch", input_shape, num_classes, **hparams).eval()
    keras_net = arch.build("keras", input_shape, num_classes, **hparams)
    transfer(torch_net, keras_net)
    return torch_net, keras_net


# --- data -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", sorted(textgen.DATE_FORMATS))
def test_every_date_format_round_trips_to_the_true_iso_date(fmt):
    write = textgen.DATE_FORMATS[fmt]
    for date in (dt.date(2026, 11, 25), dt.date(1950, 1, 1), dt.date(2049, 12, 31), dt.date(2003, 2, 9)):
        text = write(date)
        assert len(text) < textgen.SOURCE_LENGTH
        assert textgen.parse_date(text) == date, text
        assert textgen.decode_chars(textgen.encode_chars(text, textgen.SOURCE_LENGTH)) == text


def test_generated_dates_use_every_format_and_their_targets_are_the_iso_dates():
    sources, targets = textgen.generate_dates(3000, seed=1)
    lengths = {len(s) for s in sources}
    assert len(set(sources)) == 3000 and min(lengths) <= 8 and max(lengths) >= 26
    assert all(textgen.parse_date(s).isoformat() == t for s, t in zip(sources, targets))
    examples = {fmt: write(dt.date(2026, 11, 25)) for fmt, write in textgen.DATE_FORMATS.items()}
    assert examples["day_month_year"] == "25 November 2026" and examples["us_short"] == "11/25/26"
    assert examples["weekday_abbrev"] == "Wed, Nov 25 2026" and examples["year_dots"] == "2026.11.25"
    assert examples["month_ordinal"] == "November 25th, 2026"
    # every format occurs: the separators and words each format alone uses are all there
    assert any("th of" in s for s in sources) and any(s.isdigit() for s in sources)
    assert any(s.count("/") == 2 and len(s) == 8 for s in sources)


def test_dates_test_set_holds_no_source_seen_in_training():
    dm = datamodules.create("dates")
    dm.setup()
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [8000, 1000, 2000]
    assert dm.splits["train"].x.dtype == np.int64 and dm.splits["train"].y.shape[1] == 10
    seen = {r.tobytes() for s in ("train", "val") for r in dm.splits[s].x}
    assert not any(r.tobytes() in seen for r in dm.splits["test"].x)
    (source, decoder_input), target = next(iter(dm.train_dataloader()))
    assert (decoder_input[:, 0] == textgen.BOS).all() and (decoder_input[:, 1:] == target[:, :-1]).all()


def test_documents_label_is_the_ordered_pairs_inside_one_sentence_and_a_bag_of_words_sees_none():
    docs, labels = textgen.generate_documents(400, seed=3)
    assert np.bincount(labels).tolist() == [100] * 4
    for (a, b) in textgen.MARKERS:  # each marker exactly twice in every document, whatever the label
        assert ((docs == a).sum(axis=(1, 2)) == 2).all() and ((docs == b).sum(axis=(1, 2)) == 2).all()

    def ordered_in_one_sentence(doc, a, b):
        return any(list(s).index(a) < list(s).index(b) for s in doc if a in s and b in s)

    rebuilt = [sum(ordered_in_one_sentence(d, a, b) << bit for bit, (a, b) in enumerate(textgen.MARKERS))
               for d in docs]
    assert rebuilt == labels.tolist()


def write_folder(root, docs_per_label=8):
    for label, topic in (("sport", "ball goal team"), ("food", "bread soup salt")):
        (root / label).mkdir(parents=True)
        for i in range(docs_per_label):
            text = f"The {topic} only{label}{i}. Another sentence here!\n\nEnd."  # one word per file
            (root / label / f"{i}.txt").write_text(text)


def test_a_text_folder_becomes_word_ids_with_a_vocabulary_from_the_train_split(tmp_path):
    write_folder(tmp_path / "texts")
    dm = datamodules.create("documents", data_dir=tmp_path / "texts")
    dm.setup()
    assert dm.num_classes == 2 and dm.labels == ("food", "sport")
    assert dm.input_shape == (3, 5) and dm.splits["train"].x.shape[1:] == (3, 5)
    assert sum(len(dm.splits[s]) for s in ("train", "val", "test")) == 16
    assert dm.vocabulary["end"] >= 2 and "ball" in dm.vocabulary
    # each file's own word is known only if that file is in the train split
    assert sum(w.startswith("only") for w in dm.vocabulary) == len(dm.splits["train"])
    assert (dm.splits["test"].x == textgen.UNK).sum() == len(dm.splits["test"])
    assert not (dm.splits["train"].x == textgen.UNK).any()


def test_a_missing_or_empty_text_folder_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        datamodules.create("documents", data_dir=tmp_path / "nowhere").setup()
    (tmp_path / "one" / "a").mkdir(parents=True)
    (tmp_path / "one" / "b").mkdir()
    with pytest.raises(DataError, match="no text files with words"):
        datamodules.create("documents", data_dir=tmp_path / "one").setup()
    result = run_cli("train", "--arch", "han", "--data-dir", str(tmp_path / "nowhere"), "--epochs", "1")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no such folder" in result.stderr


# --- networks ---------------------------------------------------------------------------
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_seq2seq_outputs_ignore_padding_in_both_frameworks(attention):
    torch_net, keras_net = twins("seq2seq", (32,), 69, attention=attention)
    source, decoder_input = registry.get("seq2seq").parity_inputs((32,), 69, 3, 0)
    longer = np.concatenate([source, np.zeros((3, 8), np.int64)], axis=1)  # more padding
    with torch.no_grad():
        base = torch_net(torch.from_numpy(source), torch.from_numpy(decoder_input)).numpy()
        padded = torch_net(torch.from_numpy(longer), torch.from_numpy(decoder_input)).numpy()
        torch_net.source_embedding.weight[textgen.PAD] = 5.0  # what PAD embeds to must not matter
        repainted = torch_net(torch.from_numpy(source), torch.from_numpy(decoder_input)).numpy()
    assert np.abs(base - padded).max() < 1e-5 and np.abs(base - repainted).max() < 1e-5
    keras_padded = np.asarray(keras_net((longer, decoder_input)))
    assert np.abs(base - keras_padded).max() < 1e-4


@pytest.mark.parametrize("name", ["han", "flat_gru"])
def test_document_models_ignore_padding_in_both_frameworks(name):
    torch_net, keras_net = twins(name, (10, 12), 4)
    (words,) = registry.get(name).parity_inputs((10, 12), 4, 3, 0)
    wider = np.zeros((3, 12, 15), np.int64)  # more sentences and more words, all padding
    wider[:, :10, :12] = words
    with torch.no_grad():
        base = torch_net(torch.from_numpy(words)).numpy()
        padded = torch_net(torch.from_numpy(wider)).numpy()
        torch_net.embedding.weight[textgen.PAD] = 5.0
        repainted = torch_net(torch.from_numpy(words)).numpy()
    assert np.abs(base - padded).max() < 1e-5 and np.abs(base - repainted).max() < 1e-5
    if name == "han":  # the Keras twin too (one check: building Keras networks is slow)
        keras_wider = registry.get(name).build("keras", (12, 15), 4)
        keras_wider.set_weights(keras_net.get_weights())
        assert np.abs(base - np.asarray(keras_wider(wider))).max() < 1e-4


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_attention_weights_sum_to_one_over_real_characters_in_both_frameworks(attention):
    torch_net, keras_net = twins("seq2seq", (32,), 69, attention=attention)
    source, _ = registry.get("seq2seq").parity_inputs((32,), 69, 4, 1)
    with torch.no_grad():
        _, torch_weights = torch_net.generate(torch.from_numpy(source), 10)
    _, keras_weights = keras_net.generate(source, 10)
    for weights in (torch_weights.numpy(), np.asarray(keras_weights)):
        assert weights.shape == (4, 10, 32)
        assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
        assert (weights[np.broadcast_to((source == textgen.PAD)[:, None], weights.shape)] == 0).all()
    assert np.abs(torch_weights.numpy() - np.asarray(keras_weights)).max() < 1e-4


def test_han_word_and_sentence_weights_sum_to_one():
    torch_net, keras_net = twins("han", (10, 12), 4)
    (words,) = registry.get("han").parity_inputs((10, 12), 4, 3, 2)
    with torch.no_grad():
        _, word_weights, sentence_weights = torch_net.attend(torch.from_numpy(words))
    real_sentences = (words != textgen.PAD).any(axis=-1)
    assert np.allclose(sentence_weights.sum(-1).numpy(), 1.0, atol=1e-5)
    assert np.allclose(word_weights.sum(-1).numpy()[real_sentences], 1.0, atol=1e-5)
    assert (sentence_weights.numpy()[~real_sentences] == 0).all()
    _, _, keras_sentence_weights = keras_net.attend(words)
    assert np.abs(np.asarray(keras_sentence_weights) - sentence_weights.numpy()).max() < 1e-4


def test_lstm_cells_differ_in_parameters_by_exactly_torchs_second_bias():
    report = parity("seq2seq", batch=2, cell="lstm", hidden_size=16, embedding_size=8)
    assert report["max_abs_diff"] <= 1e-4
    assert report["param_difference"] == report["param_difference_expected"] == 2 * 4 * 16


def test_a_sequence_length_of_zero_is_a_user_error():
    with pytest.raises(UserError, match="every length positive"):
        parity("seq2seq", input_shape=(0,))
    with pytest.raises(UserError, match="every length positive"):
        registry.get("han").build("torch", (4, 0), 4)
    result = run_cli("parity", "--arch", "han", "--input-shape", "0,5")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0


def test_an_unknown_attention_kind_is_one_line_naming_the_choices():
    result = run_cli("parity", "--arch", "seq2seq", "--set", "attention=dot")
    assert result.returncode == 2
    assert result.stderr.strip() == ("nnlab: error: attention='dot' is not valid; "
                                     "choose one of: none, bahdanau, luong")


# --- runs -------------------------------------------------------------------------------
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_seq2seq_trains_and_logs_exact_match_and_attention_plots(framework, tiny_data):
    import mlflow

    from experiments.tracking import tracking_uri

    config = TrainConfig(framework=framework, arch="seq2seq", epochs=1, batch_size=64, quiet=True,
                         hparams={"hidden_size": 32}).validate()
    summary = train(config, progress=lambda *a: None)
    assert 0 <= summary["test/exact_match"] <= summary["test/char_acc"] <= 1
    assert np.isfinite(summary["test/loss"]) and summary["n_params"] > 0
    files = {f.path for f in mlflow.MlflowClient(tracking_uri()).list_artifacts(summary["run_id"], "plots")}
    assert {"plots/attention.png", "plots/accuracy_by_length.png", "plots/accuracy_by_length.json"} <= files


# --- targets (slow) ---------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_bahdanau_seq2seq_gets_95_percent_of_held_out_dates_exactly_and_beats_no_attention(framework):
    results = {a: train(TrainConfig(framework=framework, arch="seq2seq", epochs=12, batch_size=64, lr=0.003,
                                    quiet=True, hparams={"attention": a}).validate(),
                        progress=lambda *a: None)["test/exact_match"] for a in ("bahdanau", "none")}
    assert results["bahdanau"] >= 0.95
    assert results["bahdanau"] > results["none"]


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_han_beats_the_flat_gru_on_documents(framework):
    acc = {a: train(TrainConfig(framework=framework, arch=a, epochs=8, lr=0.003, quiet=True).validate(),
                    progress=lambda *a: None)["test/acc"] for a in ("han", "flat_gru")}
    assert acc["han"] >= 0.9
    assert acc["han"] > acc["flat_gru"] + 0.1


def test_lengths_of_a_run_without_translations_is_one_clear_line():
    result = run_cli("lengths", "no-such-run")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "no-such-run has no plots/accuracy_by_length.json" in result.stderr
