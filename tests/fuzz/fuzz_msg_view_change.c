/*
 * tests/fuzz/fuzz_msg_view_change.c — the view-change decoder (pbft/messages.h):
 * strict decode, then encode(decode(x)) == x. See fuzz_msg_common.h.
 */
#include "fuzz_msg_common.h"

FUZZ_MSG_TARGET(MSG_VIEW_CHANGE)
