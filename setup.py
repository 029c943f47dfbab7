"""smix: SaliencyMix (Uddin et al., ICLR 2021) for timm and mmdetection."""
from setuptools import find_packages, setup

setup(
    name="smix",
    version="0.1.0",
    description="SaliencyMix for timm (batch augmentation, collate, trainer) and mmdetection (backbone hand-off)",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["smix_timm", "smix_timm.*", "smix_mmdet", "smix_mmdet.*"]),
    install_requires=[
        "torch>=2.1",
        "torchvision",
        "timm>=1.0.9,<1.1",
        "numpy",
        "pillow",
        "pyyaml",
        # cv2.saliency lives only in the contrib build; see tools/install.sh for
        # why it must be installed after mmengine/mmcv's opencv-python.
        "opencv-contrib-python-headless>=4.5",
    ],
    extras_require={
        "det": ["mmengine==0.10.7", "mmcv==2.1.0", "mmdet==3.3.0", "setuptools>=77,<82"],
        "dev": ["pytest>=7", "matplotlib", "scikit-image"],  # scikit-image: real photographs for tests
    },
)
