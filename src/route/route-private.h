/* ferry — routing rules: private declarations shared by the route module's
 * files (compile.c builds, eval.c evaluates and explains, match.c holds the
 * comparisons). */
#ifndef FERRY_ROUTE_PRIVATE_H
#define FERRY_ROUTE_PRIVATE_H

#include "route/route.h"

#include <locale.h>
#include <regex.h>

/* What a condition looks at. */
enum route_field {
    FIELD_CALLING_AE,
    FIELD_CALLED_AE,
    FIELD_PEER,
    FIELD_ATTR,
};

/* How a condition compares. */
enum route_op {
    OP_MATCH,    /* DICOM matching: wildcard if the value has * or ?, else exact */
    OP_EQUALS,   /* exact */
    OP_WILDCARD, /* DICOM wildcard */
    OP_REGEX,    /* POSIX extended, unanchored */
    OP_IN,       /* peer in address blocks */
    OP_RANGE,    /* DA/TM/DT between lo and hi (either may be open) */
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ,
    OP_BETWEEN, /* numeric, inclusive */
    OP_PRESENT, /* present (non-empty) or absent, by cond.present */
};

/* The kind of value an attribute's VR holds, for the operators it allows. */
enum route_vr_class {
    VR_TEXT,    /* string VRs */
    VR_DATE,    /* DA */
    VR_TIME,    /* TM */
    VR_DT,      /* DT */
    VR_NUMBER,  /* IS DS and the binary numbers */
    VR_BULK,    /* OB OW OF OD OL OV UN: only present/absent */
    VR_SEQ,     /* SQ: only present/absent */
};

/* Normalised date/time keys: DA 8 digits, TM 12 (HHMMSSffffff), DT 20. */
#define ROUTE_KEY_SIZE 21

struct route_cond {
    enum route_field field;
    enum route_op op;
    enum route_vr_class vrc;
    uint32_t tag;
    char vr[3];
    char *name;    /* field as written: "calling_ae", "StudyDate" */
    char *opname;  /* operator as written, or NULL for the shorthand */
    size_t n;      /* operands */
    char **text;   /* operands as written (n of them) */
    bool *wild;    /* OP_MATCH: per operand, whether it has wildcards */
    regex_t *re;   /* OP_REGEX: n compiled expressions */
    struct route_cidr *cidr; /* OP_IN: n blocks */
    double num[2];           /* numeric operands */
    char lo[ROUTE_KEY_SIZE]; /* OP_RANGE bounds; "" = open */
    char hi[ROUTE_KEY_SIZE];
    bool present;            /* OP_PRESENT: true for present, false for absent */
};

enum route_node_kind { NODE_COND, NODE_ALL, NODE_ANY, NODE_NOT };

struct route_node {
    enum route_node_kind kind;
    uint32_t depth;  /* 1 for a condition */
    uint32_t cond;   /* NODE_COND: index into rules->conds */
    uint32_t first;  /* groups: children are rules->kids[first .. first+count) */
    uint32_t count;
    bool used;       /* already a child of a group or the match of a route */
};

struct route_rule {
    char *name;
    int match;
    enum route_trigger trigger;
    uint64_t stable_ms;
    enum route_action_kind action;
    struct route_action *actions; /* prepared actions, copied into results */
    size_t n_actions;
    bool cont;
};

struct route_rules {
    struct route_dict dict;
    bool have_dict;
    locale_t c_locale; /* numbers are parsed in the C locale */
    struct route_cond *conds;
    size_t n_conds, cap_conds;
    struct route_node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t *kids;
    size_t n_kids, cap_kids;
    struct route_rule *routes;
    size_t n_routes, cap_routes;
};

/* --- match.c --- */

/* Normalise a DA/TM/DT value (class VR_DATE/VR_TIME/VR_DT) into a key that
 * compares with strcmp. Missing trailing components are filled with their
 * smallest value, or their largest when `upper` (so that "2024" as an upper
 * bound covers the whole year). Returns 0 or -EINVAL. */
int route_datetime_key(enum route_vr_class vrc, const char *text, bool upper,
                       char key[ROUTE_KEY_SIZE]);

/* Parse a decimal number (leading/trailing spaces allowed) in the C locale.
 * Returns 0 or -EINVAL for anything else, or a number that is not finite. */
int route_parse_number(locale_t loc, const char *text, double *out);

/* The VR class of a two-letter VR. */
enum route_vr_class route_vr_class(const char *vr);

/* Grow *buf to at least `need` bytes. 0 or -ENOMEM. */
int route_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* --- eval.c --- */

/* Does the condition hold for ctx? `scratch` is the result's buffer. */
bool route_cond_test(const struct route_rules *rules, const struct route_cond *c,
                     const struct route_ctx *ctx, struct route_result *res);

#endif
