# t/module.mk - shell test scripts (executable, TAP). Unit tests are t/unit/*.c.
TEST_SCRIPTS += $(sort $(wildcard t/*.t))
