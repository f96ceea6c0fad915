/* One of two translation units that each compile their own private copy of
   the implementation (WORKERPOOL_STATIC); static_main.c links both. */
#define WORKERPOOL_STATIC
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "roundtrip.h"
#include "static_units.h"

int unit_b_roundtrip(int jobs) { return roundtrip(jobs); }
wp_create_fn unit_b_create(void) { return wp_pool_create; }
