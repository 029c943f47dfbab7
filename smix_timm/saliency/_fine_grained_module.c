/* The Python module around fine_grained_kernel.c. It exports no Python functions: the package opens
 * the module's shared object with ctypes and calls the C entry points directly (native.py). Being a
 * real extension module lets pip build it at install time and place it inside the package. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef SMIX_SOURCE_SHA256
#define SMIX_SOURCE_SHA256 "unknown"
#endif

/* sha256 of fine_grained_kernel.c and batch_kernel.c as they were built, so a stale build of an edited source is noticed. */
const char *smix_fine_grained_source_sha256(void) { return SMIX_SOURCE_SHA256; }

static struct PyModuleDef fine_grained_module = {
    PyModuleDef_HEAD_INIT, "_fine_grained",
    "Fused fine-grained saliency kernel; called through ctypes by smix_timm.saliency.native.", -1, NULL,
};

PyMODINIT_FUNC PyInit__fine_grained(void) { return PyModule_Create(&fine_grained_module); }
