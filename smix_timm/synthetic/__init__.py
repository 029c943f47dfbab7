"""Built-in synthetic data: the classification set with object masks (tools/make_cls_data.py)."""
