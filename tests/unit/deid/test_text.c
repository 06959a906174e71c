/* Text cleaning and dummies; pixel and overlay masks; the mask file. */
#include "test_deid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool has(const struct deid_idents *id, const char *s)
{
    for (size_t i = 0; i < id->n; i++)
        if (strcmp(id->items[i], s) == 0)
            return true;
    return false;
}

START_TEST(test_idents)
{
    struct deid_idents id = { 0 };
    ck_assert_int_eq(deid_idents_add(&id, "Wang^Xiaoming"), 0);
    ck_assert(has(&id, "Wang^Xiaoming"));
    ck_assert(has(&id, "WangXiaoming"));
    ck_assert(has(&id, "Wang Xiaoming"));
    ck_assert(has(&id, "Wang"));
    ck_assert(has(&id, "Xiaoming"));
    ck_assert_int_eq(deid_idents_add(&id, "王^小明=Wang^Xiaoming"), 0);
    ck_assert(has(&id, "王小明WangXiaoming"));
    ck_assert(has(&id, "王小明"));
    ck_assert(has(&id, "王 小明"));
    ck_assert(has(&id, "王"));     /* one CJK character is kept as a token */
    ck_assert(has(&id, "小明"));
    size_t n = id.n;
    ck_assert_int_eq(deid_idents_add(&id, "Wang^Xiaoming"), 0);   /* no duplicates */
    ck_assert_uint_eq(id.n, n);
    ck_assert_int_eq(deid_idents_add(&id, "J^ Li"), 0);
    ck_assert(!has(&id, "J"));     /* one ASCII letter would mask everything */
    ck_assert(has(&id, "Li"));
    ck_assert_int_eq(deid_idents_add(&id, NULL), 0);
    ck_assert_int_eq(deid_idents_add(&id, "   "), 0);
    deid_idents_free(&id);
    ck_assert_uint_eq(id.n, 0);
}
END_TEST

static char *scrub(const char *in, enum deid_date_policy dates, int32_t days)
{
    static char out[512];
    struct deid_idents id = { 0 };
    ck_assert_int_eq(deid_idents_add(&id, "Wang^Xiaoming=王^小明"), 0);
    ck_assert_int_eq(deid_idents_add(&id, "Li^Na"), 0);
    ck_assert_int_eq(deid_idents_add(&id, "Pingyang County Hospital"), 0);
    char *s = deid_scrub(in, &id, dates, days);
    ck_assert_ptr_nonnull(s);
    snprintf(out, sizeof out, "%s", s);
    free(s);
    deid_idents_free(&id);
    return out;
}

START_TEST(test_scrub)
{
    ck_assert_str_eq(scrub("CT head for Wang Xiaoming, MRN 12345678, call 138-0013-8000",
                           DEID_DATES_MASK, 0),
                     "CT head for ***, MRN ***, call ***");
    ck_assert_str_eq(scrub("WANG xiaoming follow-up", DEID_DATES_MASK, 0), "*** follow-up");
    ck_assert_str_eq(scrub("患者王小明，住院号12345678，复查", DEID_DATES_MASK, 0),
                     "患者***，住院号***，复查");
    ck_assert_str_eq(scrub("referred by Li Na (Pingyang County Hospital)", DEID_DATES_MASK, 0),
                     "referred by *** (***)");
    /* ASCII names only as whole words */
    ck_assert_str_eq(scrub("Lisinopril 10 mg, Natrium", DEID_DATES_MASK, 0),
                     "Lisinopril 10 mg, Natrium");
    ck_assert_str_eq(scrub("contact wang.xm@example.cn today", DEID_DATES_MASK, 0),
                     "contact *** today");
    /* short numbers and measurements stay */
    ck_assert_str_eq(scrub("slice 1.25 mm, 120 kV, 3/4 views", DEID_DATES_MASK, 0),
                     "slice 1.25 mm, 120 kV, 3/4 views");
    ck_assert_str_eq(scrub("ID CT1234567", DEID_DATES_MASK, 0), "ID CT***");
    ck_assert_str_eq(scrub("", DEID_DATES_MASK, 0), "");
}
END_TEST

START_TEST(test_scrub_dates)
{
    ck_assert_str_eq(scrub("exam 2024-03-01, prior 20230115", DEID_DATES_MASK, 0),
                     "exam ***, prior ***");
    ck_assert_str_eq(scrub("exam 2024-03-01, prior 20230115", DEID_DATES_KEEP, 0),
                     "exam 2024-03-01, prior 20230115");
    ck_assert_str_eq(scrub("exam 2024-03-01, prior 20230115 and 2024/01/31 2024.01.31",
                           DEID_DATES_SHIFT, -1),
                     "exam 2024-02-29, prior 20230114 and 2024/01/30 2024.01.30");
    /* not a calendar date: an 8-digit number, masked */
    ck_assert_str_eq(scrub("code 20241399", DEID_DATES_KEEP, 0), "code ***");
    ck_assert_str_eq(scrub("2023-02-29", DEID_DATES_KEEP, 0), "***");
}
END_TEST

/* The light scrub of unlisted text: identifying strings, e-mail addresses
 * and dates, but numbers stay. */
START_TEST(test_scrub_light)
{
    struct deid_idents id = { 0 };
    ck_assert_int_eq(deid_idents_add(&id, "HZ-TOWN-HOSP"), 0);
    ck_assert_int_eq(deid_idents_add(&id, "张^三"), 0);
    char *s = deid_scrub_ex("ACC-HZ-TOWN-HOSP 233604007 张三 a@b.cn 2024-03-01", &id,
                            DEID_DATES_MASK, 0, DEID_SCRUB_EMAILS);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "ACC-*** 233604007 *** *** ***");
    free(s);
    s = deid_scrub_ex("x@y.z 12345678 20240301", &id, DEID_DATES_SHIFT, -1, 0);
    ck_assert_str_eq(s, "x@y.z 12345678 20240229");
    free(s);
    deid_idents_free(&id);
}
END_TEST

START_TEST(test_dummies)
{
    ck_assert_str_eq(deid_dummy_string("PN"), "ANONYMIZED");
    ck_assert_str_eq(deid_dummy_string("DA"), "19000101");
    ck_assert_str_eq(deid_dummy_string("TM"), "000000");
    ck_assert_str_eq(deid_dummy_string("DT"), "19000101000000");
    ck_assert_str_eq(deid_dummy_string("AS"), "000Y");
    ck_assert_str_eq(deid_dummy_string("IS"), "0");
    ck_assert_ptr_null(deid_dummy_string("UI"));
    ck_assert_ptr_null(deid_dummy_string("OB"));
    ck_assert_ptr_null(deid_dummy_string("SQ"));
    ck_assert_ptr_null(deid_dummy_string(NULL));
    /* VR length limits: SH, CS and AE hold 16 characters */
    ck_assert_uint_le(strlen(deid_dummy_string("SH")), 16);
    ck_assert_uint_le(strlen(deid_dummy_string("CS")), 16);
    ck_assert_uint_le(strlen(deid_dummy_string("AE")), 16);
}
END_TEST

/* ------------------------------------------------------------------------ */

static struct ferry_frame geometry(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba,
                                   uint16_t bs, uint16_t pr, uint16_t planar, const char *pi)
{
    struct ferry_frame g = { .size = sizeof g, .rows = rows, .columns = cols,
                             .samples_per_pixel = spp, .bits_allocated = ba, .bits_stored = bs,
                             .high_bit = (uint16_t)(bs - 1), .pixel_representation = pr,
                             .planar_configuration = planar };
    snprintf(g.photometric, sizeof g.photometric, "%s", pi);
    return g;
}

START_TEST(test_mask_mono)
{
    struct ferry_frame g = geometry(4, 5, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t px[20];
    memset(px, 200, sizeof px);
    struct deid_rect r = { 1, 2, 3, 1 };   /* columns 1..3 of row 2 */
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(px[i], i >= 11 && i <= 13 ? 0 : 200);

    /* 16 bits: MONOCHROME1 is black at its highest value; signed MONOCHROME2
     * at its most negative, sign-extended */
    uint8_t w[2 * 4];
    struct deid_rect all = { 0, 0, 2, 2 };
    g = geometry(2, 2, 1, 16, 12, 0, 0, "MONOCHROME1");
    ck_assert_int_eq(deid_mask_frame(w, sizeof w, &g, &all, 1), 0);
    ck_assert_int_eq(w[0] | w[1] << 8, 0x0FFF);
    g = geometry(2, 2, 1, 16, 12, 1, 0, "MONOCHROME2");
    ck_assert_int_eq(deid_mask_frame(w, sizeof w, &g, &all, 1), 0);
    ck_assert_int_eq(w[6] | w[7] << 8, 0xF800);
    g = geometry(2, 2, 1, 16, 16, 1, 0, "MONOCHROME1");
    ck_assert_int_eq(deid_mask_frame(w, sizeof w, &g, &all, 1), 0);
    ck_assert_int_eq(w[2] | w[3] << 8, 0x7FFF);
    /* a rectangle past the frame is clipped */
    g = geometry(4, 5, 1, 8, 8, 0, 0, "MONOCHROME2");
    memset(px, 9, sizeof px);
    struct deid_rect big = { 3, 3, 100, 100 };
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &big, 1), 0);
    ck_assert_int_eq(px[18] + px[19], 0);
    ck_assert_int_eq(px[17], 9);
    struct deid_rect outside = { 7, 0, 2, 2 };
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &outside, 1), 0);
}
END_TEST

START_TEST(test_mask_color)
{
    uint8_t px[2 * 2 * 3];
    struct deid_rect r = { 1, 0, 1, 1 };   /* pixel (row 0, column 1) */
    struct ferry_frame g = geometry(2, 2, 3, 8, 8, 0, 0, "RGB");
    memset(px, 77, sizeof px);
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), 0);
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(px[i], i >= 3 && i < 6 ? 0 : 77);
    g = geometry(2, 2, 3, 8, 8, 0, 1, "RGB");   /* colour-by-plane */
    memset(px, 77, sizeof px);
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), 0);
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(px[i], i % 4 == 1 ? 0 : 77);
    g = geometry(2, 2, 3, 8, 8, 0, 0, "YBR_FULL");
    memset(px, 77, sizeof px);
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), 0);
    ck_assert_int_eq(px[3], 0);
    ck_assert_int_eq(px[4], 128);
    ck_assert_int_eq(px[5], 128);
    /* what it cannot mask */
    g = geometry(2, 2, 3, 8, 8, 0, 0, "YBR_FULL_422");
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), -EINVAL);
    g = geometry(2, 2, 3, 8, 8, 0, 0, "RGB");
    ck_assert_int_eq(deid_mask_frame(px, sizeof px - 1, &g, &r, 1), -EINVAL);
    g = geometry(2, 2, 1, 12, 12, 0, 0, "MONOCHROME2");
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), -EINVAL);
    g = geometry(2, 2, 3, 8, 8, 0, 0, "MONOCHROME2");
    ck_assert_int_eq(deid_mask_frame(px, sizeof px, &g, &r, 1), -EINVAL);
}
END_TEST

static bool bit(const uint8_t *b, unsigned i)
{
    return b[i / 8] >> (i % 8) & 1;
}

START_TEST(test_mask_overlay)
{
    uint8_t b[2 * 13];   /* two frames of 10x10 bits = 200 bits */
    struct deid_rect r = { 2, 3, 4, 2 };   /* image columns 2..5, rows 3..4 */
    memset(b, 0xFF, sizeof b);
    ck_assert_int_eq(deid_mask_overlay(b, sizeof b, 10, 10, 1, 1, 1, &r, 1), 0);
    for (unsigned i = 0; i < 100; i++) {
        unsigned row = i / 10, col = i % 10;
        ck_assert_int_eq(bit(b, i), !(row >= 3 && row <= 4 && col >= 2 && col <= 5));
    }
    ck_assert(bit(b, 100));   /* the second frame was not asked for */
    /* an overlay whose origin is at image row 4, column 3 (1-based) */
    memset(b, 0xFF, sizeof b);
    ck_assert_int_eq(deid_mask_overlay(b, sizeof b, 10, 10, 2, 4, 3, &r, 1), 0);
    for (unsigned f = 0; f < 2; f++)
        for (unsigned i = 0; i < 100; i++) {
            unsigned row = i / 10, col = i % 10;   /* image row = row + 3, col = col + 2 */
            ck_assert_int_eq(bit(b, f * 100 + i), !(row + 3 <= 4 && col + 2 >= 2 && col + 2 <= 5));
        }
    ck_assert_int_eq(deid_mask_overlay(b, 12, 10, 10, 1, 1, 1, &r, 1), -EINVAL);
    ck_assert_int_eq(deid_mask_overlay(b, sizeof b, 10, 10, 3, 1, 1, &r, 1), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------------ */

static const char *parse_error(const char *text)
{
    static char msg[256];
    msg[0] = '\0';
    struct deid_masks *m = deid_masks_parse("masks.tsv", text, strlen(text), msg, sizeof msg);
    if (m) {
        deid_masks_free(m);
        return "OK";
    }
    return msg;
}

START_TEST(test_mask_file)
{
    static const char text[] =
        "# manufacturer\tmodel\tsize\trectangles\n"
        "\n"
        "GE Healthcare\tLOGIQ E10\t768x1024\t0,0,1024,64; 0,700,300,68\r\n"
        "  # indented comment\n"
        "Mindray\t*\t600x800\t0,0,800,40\n"
        "Mindray\tDC-70\t600x800\t0,0,800,50 10,560,200,40\n";
    char msg[256];
    struct deid_masks *m = deid_masks_parse("masks.tsv", text, strlen(text), msg, sizeof msg);
    ck_assert_msg(m != NULL, "%s", msg);
    ck_assert_uint_eq(m->n, 3);
    const struct deid_mask_entry *e = deid_masks_find(m, "GE HEALTHCARE ", "LOGIQ E10", 768, 1024);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->n_rects, 2);
    ck_assert_uint_eq(e->rects[1].y, 700);
    ck_assert_uint_eq(e->rects[1].height, 68);
    ck_assert_uint_eq(e->line, 3);
    ck_assert_ptr_null(deid_masks_find(m, "GE Healthcare", "LOGIQ E10", 1024, 768));
    ck_assert_ptr_null(deid_masks_find(m, "GE Healthcare", "LOGIQ E9", 768, 1024));
    e = deid_masks_find(m, "Mindray", "DC-70", 600, 800);    /* exact model beats "*" */
    ck_assert_uint_eq(e->n_rects, 2);
    e = deid_masks_find(m, "mindray", "Resona 7", 600, 800);
    ck_assert_uint_eq(e->line, 5);
    ck_assert_ptr_null(deid_masks_find(m, NULL, "x", 600, 800));
    ck_assert_ptr_null(deid_masks_find(NULL, "Mindray", "x", 600, 800));
    deid_masks_free(m);
}
END_TEST

START_TEST(test_mask_file_errors)
{
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,1,1\n"), "OK");
    ck_assert_str_eq(parse_error("A\tB\t10x10\n"),
                     "masks.tsv:1:1: expected 4 fields separated by tabs (manufacturer, model, "
                     "ROWSxCOLUMNS, rectangles), found 3");
    ck_assert_str_eq(parse_error("# c\nA B 10x10 0,0,1,1\n"),
                     "masks.tsv:2:1: expected 4 fields separated by tabs (manufacturer, model, "
                     "ROWSxCOLUMNS, rectangles), found 1");
    ck_assert_str_eq(parse_error(" \tB\t10x10\t0,0,1,1\n"), "masks.tsv:1:1: empty manufacturer");
    ck_assert_str_eq(parse_error("A\t\t10x10\t0,0,1,1\n"),
                     "masks.tsv:1:3: empty model (write * for every model)");
    ck_assert_str_eq(parse_error("A\tB\t10*10\t0,0,1,1\n"),
                     "masks.tsv:1:5: size \"10*10\" must be ROWSxCOLUMNS, e.g. 768x1024");
    ck_assert_str_eq(parse_error("A\tB\t0x10\t0,0,1,1\n"),
                     "masks.tsv:1:5: size \"0x10\" must be ROWSxCOLUMNS, e.g. 768x1024");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,1\n"),
                     "masks.tsv:1:11: rectangle \"0,0,1\" must be x,y,width,height");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,1,1;1,2,3,4,5\n"),
                     "masks.tsv:1:19: rectangle \"1,2,3,4,5\" must be x,y,width,height");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,-1,1\n"),
                     "masks.tsv:1:11: rectangle \"0,0,-1,1\" must be x,y,width,height");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,0,5\n"),
                     "masks.tsv:1:11: rectangle \"0,0,0,5\" is empty");
    ck_assert_str_eq(parse_error("A\tB\t10x20\t15,0,6,1\n"),
                     "masks.tsv:1:11: rectangle 15,0,6,1 reaches past the 10x20 image");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t ; \n"), "masks.tsv:1:11: no rectangles");
    ck_assert_str_eq(parse_error("A\tB\t10x10\t0,0,1,1\na\tb\t10x10\t0,0,2,2\n"),
                     "masks.tsv:2:1: same device and size as line 1");
    ck_assert_str_eq(parse_error("# nothing\n\n"), "masks.tsv: no devices");

    char msg[256];
    ck_assert_ptr_null(deid_masks_load("/nonexistent/masks.tsv", msg, sizeof msg));
    ck_assert_str_eq(msg, "/nonexistent/masks.tsv: No such file or directory");
    char path[] = "/tmp/ferry-deid-masks-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "X\tY\t4x4\t0,0,2,2\n", 16), 16);
    close(fd);
    struct deid_masks *m = deid_masks_load(path, msg, sizeof msg);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(deid_masks_find(m, "X", "Y", 4, 4));
    deid_masks_free(m);
    unlink(path);
}
END_TEST

TCase *deid_tcase_text(void)
{
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_idents);
    tcase_add_test(tc, test_scrub);
    tcase_add_test(tc, test_scrub_dates);
    tcase_add_test(tc, test_scrub_light);
    tcase_add_test(tc, test_dummies);
    return tc;
}

TCase *deid_tcase_pixels(void)
{
    TCase *tc = tcase_create("pixels");
    tcase_add_test(tc, test_mask_mono);
    tcase_add_test(tc, test_mask_color);
    tcase_add_test(tc, test_mask_overlay);
    return tc;
}

TCase *deid_tcase_masks(void)
{
    TCase *tc = tcase_create("masks");
    tcase_add_test(tc, test_mask_file);
    tcase_add_test(tc, test_mask_file_errors);
    return tc;
}
