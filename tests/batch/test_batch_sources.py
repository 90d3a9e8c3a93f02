from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import ImageFolder, all_paths

from capsight.batch.objects import ObjectReader, split_s3
from capsight.batch.sources import expand_source, expand_sources
from capsight.errors import BadRequest


def test_folder_is_walked_recursively_sorted_without_hidden_files(image_folder: ImageFolder) -> None:
    keys = expand_source(str(image_folder.root), ObjectReader())
    assert keys == sorted(keys, key=lambda k: Path(k).relative_to(image_folder.root).parts)
    assert set(keys) == all_paths(image_folder)
    assert not any(".hidden" in k for k in keys)


def test_output_folder_inside_the_source_is_not_an_input(image_folder: ImageFolder) -> None:
    out = image_folder.root / "out"
    (out / "closed").mkdir(parents=True)
    (out / "closed" / "copy.jpg").write_bytes(b"\xff\xd8\xff")
    keys = expand_source(str(image_folder.root), ObjectReader(), exclude=[out.resolve() / "closed"])
    assert not any("/out/" in k for k in keys)
    assert len(keys) == image_folder.total


def test_glob_matches_files_only_and_recurses_with_double_star(image_folder: ImageFolder) -> None:
    keys = expand_source(str(image_folder.root / "**" / "*.png"), ObjectReader())
    expected = {p for p in all_paths(image_folder) if p.endswith(".png")}
    assert set(keys) == expected
    assert len(expected) == 4  # three nested labels + the empty file


def test_glob_without_matches_is_empty_not_an_error(tmp_path: Path) -> None:
    assert expand_source(str(tmp_path / "*.jpg"), ObjectReader()) == []


def test_list_file_paths_are_relative_to_the_list_and_comments_skipped(image_folder: ImageFolder) -> None:
    listing = image_folder.root / "list.txt"
    listing.write_text(
        "# chosen images\nclosed.jpg\n\n  nested/opened.png  \ns3://bucket/a/b.jpg\nmissing.jpg\n"
    )
    keys = expand_source(str(listing), ObjectReader())
    root = image_folder.root.resolve()
    assert keys == [
        str(root / "closed.jpg"),
        str(root / "nested" / "opened.png"),
        "s3://bucket/a/b.jpg",
        str(root / "missing.jpg"),  # listed but missing: it becomes an error row later
    ]


def test_single_image_file_is_one_key(image_folder: ImageFolder) -> None:
    path = image_folder.root / "closed.jpg"
    assert expand_source(str(path), ObjectReader()) == [str(path.resolve())]


def test_binary_non_image_source_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xff\xfe\x80" * 10)
    with pytest.raises(BadRequest, match="neither an image nor"):
        expand_source(str(blob), ObjectReader())


def test_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="not a folder, file, glob"):
        expand_source(str(tmp_path / "nope"), ObjectReader())


def test_sources_are_deduplicated_keeping_first_order(image_folder: ImageFolder) -> None:
    first = str(image_folder.root / "opened.jpg")
    keys = expand_sources([first, str(image_folder.root)], ObjectReader())
    assert keys[0] == str(Path(first).resolve())
    assert len(keys) == len(set(keys)) == image_folder.total


def test_s3_uri_needs_a_bucket() -> None:
    assert split_s3("s3://bucket/some/key.jpg") == ("bucket", "some/key.jpg")
    assert split_s3("s3://bucket") == ("bucket", "")
    with pytest.raises(BadRequest, match="no bucket"):
        split_s3("s3:///key")


def test_reader_survives_pickling_without_its_client() -> None:
    import pickle

    reader = ObjectReader("http://127.0.0.1:1")
    copy = pickle.loads(pickle.dumps(reader))
    assert copy.s3_endpoint_url == "http://127.0.0.1:1"


def test_double_star_does_not_follow_symlink_loops(tmp_path: Path) -> None:
    """Two links back up the tree made glob.glob walk 2^40 paths: the run never started."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "up").symlink_to("..")
    (tmp_path / "b" / "up").symlink_to("..")
    for rel in ("x.jpg", "a/y.jpg", "b/z.jpg"):
        (tmp_path / rel).write_bytes(b"x")
    keys = expand_source(str(tmp_path / "**" / "*.jpg"), ObjectReader())
    assert keys == [str(tmp_path / rel) for rel in ("a/y.jpg", "b/z.jpg", "x.jpg")]


def test_glob_skips_hidden_names_unless_the_pattern_names_them(tmp_path: Path) -> None:
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "a.jpg").write_bytes(b"x")
    (tmp_path / ".b.jpg").write_bytes(b"x")
    (tmp_path / "c.jpg").write_bytes(b"x")
    assert expand_source(str(tmp_path / "**" / "*.jpg"), ObjectReader()) == [str(tmp_path / "c.jpg")]
    assert expand_source(str(tmp_path / ".cache" / "*.jpg"), ObjectReader()) == [
        str(tmp_path / ".cache/a.jpg")
    ]


def test_a_link_named_in_the_pattern_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.jpg").write_bytes(b"x")
    (tmp_path / "alias").symlink_to("real")
    assert expand_source(str(tmp_path / "alias" / "*.jpg"), ObjectReader()) == [
        str(tmp_path / "real" / "a.jpg")
    ]
    assert expand_source(str(tmp_path / "*" / "a.jpg"), ObjectReader()) == [str(tmp_path / "real" / "a.jpg")]
