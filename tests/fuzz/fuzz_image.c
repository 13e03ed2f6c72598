/* libFuzzer target for image_inspect: any bytes must give an answer, never
 * a read out of bounds, and a good answer must be a consistent one. Run
 * with `make fuzz` (clang; not part of make test). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    struct image_info info;
    enum image_result r = image_inspect(copy, size, &info);
    if (r == IMAGE_OK && (info.media_type == NULL || info.width == 0 || info.height == 0 ||
                          info.width > IMAGE_MAX_SIDE || info.height > IMAGE_MAX_SIDE))
        abort();
    free(copy);
    return 0;
}
