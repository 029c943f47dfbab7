/* Shared by the extension's C files. The entry points marked SMIX_DISPATCH are compiled for three
 * x86-64 levels and the dynamic loader picks the best one the CPU has (function multiversioning
 * through an ifunc resolver): no instruction the CPU lacks ever runs. Elsewhere (arm64: NEON is
 * baseline) the build's own target is used. */
#ifndef SMIX_SIMD_DISPATCH_H
#define SMIX_SIMD_DISPATCH_H
#if defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define SMIX_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define SMIX_DISPATCH_NAME "x86-64 v4/v3/baseline, chosen at load time"
#else
#define SMIX_DISPATCH
#define SMIX_DISPATCH_NAME "the build's target"
#endif
#endif
