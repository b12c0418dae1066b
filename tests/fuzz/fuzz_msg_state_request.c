/*
 * tests/fuzz/fuzz_msg_state_request.c — the state-request decoder (pbft/messages.h):
 * strict decode, then encode(decode(x)) == x. See fuzz_msg_common.h.
 */
#include "fuzz_msg_common.h"

FUZZ_MSG_TARGET(MSG_STATE_REQUEST)
