/* libFuzzer target: the j2k plugin's decoders (JPEG 2000 and HTJ2K through
 * OpenJPEG), input as described in fuzz_codec.h. */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_one(data, size);
}
