"""smix: SaliencyMix (Uddin et al., ICLR 2021) for timm and mmdetection."""
import hashlib
import os
import platform

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = "smix_timm/saliency/fine_grained_kernel.c"
BATCH_OPS = "smix_timm/saliency/batch_kernel.c"
DISPATCH_HEADER = "smix_timm/saliency/simd_dispatch.h"


class BuildKernel(build_ext):
    """Compile the fused saliency kernel with IEEE float semantics (part of its bit-exact contract).

    No -march=native: the kernel carries x86-64 v4/v3/baseline clones and the CPU picks at load time.
    These flags come after Python's own CFLAGS: -fno-wrapv undoes Python's -fwrapv, which keeps GCC
    from vectorising the kernel's index arithmetic (1.7x slower, measured). -fno-trapping-math lets
    the float compares vectorise on AVX2 (it changes no result: no code here inspects FP exceptions).
    On x86-64, -mprefer-vector-width=256 keeps the AVX-512 clone on 256-bit vectors (GCC's own choice
    for most CPUs): the kernel's loops are one image row long, and 512-bit vectors with their
    remainders and width conversions ran 1.1x slower on the project's AMD EPYC (measured).
    """

    def build_extension(self, ext):
        if self.compiler.compiler_type == "unix":
            ext.extra_compile_args = ["-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math",
                                      "-fno-trapping-math", "-fno-wrapv"]
            if platform.machine().lower() in ("x86_64", "amd64"):
                ext.extra_compile_args.append("-mprefer-vector-width=256")
        super().build_extension(ext)


def _sha256(*paths):
    """sha256 of the files' bytes one after the other (smix_timm.saliency.native computes the same)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(os.path.join(HERE, path), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


setup(
    name="smix",
    version="0.1.0",
    description="SaliencyMix for timm (batch augmentation, collate, trainer) and mmdetection (backbone hand-off)",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read()
    if os.path.exists(os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["smix_timm", "smix_timm.*", "smix_mmdet", "smix_mmdet.*",
                               "smix_lab", "smix_lab.*"]),
    package_data={"smix_timm.saliency": ["fine_grained_kernel.c", "batch_kernel.c", "simd_dispatch.h"]},
    ext_modules=[Extension(
        "smix_timm.saliency._fine_grained",
        sources=[KERNEL, BATCH_OPS, "smix_timm/saliency/_fine_grained_module.c"],
        define_macros=[("SMIX_SOURCE_SHA256", '"%s"' % _sha256(KERNEL, BATCH_OPS, DISPATCH_HEADER))],
        depends=[DISPATCH_HEADER],
        # Without a compiler the install still succeeds; the package then says once, at the first
        # saliency call, that it runs the slower eager path (same results).
        optional=True,
    )],
    cmdclass={"build_ext": BuildKernel},
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
        # scikit-image: real photographs for tests; ruff: the style check of .ci/run (ruff.toml)
        "dev": ["pytest>=7", "matplotlib", "scikit-image", "ruff==0.17.6"],
    },
)
