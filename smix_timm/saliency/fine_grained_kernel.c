/* Fine-grained static saliency (Montabone & Soto 2010), one fused pass per image.
 *
 * Bit-exact with OpenCV contrib's StaticSaliencyFineGrained (DESIGN.md sec. 3):
 * fixed-point BGR2GRAY, two 3x3 Gaussian passes (reflect-101, (s+8)>>4), float32
 * integral image (row sums, then rows added top to bottom), centre-surround
 * on/off at six scales in float32 in OpenCV's order, mixScales and mixOnOff.
 * Build flags must keep IEEE float semantics: no -ffast-math, -ffp-contract=off.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int SCALES[6] = {12, 24, 48, 28, 56, 112};

static inline int reflect101(int i, int n) {
    if (n == 1) return 0;
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
}

static void blur3(const uint8_t *src, uint8_t *dst, int h, int w, int *tmp) {
    /* tmp: h * w ints holding the horizontal pass; border columns/rows via reflect101, the
     * interior without it so that the compiler vectorises it */
    for (int y = 0; y < h; y++) {
        const uint8_t *r = src + (size_t)y * w;
        int *t = tmp + (size_t)y * w;
        t[0] = r[reflect101(-1, w)] + 2 * r[0] + r[reflect101(1, w)];
        for (int x = 1; x < w - 1; x++) t[x] = r[x - 1] + 2 * r[x] + r[x + 1];
        if (w > 1) t[w - 1] = r[reflect101(w - 2, w)] + 2 * r[w - 1] + r[reflect101(w, w)];
    }
    for (int y = 0; y < h; y++) {
        const int *a = tmp + (size_t)reflect101(y - 1, h) * w;
        const int *b = tmp + (size_t)y * w;
        const int *c = tmp + (size_t)reflect101(y + 1, h) * w;
        uint8_t *d = dst + (size_t)y * w;
        for (int x = 0; x < w; x++) d[x] = (uint8_t)((a[x] + 2 * b[x] + c[x] + 8) >> 4);
    }
}

/* One scale on x in [xa, xb) of one row. X1 / X2 give the window's integral columns: either a
 * constant (clamped at the border) or affine in x, so every variant vectorises. Float32 order as
 * OpenCV's getMean: ((I[y2,x2] + I[y1,x1]) - I[y2,x1]) - I[y1,x2], then (box - g) / (count - 1). */
#define DEFINE_SEGMENT(NAME, X1, X2)                                                          \
    static void NAME(const float *r1, const float *r2, const uint8_t *gr, uint16_t *on,        \
                     uint16_t *off, int xa, int xb, int sc, int dy, int w) {                    \
        for (int x = xa; x < xb; x++) {                                                         \
            int x1 = (X1), x2 = (X2);                                                           \
            float g = (float)gr[x];                                                             \
            float box = ((r2[x2] + r1[x1]) - r2[x1]) - r1[x2];                                  \
            float d = g - (box - g) / (float)((x2 - x1) * dy - 1);                              \
            int t = (int)d;                                                                     \
            on[x] += (uint16_t)(t > 0 ? t : 0);                                                 \
            off[x] += (uint16_t)(t < 0 ? -t : 0);                                               \
        }                                                                                       \
        (void)sc; (void)w;                                                                      \
    }
DEFINE_SEGMENT(seg_clamp_both, 0, w)
DEFINE_SEGMENT(seg_clamp_left, 0, x + sc + 1)
DEFINE_SEGMENT(seg_clamp_right, x - sc + 1, w)
DEFINE_SEGMENT(seg_interior, x - sc + 1, x + sc + 1)

static void scale_row(const float *r1, const float *r2, const uint8_t *gr, uint16_t *on, uint16_t *off,
                      int sc, int dy, int w) {
    int a = sc - 1 < w ? sc - 1 : w;      /* x < a: left end clamped to 0 */
    int b = w - sc > 0 ? w - sc : 0;      /* x >= b: right end clamped to W */
    if (a <= b) {
        seg_clamp_left(r1, r2, gr, on, off, 0, a, sc, dy, w);
        seg_interior(r1, r2, gr, on, off, a, b, sc, dy, w);
        seg_clamp_right(r1, r2, gr, on, off, b, w, sc, dy, w);
    } else {
        seg_clamp_left(r1, r2, gr, on, off, 0, b, sc, dy, w);
        seg_clamp_both(r1, r2, gr, on, off, b, a, sc, dy, w);
        seg_clamp_right(r1, r2, gr, on, off, a, w, sc, dy, w);
    }
}

/* Scratch buffers for images of one size, allocated once per batch: fresh allocations of this
 * size are page-faulted in on every image, which cost more than half of the work at 224x224. */
typedef struct {
    uint8_t *gray, *blur;
    int *tmp;
    float *integral;
    uint16_t *on, *off;
} Workspace;

static void workspace_free(Workspace *ws) {
    free(ws->gray); free(ws->blur); free(ws->tmp); free(ws->integral); free(ws->on); free(ws->off);
}

static int workspace_alloc(Workspace *ws, int h, int w) {
    size_t n = (size_t)h * w;
    ws->gray = malloc(n);
    ws->blur = malloc(n);
    ws->tmp = malloc(n * sizeof(int));
    ws->integral = calloc((size_t)(h + 1) * ((size_t)w + 1), sizeof(float)); /* row 0, column 0 stay 0 */
    ws->on = malloc(n * sizeof(uint16_t));
    ws->off = malloc(n * sizeof(uint16_t));
    if (!ws->gray || !ws->blur || !ws->tmp || !ws->integral || !ws->on || !ws->off) {
        workspace_free(ws);
        return -1;
    }
    return 0;
}

/* One image. img: C x H x W uint8 (planar, C in {1, 3}); out: H x W uint8.
 * channel_b: index of the blue plane (0 for BGR, 2 for RGB). */
static void fine_grained_one(const uint8_t *img, int c, int h, int w, int channel_b, uint8_t *out,
                             Workspace *ws) {
    size_t n = (size_t)h * w, iw = (size_t)w + 1;
    uint8_t *gray = ws->gray, *blur = ws->blur;
    int *tmp = ws->tmp;
    float *integral = ws->integral;
    uint16_t *on = ws->on, *off = ws->off;
    memset(on, 0, n * sizeof(uint16_t));
    memset(off, 0, n * sizeof(uint16_t));
    if (c == 1) {
        memcpy(gray, img, n);
    } else {
        const uint8_t *pb = img + n * channel_b, *pg = img + n, *pr = img + n * (2 - channel_b);
        for (size_t i = 0; i < n; i++)
            gray[i] = (uint8_t)((3735 * pb[i] + 19235 * pg[i] + 9798 * pr[i] + 16384) >> 15);
    }
    blur3(gray, blur, h, w, tmp);
    blur3(blur, gray, h, w, tmp); /* gray now holds the twice-blurred image */

    for (int y = 0; y < h; y++) {
        float s = 0.0f;
        const float *above = integral + (size_t)y * iw;
        float *row = integral + (size_t)(y + 1) * iw;
        for (int x = 0; x < w; x++) {
            s += (float)gray[(size_t)y * w + x];
            row[x + 1] = above[x + 1] + s;
        }
    }

    for (int k = 0; k < 6; k++) {
        int sc = SCALES[k];
        for (int y = 0; y < h; y++) {
            int y1 = y - sc + 1 < 0 ? 0 : y - sc + 1;
            int y2 = y + sc + 1 > h ? h : y + sc + 1;
            const float *r1 = integral + (size_t)y1 * iw, *r2 = integral + (size_t)y2 * iw;
            const uint8_t *gr = gray + (size_t)y * w;
            uint16_t *on_r = on + (size_t)y * w, *off_r = off + (size_t)y * w;
            scale_row(r1, r2, gr, on_r, off_r, sc, y2 - y1, w);
        }
    }

    /* mixScales: per-image max of the sums, (uchar)(255. * (float)(s / (float)max)). The sums are
     * integers in [0, 6 * 255], so each formula is evaluated once per possible value (a lookup
     * table: the same operations, hence the same bits) instead of once per pixel. */
    int max_on = 0, max_off = 0;
    for (size_t i = 0; i < n; i++) {
        if (on[i] > max_on) max_on = on[i];
        if (off[i] > max_off) max_off = off[i];
    }
    uint8_t lut_on[6 * 255 + 1], lut_off[6 * 255 + 1];
    for (int v = 0; v <= max_on; v++)
        lut_on[v] = max_on ? (uint8_t)(int)(255. * (float)((float)v / (float)max_on)) : 0;
    for (int v = 0; v <= max_off; v++)
        lut_off[v] = max_off ? (uint8_t)(int)(255. * (float)((float)v / (float)max_off)) : 0;
    uint8_t *on8 = gray, *off8 = blur; /* reuse buffers */
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        on8[i] = lut_on[on[i]];
        off8[i] = lut_off[off[i]];
    }
    for (size_t i = 0; i < n; i++) {
        if (on8[i] > m) m = on8[i];
        if (off8[i] > m) m = off8[i];
    }
    /* mixOnOff: (uchar)(255. * (float)(on + off) / (float)max(max on, max off)), through int;
     * on + off is in [0, 510] */
    uint8_t lut_mix[511];
    for (int v = 0; v <= 510; v++)
        lut_mix[v] = m ? (uint8_t)((int)(255. * (float)v / (float)m) & 255) : 0;
    for (size_t i = 0; i < n; i++) out[i] = lut_mix[on8[i] + off8[i]];
}

/* A batch of images, contiguous (B, C, H, W) -> (B, H, W). Returns 0 or -1 (no memory). */
int smix_fine_grained_batch(const uint8_t *imgs, int b, int c, int h, int w, int channel_b, uint8_t *out) {
    size_t n = (size_t)h * w;
    Workspace ws;
    if (workspace_alloc(&ws, h, w)) return -1;
    for (int i = 0; i < b; i++)
        fine_grained_one(imgs + (size_t)i * c * n, c, h, w, channel_b, out + (size_t)i * n, &ws);
    workspace_free(&ws);
    return 0;
}
