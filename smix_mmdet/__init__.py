"""SaliencyMix backbones for mmdetection."""
