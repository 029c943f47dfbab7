"""Analyses of trained backbones and of the mixing itself: class activation maps (paper sec. 4.3, Fig. 4),
FGSM robustness (sec. 4.4, Table 4) and pictures of SaliencyMix at work. Each module has a ``main(argv)``
that the thin scripts in tools/ call; the checks they share (split, images, output folder) are in
common.py."""
