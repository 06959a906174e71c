/* libFuzzer target: the jpegll plugin's JPEG header scanner. */
#include "jpeg_scan.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jpeg_frame_info fi;
    char msg[200] = "";
    int rc = jpeg_scan(data, size, &fi, msg, sizeof msg);
    if (rc != 0 && msg[0] == '\0')
        abort();
    if (rc == 0 && (fi.precision < 2 || fi.precision > 16 || fi.components == 0 || !fi.has_scan))
        abort();
    return 0;
}
