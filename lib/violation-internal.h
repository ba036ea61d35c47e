/* SPDX-License-Identifier: MIT */
/*
 * lib/violation-internal.h - private helpers of the reporting channel.
 * Never installed.
 */
#ifndef SAFEKERN_LIB_VIOLATION_INTERNAL_H
#define SAFEKERN_LIB_VIOLATION_INTERNAL_H

#include <safekern/violation.h>

/*
 * SK__RET_IP - the return address of the current library function: where
 * the consumer called it.  Out-of-line library functions pass it to
 * sk__violation() so the report names the consumer's code, not ours.
 */
#define SK__RET_IP (__builtin_return_address(0))

/* Parses "abort", "warn" or "count"; -EINVAL for anything else. */
int sk__violation_parse_policy(const char *value, enum sk_violation_policy *out);

#endif
