"""``capsight evaluate``'s terminal confusion matrix with long class names.

Why: its columns were headed by the first 8 characters of each label ("backgrou" for the bundled
model's background; "not_a_de" and "scratch_" for a defect model): a reader had to guess which
column was which. Labels are printed whole, each column as wide as its label; when that makes the
table too wide to read, the columns are numbered and each row says its number and whole label.
"""

from __future__ import annotations

from capsight.training.evaluate import compute_metrics, format_metrics


def _matrix(text: str) -> list[str]:
    return text.split("confusion matrix")[1].splitlines()[1:]


def test_long_labels_head_their_columns_whole_and_aligned() -> None:
    labels = ["background", "not_a_defect", "scratch_on_surface"]
    text = format_metrics(compute_metrics([0, 1, 2, 2, 2], [0, 1, 2, 1, 2], labels))
    header, *rows = _matrix(text)
    assert header.split() == labels
    assert [row.split() for row in rows] == [
        ["background", "1", "0", "0"],
        ["not_a_defect", "0", "1", "0"],
        ["scratch_on_surface", "0", "1", "2"],
    ]
    # Each count ends where its column's label ends: the columns line up under their heads.
    ends = [header.index(label) + len(label) for label in labels]
    for row in rows:
        assert [len(row[:end].rstrip()) for end in ends] == ends, (header, row)


def test_many_long_labels_are_numbered_whole() -> None:
    labels = [f"defect_kind_{name}_on_the_surface" for name in "abcdefghijkl"]
    truth = list(range(12))
    text = format_metrics(compute_metrics(truth, truth, labels))
    header, *rows = _matrix(text)
    assert max(len(line) for line in [header, *rows]) <= 120
    assert header.split() == [f"[{i}]" for i in range(1, 13)]
    for i, (row, label) in enumerate(zip(rows, labels, strict=True), 1):
        assert row.split()[:2] == [f"[{i}]", label]  # the whole label, after its column's number
        assert row.split()[2:] == ["1" if j == i else "0" for j in range(1, 13)]


def test_wide_characters_keep_the_columns_aligned() -> None:
    # East Asian wide characters take two cells each on a terminal: padded by len(), the columns
    # after them shifted.
    labels = ["瓶の蓋", "closed"]
    text = format_metrics(compute_metrics([0, 1], [0, 1], labels))
    header, *rows = _matrix(text)

    def cells(line: str) -> int:
        return sum(2 if "\u3000" <= c <= "\u9fff" else 1 for c in line)

    assert len({cells(line) for line in [header, *rows]}) == 1, (header, rows)


def test_many_short_labels_keep_their_names_where_numbers_would_be_wider() -> None:
    # 40 classes "c00".."c39" are wider than 120 characters either way; "[40]" is wider than "c39".
    labels = [f"c{i:02d}" for i in range(40)]
    truth = list(range(40))
    header, *rows = _matrix(format_metrics(compute_metrics(truth, truth, labels)))
    assert header.split() == labels
    assert rows[0].split()[:2] == ["c00", "1"]
