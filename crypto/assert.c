/*
 * crypto/assert.c — storage for the per-thread assertion context declared in
 * pbft/common.h. It lives in the lowest module so every binary links it.
 */
#include "pbft/common.h"

_Thread_local char pbft_assert_context[128];
