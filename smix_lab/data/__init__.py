"""Built-in synthetic data: the classification set with object masks (classification.py,
tools/data/make_cls_data.py) and a VOC-style detection set (voc.py, tools/data/make_voc_data.py).
Both keep a ledger of the files they write (ledger.py), so that a rerun deletes only its own
unchanged files."""
