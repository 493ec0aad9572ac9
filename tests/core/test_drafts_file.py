"""The drafts file on disk: a round trip, temporary files copied, failures said in words, stale copies pruned."""

import json
import tempfile

import pytest

from mimo_desktop.core.drafts import Draft, DraftBook, DraftError


@pytest.fixture
def system_temp(tmp_path, monkeypatch):
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_drafts_round_trip_and_an_empty_one_is_forgotten(tmp_path, system_temp):
    mine = tmp_path / "photo.jpg"
    mine.write_bytes(b"jpeg")
    book = DraftBook(tmp_path / "home")
    book.put(3, Draft("about the photo", (mine,)))
    book.put(None, Draft("before any conversation"))
    book.put(4, Draft("   "))
    book.save()
    again = DraftBook(tmp_path / "home")
    assert again.get(3) == Draft("about the photo", (mine,))
    assert again.get(None).text == "before any conversation"
    assert again.get(4) == Draft() and again.conversations() == {3}
    again.put(3, Draft())
    again.save()
    assert json.loads((tmp_path / "home" / "drafts.json").read_text()) == {"new": {"text": "before any conversation",
                                                                                   "files": []}}


def test_a_file_in_the_temporary_folder_is_copied_under_its_own_name(tmp_path, system_temp):
    pasted = system_temp / "mimo-desktop-x" / "pasted-1.png"
    pasted.parent.mkdir()
    pasted.write_bytes(b"png bytes")
    book = DraftBook(tmp_path / "home")
    kept = book.put(1, Draft("", (pasted,))).files[0]
    assert kept.name == "pasted-1.png" and (tmp_path / "home" / "drafts") in kept.parents
    assert book.put(1, Draft("again", (pasted,))).files[0] == kept  # copied once per session
    pasted.unlink()
    book.save()
    assert DraftBook(tmp_path / "home").get(1).files[0].read_bytes() == b"png bytes"


def test_prune_deletes_copies_no_draft_names(tmp_path, system_temp):
    first, second = system_temp / "a.png", system_temp / "b.png"
    first.write_bytes(b"a")
    second.write_bytes(b"b")
    book = DraftBook(tmp_path / "home")
    keep = book.put(1, Draft("", (first,))).files[0]
    drop = book.put(2, Draft("", (second,))).files[0]
    book.put(2, Draft())
    book.prune()
    assert keep.exists() and not drop.exists() and not drop.parent.exists()


def test_a_failed_save_says_why_and_keeps_the_old_file(tmp_path, system_temp):
    home = tmp_path / "home"
    book = DraftBook(home)
    book.put(1, Draft("first"))
    book.save()
    (home / "drafts.json").chmod(0o644)
    book.path = home / "not-a-folder" / "drafts.json"
    (home / "not-a-folder").write_text("a file where the folder should be")
    book.put(1, Draft("second"))
    with pytest.raises(DraftError, match="could not be saved to .*They stay in the window"):
        book.save()
    assert json.loads((home / "drafts.json").read_text())["1"]["text"] == "first"
