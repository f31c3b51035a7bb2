#ifndef SPECTRA_CSQLITE_SHIM_H
#define SPECTRA_CSQLITE_SHIM_H
#include <sqlite3.h>

/*
 * A per-thread budget on SQLite's heap. While a thread has one, an allocation that would take
 * what SQLite holds for that thread past it fails, and the statement with SQLITE_NOMEM. Query
 * jobs run their statement on one thread under a budget: SQLITE_LIMIT_LENGTH bounds one value,
 * but a row of many values, all in registers at once, is bounded only by this.
 *
 * Each object file that calls these functions gets its own copy of their static state, so only
 * BulkSQLite's SQLiteMemoryBudget.swift may call them.
 */

/* Bytes the thread may still allocate; negative: no budget. (Function-local, because Swift
 * emits a header's functions but not its variables.) */
static inline sqlite3_int64 *spectra_sqlite_budget_left(void) {
  static _Thread_local sqlite3_int64 budget = -1;
  return &budget;
}

/* SQLite's own allocator, which does the work. */
static inline sqlite3_mem_methods *spectra_sqlite_system_methods(void) {
  static sqlite3_mem_methods methods;
  return &methods;
}

#define spectra_sqlite_budget (*spectra_sqlite_budget_left())
#define spectra_sqlite_system (*spectra_sqlite_system_methods())

static inline void *spectra_sqlite_malloc(int size) {
  if (spectra_sqlite_budget >= 0 && size > spectra_sqlite_budget) return 0;
  void *block = spectra_sqlite_system.xMalloc(size);
  if (block && spectra_sqlite_budget >= 0) spectra_sqlite_budget -= spectra_sqlite_system.xSize(block);
  return block;
}

static inline void spectra_sqlite_free(void *block) {
  if (block && spectra_sqlite_budget >= 0) spectra_sqlite_budget += spectra_sqlite_system.xSize(block);
  spectra_sqlite_system.xFree(block);
}

static inline void *spectra_sqlite_realloc(void *block, int size) {
  sqlite3_int64 old = block ? spectra_sqlite_system.xSize(block) : 0;
  if (spectra_sqlite_budget >= 0 && size - old > spectra_sqlite_budget) return 0;
  void *grown = spectra_sqlite_system.xRealloc(block, size);
  if (grown && spectra_sqlite_budget >= 0) spectra_sqlite_budget -= spectra_sqlite_system.xSize(grown) - old;
  return grown;
}

static inline int spectra_sqlite_size(void *block) { return spectra_sqlite_system.xSize(block); }

static inline int spectra_sqlite_roundup(int size) { return spectra_sqlite_system.xRoundup(size); }

static inline int spectra_sqlite_init(void *data) {
  (void)data;
  return spectra_sqlite_system.xInit(spectra_sqlite_system.pAppData);
}

static inline void spectra_sqlite_shutdown(void *data) {
  (void)data;
  spectra_sqlite_system.xShutdown(spectra_sqlite_system.pAppData);
}

/* Makes SQLite allocate through the budgeted functions. It must run before SQLite is first
 * used; afterwards SQLite refuses with SQLITE_MISUSE. */
static inline int spectra_sqlite_install_budgets(void) {
  int status = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &spectra_sqlite_system);
  if (status != SQLITE_OK) return status;
  sqlite3_mem_methods budgeted = {
    spectra_sqlite_malloc, spectra_sqlite_free, spectra_sqlite_realloc, spectra_sqlite_size,
    spectra_sqlite_roundup, spectra_sqlite_init, spectra_sqlite_shutdown, 0,
  };
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &budgeted);
}

/* Gives the calling thread a budget of `bytes`; a negative value takes it away. */
static inline void spectra_sqlite_set_budget(sqlite3_int64 bytes) { spectra_sqlite_budget = bytes; }

#endif
