# t/reliab.mk - `make check-valgrind`: the test suite with every segtls
# program under valgrind memcheck (the unit tests directly, the shell
# tests through SEGTLS_VALGRIND=1, see t/lib/tap.sh). Fails when a test
# fails or when any valgrind log reports a memory error or a definite
# leak. VALGRIND_TESTS picks the shell tests (default: all of them).
VALGRIND_TESTS ?= $(TEST_SCRIPTS)
VALGRIND_LOG   := $(abspath $(BUILD))/valgrind
# No --error-exitcode: unit tests fork children that _exit with the
# parent's memory; the logs (children silent) decide.
VALGRIND       := valgrind -q --vgdb=no --child-silent-after-fork=yes --leak-check=full \
                  --errors-for-leak-kinds=definite --show-leak-kinds=definite

.PHONY: check-valgrind
check-valgrind: deps
	$(MAKE) all
	rm -rf $(VALGRIND_LOG) && mkdir -p $(VALGRIND_LOG)
	status=0; \
	G_SLICE=always-malloc G_DEBUG=gc-friendly prove $(PROVE_FLAGS) \
	    --exec '$(VALGRIND) --log-file=$(VALGRIND_LOG)/unit.%p.log' $(UNIT_BINS) || status=1; \
	SEGTLS_VALGRIND=1 SEGTLS_VALGRIND_LOG=$(VALGRIND_LOG) \
	    prove $(PROVE_FLAGS) --exec '' $(VALGRIND_TESTS) || status=1; \
	bad=$$(grep -lE '^==[0-9]+== +(Invalid|Conditional|Use of uninit|Syscall param|Mismatched|.*definitely lost)' \
	    $(VALGRIND_LOG)/*.log 2>/dev/null); \
	if [ -n "$$bad" ]; then echo "check-valgrind: errors in:"; for f in $$bad; do echo "== $$f"; head -40 $$f; done; status=1; \
	else echo "check-valgrind: valgrind logs clean ($$(ls $(VALGRIND_LOG) | wc -l) processes)"; fi; \
	exit $$status
