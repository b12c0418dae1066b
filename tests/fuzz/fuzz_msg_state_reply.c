/*
 * tests/fuzz/fuzz_msg_state_reply.c — the state-reply decoder (pbft/messages.h):
 * strict decode, then encode(decode(x)) == x. See fuzz_msg_common.h.
 */
#include "fuzz_msg_common.h"

FUZZ_MSG_TARGET(MSG_STATE_REPLY)
