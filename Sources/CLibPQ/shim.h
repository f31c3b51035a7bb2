#ifndef SPECTRA_CLIBPQ_SHIM_H
#define SPECTRA_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
