/* What static_a.c and static_b.c export: their own roundtrip, and the
   address of their own copy of wp_pool_create. */
#ifndef WP_STATIC_UNITS_H
#define WP_STATIC_UNITS_H

typedef wp_status (*wp_create_fn)(const wp_config *config, wp_pool **out);

int unit_a_roundtrip(int jobs);
int unit_b_roundtrip(int jobs);
wp_create_fn unit_a_create(void);
wp_create_fn unit_b_create(void);

#endif
