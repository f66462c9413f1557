# t/module.mk - shell test scripts (executable, TAP). Unit tests are t/unit/*.c.
TEST_SCRIPTS += $(sort $(wildcard t/*.t))

# record.t checks that the record writer never truncates its file: it
# wraps ftruncate (a racing writer appends when it is called).
$(BUILD)/t/record.t: LDFLAGS += -Wl,--wrap=ftruncate

# store_etcd.t talks to a real etcd through lib/util/etcd.c (libsoup)
$(BUILD)/t/store_etcd.t: LDLIBS += $(SOUP_LIBS)
