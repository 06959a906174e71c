/* libFuzzer target: plugins/jpeg's decoder (libjpeg-turbo behind setjmp,
 * colour decisions, geometry checks). Lossy: no round trip. */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_codec_one(data, size, NULL);
}
