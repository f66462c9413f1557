# lib/soup.mk - libsoup 3 for the etcd client (lib/util/etcd.c).
#
# Only etcd.o is compiled with libsoup's headers, and only the programs
# that use the etcd client (segtls-policyd, the tests of the cluster
# store) link SOUP_LIBS: a static archive leaves etcd.o out of the rest.
# Asked of pkg-config when first used (after make deps), as PKG_CFLAGS is.
SOUP_CFLAGS  = $(eval SOUP_CFLAGS := $$(shell pkg-config --cflags libsoup-3.0 2>/dev/null))$(SOUP_CFLAGS)
SOUP_LIBS    = $(eval SOUP_LIBS := $$(shell pkg-config --libs libsoup-3.0 2>/dev/null))$(SOUP_LIBS)
$(BUILD)/lib/util/etcd.o: CFLAGS += $(SOUP_CFLAGS)
