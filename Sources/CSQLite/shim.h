#ifndef SPECTRA_CSQLITE_SHIM_H
#define SPECTRA_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
