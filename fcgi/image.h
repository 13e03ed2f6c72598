/*
 * image: tells what an uploaded picture is from its bytes, never from its
 * name or declared type, and reads its dimensions without decoding it.
 * JPEG (segments walked from SOI to EOI), PNG (chunks walked from IHDR to
 * IEND, each CRC checked) and WebP (RIFF length, VP8/VP8L/VP8X header).
 * Anything else, anything cut short and anything with impossible sizes is
 * refused. Pure: no I/O, no allocation.
 */
#ifndef PORTAL_IMAGE_H
#define PORTAL_IMAGE_H

#include <stddef.h>

#define IMAGE_MAX_SIDE 20000

enum image_result {
    IMAGE_OK,
    IMAGE_UNKNOWN,        /* not a JPEG, PNG or WebP */
    IMAGE_TRUNCATED,      /* starts like one, but its structure ends early or is broken */
    IMAGE_BAD_DIMENSIONS, /* a side of 0 or more than IMAGE_MAX_SIDE */
};

struct image_info {
    const char *media_type; /* "image/jpeg", "image/png" or "image/webp" (static) */
    const char *extension;  /* "jpg", "png", "webp" */
    unsigned width, height;
};

enum image_result image_inspect(const unsigned char *data, size_t len, struct image_info *out);

/* A sentence for the problem's detail. */
const char *image_result_text(enum image_result result);

#endif
