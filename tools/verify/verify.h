/*
 * tools/verify/verify.h — pbft-verify's own pieces (the audit itself is in
 * tools/common/audit.h).
 */
#ifndef PBFT_VERIFY_H
#define PBFT_VERIFY_H

#include "../common/audit.h"

#define VERIFY_EXIT_OK 0
#define VERIFY_EXIT_FAILED 1
#define VERIFY_EXIT_USAGE 64
#define VERIFY_EXIT_NOINPUT 66
#define VERIFY_EXIT_UNAVAILABLE 69

/* Test hook behind the undocumented --debug-tamper option (tests/e2e/
 * tamper_store.sh): corrupts the stored data of a STOPPED replica. */
int verify_debug_tamper(const char *home, const pbft_genesis_t *genesis, const char *spec);

#endif /* PBFT_VERIFY_H */
