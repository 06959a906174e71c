/* libFuzzer target: plugins/rle's decoder (our own parser of outside
 * bytes), with a lossless round trip of whatever decodes. */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_codec_one(data, size, "rle-lossless");
}
