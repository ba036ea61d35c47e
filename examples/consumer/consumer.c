/* SPDX-License-Identifier: MIT */
/*
 * examples/consumer/consumer.c - the smallest program built against an
 * installed libsafekern with pkg-config only (see its Makefile).  It
 * reports one misuse of its own through the violation channel, recovers,
 * and reads the counter.
 */
#include <stdio.h>

#include <safekern.h>

int main(void)
{
	static int object;
	size_t bytes;

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	if (sk_check_mul_overflow((size_t)1 << 40, (size_t)1 << 40, &bytes))
		sk_violation_report(SK_VIOLATION_USER, &object, "size overflow caught");

	if (sk_violation_count(SK_VIOLATION_USER) != 1) {
		fprintf(stderr, "consumer: expected one violation, saw %lu\n",
			sk_violation_count(SK_VIOLATION_USER));
		return 1;
	}
	printf("consumer: libsafekern works (%s counted: %lu)\n",
	       sk_violation_kind_name(SK_VIOLATION_USER), sk_violation_count(SK_VIOLATION_USER));
	return 0;
}
