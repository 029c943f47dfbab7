/* Fine-grained static saliency (Montabone & Soto 2010), one fused pass per image.
 *
 * Bit-exact with OpenCV contrib's StaticSaliencyFineGrained (docs/saliency.md):
 * fixed-point BGR2GRAY, two 3x3 Gaussian passes (reflect-101, (s+8)>>4), float32
 * integral image (row sums, then rows added top to bottom), centre-surround
 * on/off at six scales in float32 in OpenCV's order, mixScales and mixOnOff.
 *
 * Built by setup.py as the extension smix_timm.saliency._fine_grained and called
 * through ctypes (which releases the GIL). Build flags must keep IEEE float
 * semantics: no -ffast-math, -ffp-contract=off (no fused multiply-add).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd_dispatch.h"

#define INLINE static inline __attribute__((always_inline))

static const int SCALES[6] = {12, 24, 48, 28, 56, 112};
#define PAD 112  /* the largest scale */
/* A window of scale s >= W spans every column of a row whatever the pixel, exactly as a window of
 * scale W does: x - s + 1 <= 0 and x + s + 1 > W both clamp to the row's ends. So the scale pass
 * reads columns with the scale min(s, W) (column_scale), and each integral row needs only
 * pad_of(W) = min(W, PAD) replicated columns per side, not PAD: a 32-px row carries 64 of them
 * instead of 224 (the integral of a 32x32 image is 3x smaller), which keeps the cost per pixel at
 * 32 px close to that at 224 px. The window widths themselves (ws->widths) and the rows (clamped
 * explicitly) are computed with the true scale.
 *
 * Integral column j of row r lives at integral[r * row_stride(w) + col0(w) + j]. col0 + 1 and the
 * row stride are multiples of 8 floats and the buffer is 64-byte aligned, so for the vectors the
 * scale pass reads at x = 0, 8, 16, ... the columns x + 1 + 8m (four of the six scales at 224 px:
 * x +- s + 1 with s = 24, 48, 56, 112) are whole 32-byte loads that never straddle a cache line (5%
 * faster on Zen 4); col0 >= pad_of(w) leaves room for the left padding. */
#define ALIGN_FLOATS 16

INLINE int pad_of(int w) { return w < PAD ? w : PAD; }
INLINE int column_scale(int scale, int w) { return scale < w ? scale : w; }
INLINE size_t col0(int w) { return (((size_t)pad_of(w) + 1 + 7) & ~(size_t)7) - 1; }
INLINE size_t row_stride(int w) { return (col0(w) + w + 1 + pad_of(w) + 7) & ~(size_t)7; }

/* p rounded up to a 64-byte boundary; the caller allocated ALIGN_FLOATS floats more than it uses. */
INLINE float *align64(float *p) { return p ? (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63) : NULL; }
/* At most this many pixels: every integral entry (<= 255 * H * W) is an integer below 2^24, so the
 * float32 sums are exact in any order and the row prefix is summed in int32 (no float chain). */
#define EXACT_INTEGRAL_PIXELS 65793

INLINE int reflect101(int i, int n) {
    if (n == 1) return 0;
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
}

/* OpenCV's fixed-point BGR2GRAY, (3735 B + 19235 G + 9798 R + 16384) >> 15, in 16-bit lanes: each
 * coefficient is split as 128 * high + low, and floor((128 hi + lo + 16384) / 2^15) equals
 * floor((hi + floor((lo + 16384) / 128)) / 256) because hi is an integer. Every intermediate stays
 * below 2^16 (hi <= 255 * 255), so twice as many pixels fit a vector as with 32-bit products
 * (equal to the 32-bit formula on all 2^24 inputs, checked exhaustively once). */
INLINE uint8_t gray_of(int b, int g, int r) {
    uint16_t hi = (uint16_t)(29 * b + 150 * g + 76 * r);   /* 3735 >> 7, 19235 >> 7, 9798 >> 7 */
    uint16_t lo = (uint16_t)(23 * b + 35 * g + 70 * r);    /* the coefficients & 127 */
    return (uint8_t)((uint16_t)(hi + (uint16_t)((uint16_t)(lo + 16384) >> 7)) >> 8);
}

/* The two 3x3 blurs ([1 2 1]^2 / 16, border reflect-101, each rounded back to uint8 as (s + 8) >> 4),
 * row by row; blur_twice_and_integral runs them with the integral. */
INLINE void hsum_row(const uint8_t *r, uint16_t *t, int w) {
    t[0] = (uint16_t)(r[reflect101(-1, w)] + 2 * r[0] + r[reflect101(1, w)]);
    for (int x = 1; x < w - 1; x++) t[x] = (uint16_t)(r[x - 1] + 2 * r[x] + r[x + 1]);
    if (w > 1) t[w - 1] = (uint16_t)(r[w - 2] + 2 * r[w - 1] + r[reflect101(w, w)]);
}

INLINE void vsum_row(const uint16_t *t, uint8_t *d, int y, int h, int w) {
    const uint16_t *a = t + (size_t)reflect101(y - 1, h) * w;
    const uint16_t *b = t + (size_t)y * w;
    const uint16_t *c = t + (size_t)reflect101(y + 1, h) * w;
    for (int x = 0; x < w; x++) d[x] = (uint8_t)((a[x] + 2 * b[x] + c[x] + 8) >> 4);
}

/* Row y + 1 of cv::integral(gray, CV_32F), stored from column 1 at row_start[(y + 1) * iw]: rows
 * carry pad_of(W) columns per side; the left ones stay 0 (= column 0), the right ones repeat column W, so
 * a window clamped at the border reads the same values at unclamped indices. */
INLINE void integral_row(const uint8_t *g, float *rows, size_t iw, int y, int w, int exact, int32_t *prefix) {
    const float *above = rows + (size_t)y * iw;
    float *row = rows + (size_t)(y + 1) * iw;
    if (exact) {  /* every sum is an integer below 2^24: int32 prefix, one float add per entry */
        /* The row's quarters are summed as four independent chains (four adds in flight instead of
         * one: 1.5x faster integral here), then each quarter gets the total of those before it. */
        int q = w / 4;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int x = 0; x < q; x++) {
            prefix[x] = s0 += g[x];
            prefix[q + x] = s1 += g[q + x];
            prefix[2 * q + x] = s2 += g[2 * q + x];
            prefix[3 * q + x] = s3 += g[3 * q + x];
        }
        for (int x = 4 * q; x < w; x++) prefix[x] = s3 += g[x];
        const int32_t base1 = s0, base2 = s0 + s1, base3 = s0 + s1 + s2;
        for (int x = 0; x < q; x++) row[x] = above[x] + (float)prefix[x];
        for (int x = q; x < 2 * q; x++) row[x] = above[x] + (float)(prefix[x] + base1);
        for (int x = 2 * q; x < 3 * q; x++) row[x] = above[x] + (float)(prefix[x] + base2);
        for (int x = 3 * q; x < w; x++) row[x] = above[x] + (float)(prefix[x] + base3);
    } else {  /* OpenCV's order: a float running sum along the row, then the row above added */
        float s = 0.0f;
        for (int x = 0; x < w; x++) {
            s += (float)g[x];
            row[x] = above[x] + s;
        }
    }
    for (int x = 0, pad = pad_of(w); x < pad; x++) row[w + x] = row[w - 1];
}

/* Images up to this many pixels (128 x 128) are blurred stage by stage over the whole image, which
 * fits in L1/L2 then: each stage is one long loop over the flat image (vectorised whatever the
 * width), where the row pipeline below would run short rows (32 columns at CIFAR size: mostly
 * scalar loop remainders, 1.6x the cost per pixel of a 224-px image). Larger images keep the
 * pipeline over rows, so each row is still in L1 when the next stage reads it. Same results. */
#define FLAT_BLUR_PIXELS 16384

/* hsum_row for every row of an h x w image: one loop over the flat image, whose first and last
 * column per row read across a row boundary; those two are then redone with reflect-101. */
INLINE void hsum_image(const uint8_t *g, uint16_t *t, int h, int w) {
    size_t n = (size_t)h * w;
    for (size_t i = 1; i + 1 < n; i++) t[i] = (uint16_t)(g[i - 1] + 2 * g[i] + g[i + 1]);
    for (int y = 0; y < h; y++) {
        const uint8_t *r = g + (size_t)y * w;
        uint16_t *tr = t + (size_t)y * w;
        tr[0] = (uint16_t)(r[reflect101(-1, w)] + 2 * r[0] + r[reflect101(1, w)]);
        if (w > 1) tr[w - 1] = (uint16_t)(r[w - 2] + 2 * r[w - 1] + r[reflect101(w, w)]);
    }
}

/* vsum_row for every row: the inner rows in one flat loop, the first and last with reflect-101. */
INLINE void vsum_image(const uint16_t *t, uint8_t *d, int h, int w) {
    size_t n = (size_t)h * w;
    for (size_t i = (size_t)w; i + w < n; i++) d[i] = (uint8_t)((t[i - w] + 2 * t[i] + t[i + w] + 8) >> 4);
    vsum_row(t, d, 0, h, w);
    if (h > 1) vsum_row(t, d + (size_t)(h - 1) * w, h - 1, h, w);
}

/* gray (H x W) -> gray blurred twice, in place, and its integral. */
INLINE void blur_twice_and_integral(uint8_t *gray, int h, int w, uint8_t *blur1, uint16_t *t1, uint16_t *t2,
                                    float *integral, int32_t *prefix) {
    size_t iw = row_stride(w);
    float *rows = integral + col0(w) + 1;
    int exact = (size_t)h * w <= EXACT_INTEGRAL_PIXELS;
    if ((size_t)h * w <= FLAT_BLUR_PIXELS) {
        hsum_image(gray, t1, h, w);
        vsum_image(t1, blur1, h, w);
        hsum_image(blur1, t2, h, w);
        vsum_image(t2, gray, h, w);
        for (int y = 0; y < h; y++) integral_row(gray + (size_t)y * w, rows, iw, y, w, exact, prefix);
        return;
    }
    for (int s = 0; s < h + 2; s++) {
        if (s < h) hsum_row(gray + (size_t)s * w, t1 + (size_t)s * w, w);
        int r1 = s - 1, r2 = s - 2;  /* rows r1 + 1 and r2 + 1 of the stage before are ready */
        if (r1 >= 0 && r1 < h) {
            vsum_row(t1, blur1 + (size_t)r1 * w, r1, h, w);
            hsum_row(blur1 + (size_t)r1 * w, t2 + (size_t)r1 * w, w);
        }
        if (r2 >= 0) {  /* gray row r2 was read at step r2: it can take the result */
            vsum_row(t2, gray + (size_t)r2 * w, r2, h, w);
            integral_row(gray + (size_t)r2 * w, rows, iw, r2, w, exact, prefix);
        }
    }
}

/* Scratch buffers for images of one size, allocated once per call. */
typedef struct {
    uint8_t *gray, *blur;
    uint16_t *tmp, *tmp2, *on, *off;
    float *integral;  /* (H + 1) padded rows, see integral_row and col0; 64-byte aligned */
    float *widths;    /* per scale and column: the width of the clamped window; 64-byte aligned */
    float *integral_block, *widths_block;  /* what was allocated (and is freed) for the two above */
    int32_t *prefix;
    /* Per row y and scale k, set once per call: where the clamped window's first and last integral
     * rows start (offsets into integral, [(y * 6 + k) * 2] and [... + 1]) and its height. */
    size_t *window_rows;
    float *window_heights;
    int column_scales[6];  /* column_scale(SCALES[k], W) */
} Workspace;

static void workspace_free(Workspace *ws) {
    free(ws->gray); free(ws->blur); free(ws->tmp); free(ws->tmp2); free(ws->on); free(ws->off);
    free(ws->integral_block); free(ws->widths_block); free(ws->prefix);
    free(ws->window_rows); free(ws->window_heights);
}

static int workspace_alloc(Workspace *ws, int h, int w) {
    size_t n = (size_t)h * w;
    ws->gray = malloc(n);
    ws->blur = malloc(n);
    ws->tmp = malloc(n * sizeof(uint16_t));
    ws->tmp2 = malloc(n * sizeof(uint16_t));
    ws->on = malloc(n * sizeof(uint16_t));
    ws->off = malloc(n * sizeof(uint16_t));
    ws->integral_block = calloc((size_t)(h + 1) * row_stride(w) + ALIGN_FLOATS, sizeof(float));
    ws->widths_block = malloc((6 * (size_t)w + ALIGN_FLOATS) * sizeof(float));
    ws->integral = align64(ws->integral_block);
    ws->widths = align64(ws->widths_block);
    ws->prefix = malloc((size_t)w * sizeof(int32_t));
    ws->window_rows = malloc((size_t)h * 12 * sizeof(size_t));
    ws->window_heights = malloc((size_t)h * 6 * sizeof(float));
    if (!ws->gray || !ws->blur || !ws->tmp || !ws->tmp2 || !ws->on || !ws->off || !ws->integral || !ws->widths
        || !ws->prefix || !ws->window_rows || !ws->window_heights) {
        workspace_free(ws);
        return -1;
    }
    size_t iw = row_stride(w);
    for (int y = 0; y < h; y++)
        for (int k = 0; k < 6; k++) {
            int y1 = y - SCALES[k] + 1 < 0 ? 0 : y - SCALES[k] + 1;
            int y2 = y + SCALES[k] + 1 > h ? h : y + SCALES[k] + 1;
            ws->window_rows[(size_t)(y * 6 + k) * 2] = (size_t)y1 * iw;
            ws->window_rows[(size_t)(y * 6 + k) * 2 + 1] = (size_t)y2 * iw;
            ws->window_heights[(size_t)y * 6 + k] = (float)(y2 - y1);
        }
    for (int k = 0; k < 6; k++) ws->column_scales[k] = column_scale(SCALES[k], w);
    for (int k = 0; k < 6; k++)
        for (int x = 0; x < w; x++) {
            int x1 = x - SCALES[k] + 1, x2 = x + SCALES[k] + 1;
            ws->widths[k * w + x] = (float)((x2 < w ? x2 : w) - (x1 > 0 ? x1 : 0));
        }
    return 0;
}

/* Where a map goes: nowhere (NULL), as uint8 0-255, or as float32 in [0, 1] (OpenCV's
 * computeSaliency output: convertTo(CV_32F, 1.0f / 255.0f), i.e. v * float(1 / 255)). */
typedef struct {
    uint8_t *u8;
    float *unit;
} MapOut;

INLINE MapOut map_at(void *out, int out_float, size_t offset) {
    MapOut m = {NULL, NULL};
    if (out && out_float) m.unit = (float *)out + offset;
    else if (out) m.u8 = (uint8_t *)out + offset;
    return m;
}

/* The gray image in ws->gray -> the map in out and, in peaks (if not NULL), the row-major index of
 * the map's first maximum and first minimum. */
INLINE void saliency_of_gray(int h, int w, MapOut out, int32_t *peaks, Workspace *ws) {
    size_t n = (size_t)h * w;
    const float *integral_c0 = ws->integral + col0(w);
    uint8_t *gray = ws->gray;
    uint16_t *on = ws->on, *off = ws->off;
    if (n == 1) {  /* a 1x1 window has no surround (0 / 0 in OpenCV): its map is 0 */
        if (out.u8) out.u8[0] = 0;
        if (out.unit) out.unit[0] = 0.0f;
        if (peaks) peaks[0] = peaks[1] = 0;
        return;
    }
    blur_twice_and_integral(gray, h, w, ws->blur, ws->tmp, ws->tmp2, ws->integral, ws->prefix);

    /* Centre-surround at the six scales, all of them per pixel so the sums stay in registers.
     * Float32 order as OpenCV's getMean: ((I[y2,x2] + I[y1,x1]) - I[y2,x1]) - I[y1,x2], then
     * (box - g) / (count - 1); t = (int)(g - that) lies in [-255, 255]. The sums of |t| and of t
     * give on = sum of max(t, 0) and off = sum of max(-t, 0) exactly. */
    int max_on = 0, max_off = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *gr = gray + (size_t)y * w;
        const float *a1[6], *a2[6], *b1[6], *b2[6];
        const float *dy = ws->window_heights + (size_t)y * 6;
        const size_t *window = ws->window_rows + (size_t)y * 12;
        for (int k = 0; k < 6; k++) {
            const float *r1 = integral_c0 + window[2 * k], *r2 = integral_c0 + window[2 * k + 1];
            int cs = ws->column_scales[k];  /* the same clamped columns as the scale (see pad_of) */
            a1[k] = r1 - cs + 1; a2[k] = r2 - cs + 1;  /* column x1 = x - scale + 1, clamped by the padding */
            b1[k] = r1 + cs + 1; b2[k] = r2 + cs + 1;  /* column x2 = x + scale + 1, clamped by the padding */
        }
        const float *wd = ws->widths;
        uint16_t *on_r = on + (size_t)y * w, *off_r = off + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            float g = (float)gr[x];
            int32_t mag = 0, sum = 0;
            for (int k = 0; k < 6; k++) {
                float box = ((b2[k][x] + a1[k][x]) - a2[k][x]) - b1[k][x];
                float d = g - (box - g) / (wd[k * w + x] * dy[k] - 1.0f);
                int32_t t = (int32_t)d;
                mag += t < 0 ? -t : t;
                sum += t;
            }
            int v_on = (mag + sum) >> 1, v_off = (mag - sum) >> 1;
            on_r[x] = (uint16_t)v_on;
            off_r[x] = (uint16_t)v_off;
            max_on = v_on > max_on ? v_on : max_on;
            max_off = v_off > max_off ? v_off : max_off;
        }
    }

    /* mixScales: (uchar)(255. * (float)(s / (float)max)) per map. For the integers 0 <= s <= max <= 6 * 255
     * that is floor(255 s / max): where 255 s / max is an integer no float quotient s / max lies below it
     * (s / max is then k / 255, and no float32 k / 255 rounds down), elsewhere it is at least 1 / max from
     * an integer, far beyond the quotient's rounding. And floor(255 s / max) is (int)(s * (255.f / max)
     * + 1/4096.f) in float32: the product is within 2^-15 of 255 s / max, and 1/4096 + 2^-15 < 1 / max.
     * Both steps were checked on all 1.17M pairs (tests/test_native.py repeats it): the same bits as
     * OpenCV, with two multiply-adds per pixel in place of two divisions and double conversions.
     * Each map's maximum becomes 255, so mixOnOff's divisor max(max on, max off) is 255 (or 0: all zero)
     * and (uchar)(int)(255. * (on + off) / 255.) is (on + off) & 255: sums above 255 wrap through the
     * int, as in OpenCV. An all-zero map stays 0 (its factor is 0). */
    const float to_255_on = max_on ? 255.0f / (float)max_on : 0.0f;
    const float to_255_off = max_off ? 255.0f / (float)max_off : 0.0f;
    const float nudge = 1.0f / 4096.0f;
    uint8_t *v = out.u8 ? out.u8 : ws->blur;
    for (size_t i = 0; i < n; i++) {
        int scaled_on = (int)((float)on[i] * to_255_on + nudge);
        int scaled_off = (int)((float)off[i] * to_255_off + nudge);
        v[i] = (uint8_t)((scaled_on + scaled_off) & 255);
    }
    if (out.unit) {
        const float to_unit = 1.0f / 255.0f;
        for (size_t i = 0; i < n; i++) out.unit[i] = (float)v[i] * to_unit;
    }
    if (peaks) {
        uint8_t hi = 0, lo = 255;
        for (size_t i = 0; i < n; i++) {
            hi = v[i] > hi ? v[i] : hi;
            lo = v[i] < lo ? v[i] : lo;
        }
        peaks[0] = (int32_t)((const uint8_t *)memchr(v, hi, n) - v);  /* both values occur in v */
        peaks[1] = (int32_t)((const uint8_t *)memchr(v, lo, n) - v);
    }
}

const char *smix_fine_grained_dispatch(void) { return SMIX_DISPATCH_NAME; }

/* A batch of uint8 images, contiguous (B, C, H, W), C in {1, 3}. channel_b: index of the blue
 * plane (0 for BGR, 2 for RGB). Writes the (B, H, W) maps to out (uint8, or float32 in [0, 1] if
 * out_float) and/or the (B, 2) first maximum and minimum (row-major index) of each map to peaks;
 * either may be NULL. Returns 0, or -1 (no memory). */
SMIX_DISPATCH
int smix_fine_grained_u8(const uint8_t *imgs, int b, int c, int h, int w, int channel_b, void *out,
                         int out_float, int32_t *peaks) {
    size_t n = (size_t)h * w;
    Workspace ws;
    if (workspace_alloc(&ws, h, w)) return -1;
    for (int i = 0; i < b; i++) {
        const uint8_t *img = imgs + (size_t)i * c * n;
        if (c == 1) {
            memcpy(ws.gray, img, n);
        } else {
            const uint8_t *pb = img + n * channel_b, *pg = img + n, *pr = img + n * (2 - channel_b);
            for (size_t j = 0; j < n; j++) ws.gray[j] = gray_of(pb[j], pg[j], pr[j]);
        }
        saliency_of_gray(h, w, map_at(out, out_float, (size_t)i * n), peaks ? peaks + 2 * (size_t)i : NULL, &ws);
    }
    workspace_free(&ws);
    return 0;
}

/* The pixel a float maps to: v = x * scale + offset (two float32 roundings, no fused multiply-add),
 * clamped to [0, 255] and rounded half to even (adding and removing 1.5 * 2^23 rounds in the FPU's
 * default mode), as torch's x.mul(scale).add(offset).round().clamp(0, 255). NaN lands on 0. */
INLINE int pixel_of(float v) {
    float c = v > 0.0f ? v : 0.0f;
    c = c < 255.0f ? c : 255.0f;
    return (int)((c + 12582912.0f) - 12582912.0f);
}

INLINE int out_of_range(float v, float tol) {
    return 1 - ((v >= -tol) & (v <= 255.0f + tol));  /* NaN fails both; & (not &&): no branch */
}

/* As smix_fine_grained_u8 for float images, contiguous (B, C, H, W), each value mapped to its pixel
 * with pixel_of(x * scale[c] + offset[c]) on the way to gray. Returns -1 (no memory) or the number
 * of mapped values outside [-tol, 255 + tol] or not finite: where it is not 0 the input's scale was
 * wrong and the maps mean nothing. */
SMIX_DISPATCH
long long smix_fine_grained_f32(const float *imgs, int b, int c, int h, int w, int channel_b,
                                const float *scale, const float *offset, float tol, void *out, int out_float,
                                int32_t *peaks) {
    size_t n = (size_t)h * w;
    long long bad = 0;
    Workspace ws;
    if (workspace_alloc(&ws, h, w)) return -1;
    for (int i = 0; i < b; i++) {
        const float *img = imgs + (size_t)i * c * n;
        int32_t count = 0;
        if (c == 1) {
            float s = scale[0], o = offset[0];
            for (size_t j = 0; j < n; j++) {
                float v = img[j] * s + o;
                count += out_of_range(v, tol);
                ws.gray[j] = (uint8_t)pixel_of(v);
            }
        } else {
            int kr = 2 - channel_b;
            const float *pb = img + n * channel_b, *pg = img + n, *pr = img + n * kr;
            float sb = scale[channel_b], sg = scale[1], sr = scale[kr];
            float ob = offset[channel_b], og = offset[1], orr = offset[kr];
            for (size_t j = 0; j < n; j++) {
                float vb = pb[j] * sb + ob, vg = pg[j] * sg + og, vr = pr[j] * sr + orr;
                count += out_of_range(vb, tol) + out_of_range(vg, tol) + out_of_range(vr, tol);
                ws.gray[j] = gray_of(pixel_of(vb), pixel_of(vg), pixel_of(vr));
            }
        }
        bad += count;
        saliency_of_gray(h, w, map_at(out, out_float, (size_t)i * n), peaks ? peaks + 2 * (size_t)i : NULL, &ws);
    }
    workspace_free(&ws);
    return bad;
}
