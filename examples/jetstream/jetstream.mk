# examples/jetstream: a NATS JetStream work-queue node with a workerpool.h
# pool as its engine (examples/jetstream/README.md). Included by the top
# Makefile; builds only when asked, since it needs libraries `make examples`
# does not: the NATS C client and SQLite (Debian: libnats-dev,
# libsqlite3-dev), and nats-server to run.
#   make jetstream         build worker and jsctl
#   make test-jetstream    the end-to-end test (3 nodes, kill -9, SIGTERM; < 6 min)
#   make bench-jetstream   messages/s for 1, 2, 3 nodes, queue capacity swept
JS_DIR  := $(BUILD)/jetstream
JS_LIBS  = $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats) -lsqlite3 -pthread

$(JS_DIR)/%: examples/jetstream/%.c workerpool.h
	@mkdir -p $(@D)
	$(CC) $(STRICT) $(OPT) -I. $< -o $@ $(JS_LIBS)

jetstream: $(JS_DIR)/worker $(JS_DIR)/jsctl

test-jetstream: jetstream
	@sh examples/jetstream/test.sh $(JS_DIR)

bench-jetstream: jetstream
	@sh examples/jetstream/bench.sh $(JS_DIR)

.PHONY: jetstream test-jetstream bench-jetstream
