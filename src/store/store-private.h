/* ferry — store: private declarations. */
#ifndef FERRY_STORE_PRIVATE_H
#define FERRY_STORE_PRIVATE_H

#include "store/store.h"

#include <sqlite3.h>

struct store_index {
    sqlite3 *db;
    char *path;
    bool readonly;
    bool no_sync;  /* storage.fsync false: every commit at synchronous=OFF */
    sqlite3_stmt *stmts[16];
    sqlite3_stmt *qstmts[32]; /* queue.c's, prepared on first use (Q_COUNT_ of them) */
};

/* A prepared statement, reset and with its bindings cleared. */
sqlite3_stmt *store_stmt(struct store_index *idx, int id);

/* Set *err from an SQLite result code; returns the negative errno. */
int store_db_error(struct store_index *idx, int rc, struct ferry_error **err, const char *what);

#endif
