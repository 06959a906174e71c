/* libFuzzer target: plugins/jpegls's decoder (our marker walk, geometry
 * checks and CharLS), with a lossless round trip of 4.80 streams. */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_codec_one(data, size, "jpeg-ls-lossless");
}
