"""smix_lab.data.ledger: the record of what a data generator wrote, and which of those files changed since."""
import json

from smix_lab.data import ledger as ledger_mod


def test_ledger_records_what_was_written(tmp_path):
    book = ledger_mod.Ledger(str(tmp_path), "files")
    (tmp_path / "a").mkdir()
    book.write("a/x.txt", b"hello")
    book.close()
    entries = ledger_mod.read_ledger(str(tmp_path / "files"))
    assert list(entries) == ["a/x.txt"] and entries["a/x.txt"][1] == 5
    assert ledger_mod.foreign_or_changed(str(tmp_path), ["a/x.txt"], entries) == []
    (tmp_path / "a" / "x.txt").write_bytes(b"HELLO")
    assert ledger_mod.foreign_or_changed(str(tmp_path), ["a/x.txt"], entries) == ["a/x.txt"]
    json.dumps(entries)  # plain values
