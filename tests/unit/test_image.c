/* What an uploaded picture is, from its bytes: good ones of each type, and
 * ones that lie, are cut short, or claim impossible sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <zlib.h>

#include "image.h"

/* The chunks' CRCs come from zlib, not from a copy of the parser's own
 * code: a CRC the parser computes wrongly then fails here. */
static uint32_t crc(const unsigned char *p, size_t len)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

static size_t put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

static size_t chunk(unsigned char *p, const char *type, const unsigned char *data, uint32_t n)
{
    size_t at = put32(p, n);
    memcpy(p + at, type, 4);
    if (n > 0)
        memcpy(p + at + 4, data, n);
    put32(p + at + 4 + n, crc(p + at, 4 + (size_t)n));
    return 12 + (size_t)n;
}

/* A PNG of width x height (the pixel data is not checked, only its chunk). */
static size_t make_png(unsigned char *out, uint32_t width, uint32_t height)
{
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {0};
    put32(ihdr, width);
    put32(ihdr + 4, height);
    ihdr[8] = 8;
    ihdr[9] = 2;
    size_t len = 8 + chunk(out + 8, "IHDR", ihdr, 13);
    static const unsigned char idat[] = {0x78, 0x9c, 0x63, 0x60, 0x00,
                                         0x00, 0x00, 0x02, 0x00, 0x01};
    len += chunk(out + len, "IDAT", idat, sizeof(idat));
    len += chunk(out + len, "IEND", NULL, 0);
    return len;
}

/* A baseline JPEG's skeleton: SOI, APP0, SOF0 (height, width), SOS, a few
 * entropy-coded bytes (with a stuffed FF00 and a restart marker), EOI. */
static const unsigned char jpeg[] = {
    0xff, 0xd8, /* SOI */
    0xff, 0xe0, 0x00, 0x10, 'J',  'F',  'I',  'F',  0,    1,    1,    0,    0,
    1,    0,    1,    0,    0,                                                    /* APP0 */
    0xff, 0xc0, 0x00, 0x0b, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00, /* 640x480 */
    0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00,                   /* SOS */
    0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd0, 0x78, /* data, FF00, RST0 */
    0xff, 0xd9,                                     /* EOI */
};

/* RIFF/WEBP with a VP8L chunk of 300 x 200. */
static size_t make_webp(unsigned char *out)
{
    memcpy(out, "RIFF", 4);
    memcpy(out + 8, "WEBPVP8L", 8);
    uint32_t n = 6;
    out[16] = (unsigned char)n, out[17] = out[18] = out[19] = 0;
    out[20] = 0x2f;
    uint32_t bits = (300 - 1) | (uint32_t)(200 - 1) << 14;
    out[21] = (unsigned char)bits, out[22] = (unsigned char)(bits >> 8);
    out[23] = (unsigned char)(bits >> 16), out[24] = (unsigned char)(bits >> 24);
    out[25] = 0;
    size_t len = 26;
    uint32_t riff = (uint32_t)len - 8;
    out[4] = (unsigned char)riff, out[5] = (unsigned char)(riff >> 8), out[6] = out[7] = 0;
    return len;
}

static void good_images_of_each_type_are_read_with_their_sizes(void **state)
{
    (void)state;
    unsigned char buf[256];
    struct image_info info;
    size_t len = make_png(buf, 64, 48);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_OK);
    assert_string_equal(info.media_type, "image/png");
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 48);

    assert_int_equal(image_inspect(jpeg, sizeof(jpeg), &info), IMAGE_OK);
    assert_string_equal(info.media_type, "image/jpeg");
    assert_int_equal(info.width, 640);
    assert_int_equal(info.height, 480);

    len = make_webp(buf);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_OK);
    assert_string_equal(info.media_type, "image/webp");
    assert_int_equal(info.width, 300);
    assert_int_equal(info.height, 200);
}

static void every_cut_of_a_good_image_is_refused(void **state)
{
    (void)state;
    unsigned char buf[256];
    struct image_info info;
    size_t png_len = make_png(buf, 64, 48);
    for (size_t cut = 0; cut < png_len; cut++)
        assert_int_not_equal(image_inspect(buf, cut, &info), IMAGE_OK);
    for (size_t cut = 0; cut < sizeof(jpeg); cut++)
        assert_int_not_equal(image_inspect(jpeg, cut, &info), IMAGE_OK);
    size_t webp_len = make_webp(buf);
    for (size_t cut = 0; cut < webp_len; cut++)
        assert_int_not_equal(image_inspect(buf, cut, &info), IMAGE_OK);
}

static void damaged_and_foreign_bytes_are_refused(void **state)
{
    (void)state;
    unsigned char buf[256];
    struct image_info info;
    size_t len = make_png(buf, 64, 48);
    /* signature 0-7, IHDR's length 8-11, type 12-15, width 16-19: width 64
     * becomes 65, a size as plausible as the first, but IHDR's CRC (29-32)
     * no longer matches */
    buf[19] ^= 0x01;
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_TRUNCATED);
    len = make_png(buf, 64, 48);
    buf[30] ^= 0x01; /* the CRC itself */
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_TRUNCATED);

    static const char text[] = "<?php system($_GET['x']); ?>";
    assert_int_equal(image_inspect((const unsigned char *)text, sizeof(text), &info),
                     IMAGE_UNKNOWN);
    static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert_int_equal(image_inspect(gif, sizeof(gif), &info), IMAGE_UNKNOWN);
    assert_int_equal(image_inspect(NULL, 0, &info), IMAGE_UNKNOWN);

    unsigned char bad_jpeg[sizeof(jpeg)];
    memcpy(bad_jpeg, jpeg, sizeof(jpeg));
    /* SOI 0-1, APP0's marker 2-3, its length 4-5: 0xff00 runs past the end */
    bad_jpeg[4] = 0xff, bad_jpeg[5] = 0x00;
    assert_int_equal(image_inspect(bad_jpeg, sizeof(bad_jpeg), &info), IMAGE_TRUNCATED);

    /* a JPEG without a frame header has no size */
    static const unsigned char no_sof[] = {0xff, 0xd8, 0xff, 0xd9};
    assert_int_equal(image_inspect(no_sof, sizeof(no_sof), &info), IMAGE_TRUNCATED);
}

static void impossible_sizes_are_refused(void **state)
{
    (void)state;
    unsigned char buf[256];
    struct image_info info;
    size_t len = make_png(buf, 0, 48);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_BAD_DIMENSIONS);
    len = make_png(buf, 20001, 1);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_BAD_DIMENSIONS);
    len = make_png(buf, 0xffffffffu, 0xffffffffu);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_BAD_DIMENSIONS);
    len = make_png(buf, 20000, 20000);
    assert_int_equal(image_inspect(buf, len, &info), IMAGE_OK);

    unsigned char zero[sizeof(jpeg)];
    memcpy(zero, jpeg, sizeof(jpeg));
    zero[25] = zero[26] = 0; /* height 0: decoders would wait for a DNL marker */
    assert_int_equal(image_inspect(zero, sizeof(zero), &info), IMAGE_BAD_DIMENSIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_images_of_each_type_are_read_with_their_sizes),
        cmocka_unit_test(every_cut_of_a_good_image_is_refused),
        cmocka_unit_test(damaged_and_foreign_bytes_are_refused),
        cmocka_unit_test(impossible_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
