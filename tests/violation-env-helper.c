/* SPDX-License-Identifier: MIT */
/*
 * tests/violation-env-helper.c - spawned by test-violation.c with
 * SAFEKERN_VIOLATION set: prints the policy the library chose at load
 * time, then reports two violations from one call site.
 */
#include <stdio.h>

#include <safekern/violation.h>

int main(void)
{
	static const char *const names[] = { "abort", "warn", "count" };
	static int object;

	printf("policy=%s\n", names[sk_violation_get_policy()]);
	fflush(stdout);
	for (int i = 0; i < 2; i++)
		sk_violation_report(SK_VIOLATION_USER, &object, "helper report %d", i);
	printf("count=%lu\n", sk_violation_count(SK_VIOLATION_USER));
	return 0;
}
