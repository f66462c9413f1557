# t/bench.mk - make bench: performance figures against baselines measured
# in the same run (issue 7). Not part of make test.
#
#   make bench            install BENCH_PKGS, build, run t/bench/run.sh
#   make bench-tools      only the benchmark tools (t/bench/*.c)
#   make bench-profile    perf profile of segtls-logparse (t/bench/profile.sh),
#                         of Postfix with and without milters (milter-profile.sh),
#                         the standalone's memory at 1000 connections
#                         (memory-profile.sh, heaptrack)
# BENCH_RUNS=N repeats each measurement N times (median; default 3).
BENCH_PKGS  := pflogsumm time linux-perf strace heaptrack
BENCH_DIR   := $(BUILD)/t/bench
BENCH_TOOLS := $(BENCH_DIR)/gen-pflog $(BENCH_DIR)/segtls-tlsload $(BENCH_DIR)/bench-time \
               $(BENCH_DIR)/bench-nullmilter $(BENCH_DIR)/bench-sslfloor
# t/standalone-load.t drives the standalone with the load tool: built by `make`.
EXTRA_TARGETS += $(BENCH_DIR)/segtls-tlsload

.PHONY: bench-deps bench-tools bench-profile

$(BENCH_DIR)/gen-pflog: $(BENCH_DIR)/gen-pflog.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm
$(BENCH_DIR)/segtls-tlsload: $(BENCH_DIR)/tlsload.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BENCH_DIR)/bench-time: $(BENCH_DIR)/cputime.o
	$(CC) $(LDFLAGS) -o $@ $^
# the null filter speaks segtls-milter's protocol from the same file
$(BENCH_DIR)/nullmilter.o: INCS += -Imilter
$(BENCH_DIR)/bench-nullmilter: $(BENCH_DIR)/nullmilter.o $(BUILD)/milter/steps.o
	$(CC) $(LDFLAGS) -o $@ $^ -lmilter $(LDLIBS)

# OpenSSL's own memory per idle server connection, with segtls's context
$(BENCH_DIR)/bench-sslfloor: $(BENCH_DIR)/sslfloor.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-tools: $(BENCH_TOOLS)

bench-deps:
	@missing=$$(for p in $(BENCH_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "make bench-deps: installing:" $$missing; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing || \
	  { $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; }; \
	else echo "make bench-deps: all packages present"; fi

# Programs that do not build yet are skipped by the benchmarks, not fatal.
bench: deps bench-deps
	-$(MAKE) -k all
	$(MAKE) bench-tools
	t/bench/run.sh

bench-profile: bench-deps
	-$(MAKE) -k all
	$(MAKE) bench-tools
	t/bench/profile.sh
	t/bench/milter-profile.sh
	t/bench/memory-profile.sh
