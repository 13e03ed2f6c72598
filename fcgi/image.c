/* image: see image.h. */
#include "image.h"

#include <stdint.h>
#include <string.h>

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static unsigned le24(const unsigned char *p)
{
    return (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0];
}

static enum image_result sides(struct image_info *out, unsigned width, unsigned height)
{
    out->width = width;
    out->height = height;
    if (width == 0 || height == 0 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE)
        return IMAGE_BAD_DIMENSIONS;
    return IMAGE_OK;
}

/* CRC-32 as PNG defines it (ISO 3309), bit by bit: chunks are few. */
static uint32_t png_crc(const unsigned char *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static enum image_result inspect_png(const unsigned char *d, size_t len, struct image_info *out)
{
    size_t pos = 8;
    int seen_idat = 0;
    unsigned width = 0, height = 0;
    for (int first = 1;; first = 0) {
        if (len - pos < 12)
            return IMAGE_TRUNCATED;
        uint32_t n = be32(d + pos);
        const unsigned char *type = d + pos + 4;
        if (n > len - pos - 12)
            return IMAGE_TRUNCATED;
        if (png_crc(type, 4 + (size_t)n) != be32(d + pos + 8 + n))
            return IMAGE_TRUNCATED;
        if (first) {
            if (memcmp(type, "IHDR", 4) != 0 || n != 13)
                return IMAGE_TRUNCATED;
            width = be32(d + pos + 8);
            height = be32(d + pos + 12);
            if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE)
                width = height = 0;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            seen_idat = 1;
        } else if (memcmp(type, "IEND", 4) == 0) {
            if (!seen_idat)
                return IMAGE_TRUNCATED;
            return sides(out, width, height);
        }
        pos += 12 + (size_t)n;
    }
}

static int jpeg_is_sof(unsigned m)
{
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

static enum image_result inspect_jpeg(const unsigned char *d, size_t len, struct image_info *out)
{
    size_t pos = 2;
    unsigned width = 0, height = 0;
    int seen_sof = 0;
    while (pos < len) {
        if (d[pos] != 0xff)
            return IMAGE_TRUNCATED;
        while (pos < len && d[pos] == 0xff) /* fill bytes */
            pos++;
        if (pos >= len)
            return IMAGE_TRUNCATED;
        unsigned marker = d[pos++];
        if (marker == 0xd9) /* EOI */
            return seen_sof ? sides(out, width, height) : IMAGE_TRUNCATED;
        if ((marker >= 0xd0 && marker <= 0xd7) || marker == 0x01)
            continue; /* no length */
        if (marker == 0x00 || len - pos < 2)
            return IMAGE_TRUNCATED;
        unsigned seglen = be16(d + pos);
        if (seglen < 2 || seglen > len - pos)
            return IMAGE_TRUNCATED;
        if (jpeg_is_sof(marker)) {
            if (seglen < 7)
                return IMAGE_TRUNCATED;
            height = be16(d + pos + 3);
            width = be16(d + pos + 5);
            seen_sof = 1;
        }
        pos += seglen;
        if (marker == 0xda) { /* SOS: entropy-coded data up to the next real marker */
            while (pos + 1 < len &&
                   !(d[pos] == 0xff && d[pos + 1] != 0x00 &&
                     !(d[pos + 1] >= 0xd0 && d[pos + 1] <= 0xd7) && d[pos + 1] != 0xff))
                pos++;
            if (pos + 1 >= len)
                return IMAGE_TRUNCATED;
        }
    }
    return IMAGE_TRUNCATED;
}

static enum image_result inspect_webp(const unsigned char *d, size_t len, struct image_info *out)
{
    if (len < 20 || (size_t)le32(d + 4) + 8 != len)
        return IMAGE_TRUNCATED;
    const unsigned char *chunk = d + 12;
    uint32_t n = le32(d + 16);
    if (n > len - 20)
        return IMAGE_TRUNCATED;
    if (memcmp(chunk, "VP8 ", 4) == 0) {
        if (n < 10 || d[23] != 0x9d || d[24] != 0x01 || d[25] != 0x2a)
            return IMAGE_TRUNCATED;
        return sides(out, (unsigned)(d[26] | d[27] << 8) & 0x3fff,
                     (unsigned)(d[28] | d[29] << 8) & 0x3fff);
    }
    if (memcmp(chunk, "VP8L", 4) == 0) {
        if (n < 5 || d[20] != 0x2f)
            return IMAGE_TRUNCATED;
        uint32_t bits = le32(d + 21);
        return sides(out, (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
    }
    if (memcmp(chunk, "VP8X", 4) == 0) {
        if (n < 10)
            return IMAGE_TRUNCATED;
        return sides(out, le24(d + 24) + 1, le24(d + 27) + 1);
    }
    return IMAGE_UNKNOWN;
}

enum image_result image_inspect(const unsigned char *data, size_t len, struct image_info *out)
{
    memset(out, 0, sizeof(*out));
    if (data == NULL)
        return IMAGE_UNKNOWN;
    if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        out->media_type = "image/png";
        out->extension = "png";
        return inspect_png(data, len, out);
    }
    if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
        out->media_type = "image/jpeg";
        out->extension = "jpg";
        return inspect_jpeg(data, len, out);
    }
    if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) {
        out->media_type = "image/webp";
        out->extension = "webp";
        return inspect_webp(data, len, out);
    }
    return IMAGE_UNKNOWN;
}

const char *image_result_text(enum image_result result)
{
    switch (result) {
    case IMAGE_OK:
        return "a good image";
    case IMAGE_UNKNOWN:
        return "the bytes are not a JPEG, PNG or WebP image";
    case IMAGE_TRUNCATED:
        return "the image is cut short or damaged";
    case IMAGE_BAD_DIMENSIONS:
        return "the image's width or height is 0 or larger than 20000 pixels";
    }
    return "unknown";
}
