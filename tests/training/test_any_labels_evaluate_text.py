"""``capsight evaluate``'s terminal table for labels other than the bundled three."""

from __future__ import annotations

from capsight.training.evaluate import compute_metrics, format_metrics


def test_labels_alike_in_their_first_characters_head_distinct_columns() -> None:
    # Cut to 8 characters, "label_001" and "label_002" both headed their column "label_00": the
    # matrix could not say which prediction was which.
    labels = ["label_001", "label_002", "other"]
    text = format_metrics(compute_metrics([0, 1, 2, 1], [1, 1, 2, 1], labels))
    header, *rows = text.split("confusion matrix")[1].splitlines()[1:]
    heads = header.split()
    assert len(heads) == len(set(heads)) == 3
    assert [row.split()[-3:] for row in rows] == [["0", "1", "0"], ["0", "2", "0"], ["0", "0", "1"]]
    for head, row, label in zip(heads, rows, labels, strict=True):
        assert row.startswith(head) and label in row  # the column's number leads its row


def test_distinct_short_names_keep_their_names_as_headers() -> None:
    # Whole names, no longer their first 8 characters ("Größe Kl").
    text = format_metrics(compute_metrics([0, 1], [0, 1], ["café", "Größe Klasse"]))
    assert text.split("confusion matrix")[1].splitlines()[1].split() == ["café", "Größe", "Klasse"]
