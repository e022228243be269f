"""txt_classifier.py: tokeniser, vocabulary, padding, models, settings, and whole runs."""

import re
import statistics

import pandas as pd
import pytest
import torch
import wandb
from conftest import DATA, read_csv_rows, run_in_process, run_script, summary_of
from wandb_records import offline_runs, read_run, run_named

import txt_classifier as tc

# ----------------------------------------------------------------------------- data


def test_tokeniser_splits_punctuation_and_keeps_everything_else():
    text = (
        "Mayor’s “plan” (approved 5-2): $2.4 million!\n\nIs it? Yes; 7:30 p.m. 🎉 **Bold**\t[Date]"
    )
    assert tc.tokenize(text) == [
        "Mayor’s",
        "“plan”",
        "(",
        "approved",
        "5-2",
        ")",
        ":",
        "$2",
        ".",
        "4",
        "million",
        "!",
        "Is",
        "it",
        "?",
        "Yes",
        ";",
        "7",
        ":",
        "30",
        "p",
        ".",
        "m",
        ".",
        "🎉",
        "**Bold**",
        "[Date]",
    ]
    assert tc.tokenize("  \n ") == []


def write_split(folder, name, articles, labels=None):
    labels = labels or ["real", "fake"] * (len(articles) // 2)
    pd.DataFrame(
        {
            "article": articles,
            "source": "s",
            "label": labels,
            "label_idx": [{"real": 0, "fake": 1}[x] for x in labels],
        }
    ).to_csv(folder / name, index=False)
    return folder / name


def ids(vocab, tokens):
    return [vocab.get(token, tc.UNK_IDX) for token in tokens]


def test_vocabulary_comes_from_training_only_with_padding_and_unknown_tokens(tmp_path):
    write_split(tmp_path, "txt_train.csv", ["the cat sat", "the dog ran ran"])
    write_split(tmp_path, "txt_val.csv", ["the zebra grazed", "a cat"])
    write_split(tmp_path, "txt_test.csv", ["an okapi", "the dog"])
    tc.parse_settings(["--data_dir", str(tmp_path), "--max_len", "4"])
    splits = tc.load_splits()
    vocab = splits["train"].vocab
    # most frequent first, then in the order they appear, after padding (0) and <unk> (1)
    assert vocab == {"the": 2, "ran": 3, "cat": 4, "sat": 5, "dog": 6}
    assert all(split.vocab is vocab for split in splits.values())
    assert splits["val"].token_ids[0].tolist() == [vocab["the"], tc.UNK_IDX, tc.UNK_IDX, tc.PAD_IDX]
    assert splits["test"].token_ids[0].tolist() == [tc.UNK_IDX, tc.UNK_IDX, tc.PAD_IDX, tc.PAD_IDX]
    assert all(split.class_names == ["real", "fake"] for split in splits.values())
    assert tc.build_vocab(["a b b b"], min_freq=2) == {"b": 2}


def test_special_tokens_cannot_be_reached_from_text(tmp_path, monkeypatch):
    """An article that writes "<pad>" or "<unk>" gets ordinary ids: a word training saw, else <unk>,
    never padding, so the LSTM's length count keeps every word."""
    vocab = tc.build_vocab(["a b in the text", "and <unk> too"])
    assert tc.text_transform("a <pad> in <unk> text", vocab, -1) == [
        vocab["a"],
        tc.UNK_IDX,
        vocab["in"],
        vocab["<unk>"],
        vocab["text"],
    ]
    assert vocab["<unk>"] > tc.UNK_IDX
    path = write_split(tmp_path, "txt_val.csv", ["the last word is <pad>", "one two three"])
    monkeypatch.setattr(tc, "MAX_LEN", 8)
    dataset = tc.CsvTextDataset(path, vocab)
    assert dataset.lengths == [5, 3] and tc.PAD_IDX not in dataset.token_ids[0][:5].tolist()


def test_transforms_truncate_and_pad_to_max_len():
    vocab = tc.build_vocab(["a b c d e f", "x"])
    assert tc.text_transform("a b c d e f", vocab, 4) == ids(vocab, ["a", "b", "c", "d"])
    assert tc.text_transform("x", vocab, 4) == ids(vocab, ["x"]) + [tc.PAD_IDX] * 3
    assert tc.text_transform("a b c d e f", vocab, -1) == ids(vocab, "abcdef")  # -1: neither


# ----------------------------------------------------------------------------- models


def padded_pair(short_len=7, long_len=19, vocab_size=50):
    """An article alone, and the same article batched with a longer one (so padded)."""
    generator = torch.Generator().manual_seed(1)
    short = torch.randint(2, vocab_size, (short_len,), generator=generator)
    long = torch.randint(2, vocab_size, (long_len,), generator=generator)
    batch = torch.zeros(2, long_len, dtype=torch.long)
    batch[0, :short_len], batch[1] = short, long
    return short[None], batch


@pytest.mark.parametrize(
    "model",
    [
        tc.BagOfWords(50, 8, 2),
        tc.WordPresence(50, 2),
        tc.LSTMClassifier(50, 8, 6, 2),
        tc.LSTMClassifier(50, 8, 6, 2, num_layers=2, bidirectional=True),
    ],
    ids=["bow", "linear", "lstm", "lstm-2-layer-bidirectional"],
)
def test_padding_never_changes_a_prediction(model):
    torch.manual_seed(0)
    alone, batched = padded_pair()
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(alone)[0], model(batched)[0], atol=1e-5, rtol=0)
        # Padding the article on its own to any length changes nothing either.
        more_padding = torch.cat([alone, torch.zeros(1, 40, dtype=torch.long)], dim=1)
        torch.testing.assert_close(model(alone), model(more_padding), atol=1e-5, rtol=0)


def test_the_linear_model_is_logistic_regression_on_which_words_occur():
    """One weight per vocabulary word and class, and a bias: a word counts once however often it
    appears, <unk> and padding not at all."""
    torch.manual_seed(0)
    model = tc.WordPresence(12, 2).eval()  # 10 words, padding and <unk>
    assert sum(p.numel() for p in model.parameters()) == 12 * 2 + 2
    weights, bias = model.linear.weight, model.linear.bias
    with torch.no_grad():
        once = model(torch.tensor([[5, 7, tc.UNK_IDX, tc.PAD_IDX]]))[0]
        repeated = model(torch.tensor([[7, 5, 5, 5, 7, tc.UNK_IDX, tc.UNK_IDX]]))[0]
        torch.testing.assert_close(once, weights[:, 5] + weights[:, 7] + bias)
        torch.testing.assert_close(repeated, once)
        torch.testing.assert_close(model(torch.tensor([[tc.UNK_IDX, tc.PAD_IDX]]))[0], bias)


def test_lstm_settings_are_honoured(monkeypatch):
    settings = {"MODEL": "lstm", "EMBED_DIM": 8, "HIDDEN_DIM": 6, "NUM_LAYERS": 3}
    for name, value in settings.items():
        monkeypatch.setattr(tc, name, value)
    monkeypatch.setattr(tc, "BIDIRECTIONAL", True)
    model = tc.build_model(vocab={f"w{i}": i for i in range(2, 30)}, num_classes=2)
    for stack in (
        model.lstm,
        model.lstm_backward,
    ):  # a forward and a backward stack of 3 layers each
        assert (stack.input_size, stack.hidden_size, stack.num_layers) == (8, 6, 3)
    assert model.head[0].in_features == 12 and model.embedding.padding_idx == 0
    monkeypatch.setattr(tc, "BIDIRECTIONAL", False)
    one_way = tc.build_model(vocab={f"w{i}": i for i in range(2, 30)}, num_classes=2)
    assert one_way.lstm_backward is None and one_way.head[0].in_features == 6


def test_bidirectional_lstm_computes_what_a_packed_bidirectional_one_does():
    """Reading each article reversed within its length, then putting the outputs back, is what
    PyTorch's bidirectional LSTM does on a packed batch (same weights)."""
    torch.manual_seed(0)
    model = tc.LSTMClassifier(40, 8, 6, 2, bidirectional=True).eval()
    reference = torch.nn.LSTM(8, 6, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(reference, name).copy_(getattr(model.lstm, name))
            getattr(reference, name + "_reverse").copy_(getattr(model.lstm_backward, name))
        token_ids = torch.randint(2, 40, (5, 30))
        for row, length in enumerate((30, 4, 17, 1, 22)):
            token_ids[row, length:] = 0
        lengths = (token_ids != 0).sum(1)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            model.embedding(token_ids), lengths, batch_first=True, enforce_sorted=False
        )
        outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(
            reference(packed)[0], batch_first=True, padding_value=float("-inf")
        )
        torch.testing.assert_close(
            model(token_ids), model.head(outputs.max(dim=1).values), atol=1e-6, rtol=0
        )


def test_reverse_within_length_keeps_padding_in_place_and_undoes_itself():
    x = torch.arange(12.0).view(2, 6, 1)
    reversed_x = tc.reverse_within_length(x, torch.tensor([4, 6]))
    assert reversed_x[:, :, 0].tolist() == [[3, 2, 1, 0, 4, 5], [11, 10, 9, 8, 7, 6]]
    assert torch.equal(tc.reverse_within_length(reversed_x, torch.tensor([4, 6])), x)


def test_unk_dropout_replaces_real_tokens_only_and_repeats_with_its_seed():
    token_ids = torch.randint(2, 50, (64, 40))
    token_ids[:, 30:] = tc.PAD_IDX
    torch.manual_seed(3)
    dropped = tc.unk_dropout(token_ids, 0.1)
    changed = dropped != token_ids
    assert (dropped[changed] == tc.UNK_IDX).all() and not changed[:, 30:].any()  # padding untouched
    assert 0.07 < changed[:, :30].float().mean() < 0.13
    assert not torch.equal(tc.unk_dropout(token_ids, 0.1), dropped)  # a new draw every batch
    torch.manual_seed(3)
    assert torch.equal(tc.unk_dropout(token_ids, 0.1), dropped)  # same seed, same tokens


def what_the_model_is_given(unk_share):
    """The token ids a bag of words is given in one training pass and one evaluation of 8
    articles."""
    token_ids = torch.randint(2, 50, (8, 20), generator=torch.Generator().manual_seed(0))
    dataset = torch.utils.data.TensorDataset(token_ids, torch.tensor([0, 1] * 4))
    loader = torch.utils.data.DataLoader(dataset, batch_size=4)
    model, seen = tc.BagOfWords(50, 8, 2), {"train": [], "eval": []}
    model.register_forward_pre_hook(
        lambda m, args: seen["train" if m.training else "eval"].append(args[0].clone())
    )
    tc.UNK_DROPOUT = unk_share
    wandb.init(mode="disabled")
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters())
    assert tc.train_one_epoch(loader, model, loss_fn, optimizer, 8) == 8 + 8
    tc.evaluate({"test": loader}, model, loss_fn)
    return token_ids, torch.cat(seen["train"]), torch.cat(seen["eval"])


def test_unk_dropout_reaches_training_batches_only():
    token_ids, trained_on, evaluated_on = what_the_model_is_given(0.3)
    assert (trained_on == tc.UNK_IDX).any() and torch.equal(evaluated_on, token_ids)
    token_ids, trained_on, _ = what_the_model_is_given(0.0)
    assert torch.equal(trained_on, token_ids)


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "flags, expected",
    [
        (
            "--batch_size 1 --max_len -1 --length_histogram",
            {"BATCH_SIZE": 1, "MAX_LEN": -1, "LENGTH_HISTOGRAM": True},
        ),
        ("--batch_size 32 --max_len 1024", {"BATCH_SIZE": 32, "MAX_LEN": 1024}),
        ("--optimizer sgd --lr 5", {"OPTIMIZER": "sgd", "LEARNING_RATE": 5.0}),
        ("--optimizer adam --lr 0.001", {"OPTIMIZER": "adam", "LEARNING_RATE": 0.001}),
        ("--model lstm", {"MODEL": "lstm"}),
        ("--model linear", {"MODEL": "linear"}),
        (
            "--epochs 3 --bidirectional --num_layers 2",
            {"N_EPOCHS": 3, "BIDIRECTIONAL": True, "NUM_LAYERS": 2},
        ),
    ],
)
def test_the_course_commands_parse_as_written(flags, expected):
    tc.parse_settings(flags.split())
    assert {k: tc.settings()[k] for k in expected} == expected


@pytest.mark.parametrize(
    "args, says",
    [
        (["--max_len", "0"], "MAX_LEN must be a number of tokens, or -1"),
        (["--model", "gpt"], "argument --model: invalid choice: 'gpt'"),
        (["--epochs", "0"], "N_EPOCHS must be at least 1"),
        (["--hiden_dim", "8"], "unrecognized arguments: --hiden_dim 8"),
        (["--unk_dropout", "1"], "UNK_DROPOUT is a share of the words, below 1"),
        (["--bidirectional=yes please"], "invalid true_or_false value"),
    ],
)
def test_a_bad_setting_is_one_line_without_traceback(tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    try:
        code = tc.main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


def test_unpadded_batches_explain_why_they_cannot_be_stacked(small_texts):
    result = run_script(
        "txt_classifier.py", "--max_len", -1, "--batch_size", 4, "--n_epochs", 1, cwd=small_texts
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "different lengths" in message and "--max_len" in message and "--batch_size 1" in message


# ----------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def trained(small_texts):
    result = run_script(
        "txt_classifier.py",
        "--n_epochs",
        2,
        "--run_name",
        "e2e",
        "--length_histogram",
        cwd=small_texts,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return small_texts, result


def test_run_writes_summary_histogram_and_timings(trained):
    folder, result = trained
    summary = summary_of(folder, "e2e")
    last_epoch = [row for row in run_named(folder, "e2e")["history"] if "test_loss" in row][-1]
    assert summary["epoch"] == 2 and summary["examples_seen"] == 120  # 60 articles, twice
    assert (
        f"epoch 2/2 ({last_epoch['epoch_seconds']:.1f} s)" in result.stdout
    )  # per-epoch wall time, as logged
    lengths = [
        len(tc.tokenize(row["article"])) for row in read_csv_rows(folder / "data" / "txt_train.csv")
    ]
    assert f"Training article lengths in tokens: min {min(lengths)}, median" in result.stdout
    assert (
        f"max {max(lengths)}; " in result.stdout
        and "longer than 1,024 (the course's MAX_LEN)" in (result.stdout)
    )
    assert (folder / "runs" / "e2e" / "length_histogram.png").stat().st_size > 1000


def test_accuracy_reported_logged_and_saved_is_the_saved_models_own(trained):
    """Computed again here from checkpoint.pth with the course's own steps, written out: tokenise,
    look up in the saved vocabulary, cut and pad to MAX_LEN, classify."""
    folder, result = trained
    checkpoint = torch.load(folder / "runs" / "e2e" / "checkpoint.pth", weights_only=True)
    embed_dim = checkpoint["summary"]["settings"]["EMBED_DIM"]
    model = tc.BagOfWords(len(checkpoint["vocab"]) + 2, embed_dim, 2)
    model.load_state_dict(checkpoint["model"])
    index = checkpoint["vocab"]  # {token: id}; 0 is padding, 1 <unk>
    summary = summary_of(folder, "e2e")
    logged = [row for row in run_named(folder, "e2e")["history"] if "test_loss" in row][-1]
    for split in ("train", "val", "test"):
        rows = read_csv_rows(folder / "data" / f"txt_{split}.csv")
        ids = [
            [
                index.get(token, 1)
                for token in re.sub(r"([.,:;!?()])", r" \1 ", row["article"]).split()
            ][:1024]
            for row in rows
        ]
        batch = torch.tensor([article + [0] * (1024 - len(article)) for article in ids])
        with torch.inference_mode():
            predicted = model.eval()(batch).argmax(1).tolist()
        accuracy = sum(
            p == int(row["label_idx"]) for p, row in zip(predicted, rows, strict=True)
        ) / len(rows)
        assert summary[f"{split}_accuracy"] == pytest.approx(accuracy, abs=1e-6), (
            split
        )  # one article: 0.05
        assert logged[f"{split}_accuracy"] == pytest.approx(accuracy, abs=1e-6), split
    last_epoch = [line for line in result.stdout.splitlines() if line.startswith("epoch 2/2")]
    assert f"test acc {accuracy:.1%} loss" in last_epoch[0]


def test_offline_wandb_run_holds_the_metrics_the_course_compares(trained):
    folder, _ = trained
    run = run_named(folder, "e2e")
    assert run["config"]["OPTIMIZER"] == "adam"
    batches = [row for row in run["history"] if "batch_loss" in row]
    seen = [row["examples_seen"] for row in batches]
    assert (
        len(seen) == 4 and seen[1] == 60 and seen[3] == 120
    )  # 60 articles in batches of 32: two a epoch
    epochs = [row for row in run["history"] if "test_loss" in row]
    assert [row["epoch"] for row in epochs] == [1, 2]
    for row in epochs:
        assert {
            "train_accuracy",
            "train_loss",
            "val_accuracy",
            "val_loss",
            "test_accuracy",
            "test_loss",
            "epoch_seconds",
        } <= row.keys()
    keys = {key for row in run["history"] for key in row}
    assert any(k.startswith("length_histogram") for k in keys)
    assert any(k.startswith("test_confusion_matrix") for k in keys)
    assert run["summary"]["seconds"] > 0


def test_same_seed_same_numbers(trained):
    folder, _ = trained
    again = run_in_process("txt_classifier.py", "--n_epochs", 2, "--run_name", "e2e", cwd=folder)
    assert again.returncode == 0, again.stderr[-3000:]
    first, second = summary_of(folder, "e2e"), summary_of(folder, "e2e-2")  # a name of its own
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert first[key] == second[key], key
    for key in ("train_loss", "val_loss", "test_loss"):  # MKL may round the last bits differently
        assert first[key] == pytest.approx(second[key], rel=1e-6), key


def test_predict_from_a_file_and_from_standard_input(trained, tmp_path):
    folder, _ = trained
    article = read_csv_rows(DATA / "txt_test.csv")[1]["article"]
    (tmp_path / "article.txt").write_text(article, encoding="utf-8")
    from_file = run_in_process(
        "txt_classifier.py", "--run_name", "e2e", "--predict", tmp_path / "article.txt", cwd=folder
    )
    from_stdin = run_in_process(
        "txt_classifier.py",
        "--run_name",
        "e2e",
        "--predict",
        "-",
        cwd=folder,
        stdin=article,
    )
    assert from_file.returncode == 0 and from_stdin.returncode == 0, (
        from_file.stderr + from_stdin.stderr
    )
    # What the model itself gives this article, tokenised and cut to MAX_LEN as in training:
    checkpoint = torch.load(folder / "runs" / "e2e" / "checkpoint.pth", weights_only=True)
    vocab = checkpoint["vocab"]
    model = tc.BagOfWords(len(vocab) + 2, tc.EMBED_DIM, 2)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    ids = tc.text_transform(article, vocab, checkpoint["summary"]["settings"]["MAX_LEN"])
    with torch.inference_mode():
        probabilities = model(torch.tensor([ids])).softmax(1)[0]
    best = probabilities.argmax().item()
    expected = f"{checkpoint['class_names'][best]} (probability {probabilities[best]:.1%})"
    header = f"e2e: bow, 2 epoch(s), test accuracy {checkpoint['summary']['test_accuracy']:.1%}"
    assert from_file.stdout.strip().splitlines() == [
        header,
        f"{tmp_path / 'article.txt'}: {expected}",
    ]
    assert from_stdin.stdout.strip().splitlines() == [header, f"standard input: {expected}"]


@pytest.mark.parametrize("given", ["empty file", "empty stdin", "blank file"])
def test_predict_on_nothing_to_read_says_so_in_one_line(trained, tmp_path, given):
    folder, _ = trained
    (tmp_path / "empty.txt").write_text(
        "" if given != "blank file" else " \n\t \n", encoding="utf-8"
    )
    source = "-" if given == "empty stdin" else tmp_path / "empty.txt"
    result = run_in_process(
        "txt_classifier.py",
        "--run_name",
        "e2e",
        "--predict",
        source,
        cwd=folder,
        stdin="",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert (
        len(result.stderr.strip().splitlines()) == 1 and "has no text to classify" in result.stderr
    )


def test_repeats_report_mean_and_spread(small_texts):
    args = ["--n_epochs", 1, "--repeats", 3, "--run_name", "rep", "--length_histogram"]
    result = run_script("txt_classifier.py", *args, cwd=small_texts)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = summary_of(small_texts, "rep")
    assert [r["seed"] for r in summary["repeats"]] == [0, 1, 2]
    for split in ("val", "test"):
        values = [r[f"{split}_accuracy"] for r in summary["repeats"]]
        assert summary[f"{split}_accuracy_mean"] == pytest.approx(statistics.mean(values))
        assert summary[f"{split}_accuracy_std"] == pytest.approx(statistics.stdev(values))
    # Each repeat is the run its seed gives on its own.
    args = ["--n_epochs", 1, "--seed", 1, "--run_name", "seed-1-alone"]
    alone = run_in_process("txt_classifier.py", *args, cwd=small_texts)
    assert alone.returncode == 0, alone.stderr[-2000:]
    alone = summary_of(small_texts, "seed-1-alone")
    assert (alone["val_accuracy"], alone["test_accuracy"]) == (
        summary["repeats"][1]["val_accuracy"],
        summary["repeats"][1]["test_accuracy"],
    )
    assert "3 seeds, mean ± standard deviation: val accuracy" in result.stdout
    assert (small_texts / "runs" / "rep" / "seed-2" / "length_histogram.png").is_file()
    runs = {run["name"]: run for run in map(read_run, offline_runs(small_texts))}
    assert {"rep/seed-0", "rep/seed-1", "rep/seed-2"} <= runs.keys()  # one wandb run each
    seeds = {run["config"]["seed"] for name, run in runs.items() if name.startswith("rep/seed")}
    assert seeds == {0, 1, 2}


# ----------------------------------------------------------------------------- the sample data


def test_no_single_token_decides_the_label():
    """The best 'article contains token X' rule stays below 80% on the test split."""
    tokenizer = tc.tokenize
    rows = read_csv_rows(DATA / "txt_test.csv")
    labels = [row["label"] == "fake" for row in rows]
    present = [set(tokenizer(row["article"])) for row in rows]
    vocabulary = set().union(*present) | {"**", "#", "[", "—", "Would"}
    best = 0.0
    for token in vocabulary:
        hits = [
            token in tokens or (len(token) <= 2 and token in row["article"])
            for tokens, row in zip(present, rows, strict=True)
        ]
        correct = sum(h == y for h, y in zip(hits, labels, strict=True)) / len(rows)
        best = max(best, correct, 1 - correct)
    assert best < 0.80


def test_repeats_resumed_count_finished_seeds_and_train_the_others(small_texts, tmp_path):
    """--repeats 3 stopped in its second seed: --resume counts the first as it is, carries on with
    the second, trains the third, and the group's figures are those of an uninterrupted group."""
    args = ["--n_epochs", 2, "--repeats", 3, "--data_dir", small_texts / "data"]
    straight = run_in_process("txt_classifier.py", *args, "--run_name", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]
    # The second seed as a stop after its first epoch leaves it: the checkpoint of epoch 1.
    done = run_in_process("txt_classifier.py", *args, "--run_name", "group", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    group = tmp_path / "runs" / "group"
    one_epoch = run_in_process(
        "txt_classifier.py", *args, "--repeats", 1, "--seed", 1, "--n_epochs", 1, cwd=tmp_path
    )
    assert one_epoch.returncode == 0
    for name in ("checkpoint.pth", "summary.json"):
        (tmp_path / "runs" / "txt-classifier" / name).replace(group / "seed-1" / name)
    for path in [group / "summary.json", *(group / "seed-2").iterdir()]:
        path.unlink()
    resumed = run_in_process(
        "txt_classifier.py", *args, "--run_name", "group", "--resume", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stdout.count("epoch 1/2") == 1 and resumed.stdout.count("epoch 2/2") == 2
    assert "Resuming group, seed 1, after epoch 1." in resumed.stdout
    for key in ("val_accuracy_mean", "test_accuracy_mean", "test_accuracy_std"):
        assert summary_of(tmp_path, "group")[key] == summary_of(tmp_path, "straight")[key], key
