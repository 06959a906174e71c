/* libFuzzer target: the jpegll plugin's decoders (JPEG lossless and
 * extended through DCMTK's IJG codecs), input as described in fuzz_codec.h. */
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_one(data, size);
}
