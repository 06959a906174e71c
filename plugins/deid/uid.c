/* U: UIDs replaced without a lookup table. The same original UID gives the
 * same new UID in every instance, every burst and every ferry node that
 * shares the secret, so references stay consistent by construction. */
#include "deid-private.h"

#include <errno.h>
#include <string.h>

#define ROOT_STANDARD "1.2.840.10008."

int deid_uid_map(const struct deid_secret *s, const char *uid, size_t len, char *out)
{
    while (len && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
        len--;
    while (len && uid[0] == ' ') {
        uid++;
        len--;
    }
    if (len == 0) {
        out[0] = '\0';
        return 0;
    }
    /* Standard UIDs (SOP Classes, Transfer Syntaxes, coding schemes of the
     * standard...) identify nobody: PS3.15 E.3.9 note 4. */
    if (len <= DEID_UID_MAX && len > strlen(ROOT_STANDARD) &&
        memcmp(uid, ROOT_STANDARD, strlen(ROOT_STANDARD)) == 0) {
        memcpy(out, uid, len);
        out[len] = '\0';
        return (int)len;
    }
    uint8_t h[32];
    int rc = deid_hmac(s, "uid", uid, len, h);
    if (rc < 0)
        return rc;
    /* A UUID of RFC 9562 version 8 (custom), so that the 2.25 form holds a
     * well-formed UUID as PS3.5 B.2 asks. */
    h[6] = (uint8_t)((h[6] & 0x0F) | 0x80);
    h[8] = (uint8_t)((h[8] & 0x3F) | 0x80);
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | h[i];
    char digits[40];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    memcpy(out, "2.25.", 5);
    for (int i = 0; i < n; i++)
        out[5 + i] = digits[n - 1 - i];
    out[5 + n] = '\0';
    return 5 + n;
}
