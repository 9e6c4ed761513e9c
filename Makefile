# webcall: build the nginx module against Debian's nginx-dev tree, build the
# web client, run the whole stack, and run every test suite.
#
#   make            build build/ngx_http_webcall_module.so and web/dist
#   make deps       install what the build and the tests need (idempotent)
#   make run        deps + build, then nginx (and coturn) on 127.0.0.1:$(PORT)
#   make test       every suite; non-zero exit on any failure
#   make fuzz       the fuzzers for longer (FUZZ_SECONDS each)
#   make bench      the signaling relay's speed and memory with a load
#                   generator of our own (tests/bench/relay.bench.mjs;
#                   BENCH_QUICK=1 for a short run, more in its header)
#   make bench-fleet  what one front holds in front of two nodes: idle
#                   proxied connections, set-ups/s, relay CPU, against a
#                   node alone (tests/bench/fleet.bench.mjs; BENCH_QUICK=1;
#                   docs/scale-out.md)
#   make bench-signal  the older Node.js bench: relay latency, throughput
#                   and memory per connection (tests/bench/signal.bench.mjs)
#   make bench-recovery  recovery times after reloads, drops and restarts
#                   (needs root for network namespaces; docs/benchmarks.md)
#   make bench-setup  call setup time, the product against a bare WebRTC
#                   page (docs/benchmarks.md)
#   make test-fleet  the fleet's chaos test alone (it is part of make e2e):
#                   a node killed under calls in the simulated internet
#                   (root; tests/e2e/fleet.test.mjs)
#   make test-networks  calls across the simulated internet, 5 per pair of
#                   networks: first-try count and setup p80 (root)
#   make screenshots  the README's phone screenshot, from the phone test
#   make deb        build/deb/libnginx-mod-http-webcall_<version>_<arch>.deb
#   make install    without dpkg: module, client, snippets, TURN setup
#                   (DESTDIR, PREFIX=/usr, SYSCONFDIR=/etc, NGX_MODULES)

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := all

PORT         ?= 8080
BUILD        := build
NGX_TREE     ?= /usr/share/nginx/src
NGX_BUILD    := $(BUILD)/nginx
NGX_SRCCOPY  := $(BUILD)/nginx-src
MODULE_SO    := $(BUILD)/ngx_http_webcall_module.so

CORE_SRCS    := $(wildcard module/core/*.cpp)
CORE_HDRS    := $(wildcard module/core/*.h)
GLUE_SRCS    := $(wildcard module/*.cpp)
GLUE_HDRS    := $(wildcard module/*.h)

CXX          ?= g++
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
# the pure units are built as the module builds them (config.make): no
# exceptions, no RTTI
UNIT_CXXFLAGS := -std=c++17 -g -O1 -Wall -Wextra -Werror $(SAN_FLAGS) \
                 -fno-exceptions -fno-rtti \
                 -Imodule/core
UNIT_LIBS    := -lcmocka -lcrypto -ljansson

UNIT_TESTS   := $(patsubst tests/unit/%.cpp,$(BUILD)/unit/%,\
                  $(wildcard tests/unit/test_*.cpp))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cpp,$(BUILD)/fuzz/%,\
                  $(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 20

.PHONY: all module web deps run test unit fuzz fuzz-short integration e2e test-fleet \
        test-web test-networks bench bench-fleet bench-signal bench-recovery \
        bench-setup clean deb install

all: module web

deps:
	tools/deps.sh

# --- the module -----------------------------------------------------------

# nginx-dev ships headers and the configure scripts only; configure a copy of
# the tree so nothing is written under /usr.
$(NGX_BUILD)/Makefile: config config.make
	rm -rf $(NGX_SRCCOPY) $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_TREE) $(NGX_SRCCOPY)
	cd $(NGX_SRCCOPY) && . ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) \
	    --builddir=$(CURDIR)/$(NGX_BUILD) >$(CURDIR)/$(BUILD)/configure.log

module: $(MODULE_SO)

$(MODULE_SO): $(NGX_BUILD)/Makefile $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS) $(GLUE_HDRS)
	$(MAKE) -s -f $(CURDIR)/$(NGX_BUILD)/Makefile -C $(NGX_SRCCOPY) modules
	@# a new inode, so a running nginx keeps its mapped copy intact
	cp $(NGX_BUILD)/ngx_http_webcall_module.so $@.tmp && mv -f $@.tmp $@

# --- the web client --------------------------------------------------------

web:
	tools/build-web.sh

# --- packages and installing -------------------------------------------------

deb: web
	tools/build-deb.sh

PREFIX       ?= /usr
SYSCONFDIR   ?= /etc
NGX_MODULES  ?= $(PREFIX)/lib/nginx/modules
SHARE        := $(PREFIX)/share/webcall
# webcall's own paths move; coturn's (/etc/turnserver.conf) stay.
INSTALL_PATHS := s\#/usr/share/webcall\#$(SHARE)\#g; s\#/etc/webcall\#$(SYSCONFDIR)/webcall\#g; s\#/etc/nginx\#$(SYSCONFDIR)/nginx\#g

# The same files as the package, with the paths in the snippets and in
# webcall-turn-setup following PREFIX and SYSCONFDIR. Snippets already
# there are kept (your edits), the new ones written beside as *.new.
install: all
	install -D -m 644 $(MODULE_SO) $(DESTDIR)$(NGX_MODULES)/ngx_http_webcall_module.so
	rm -rf $(DESTDIR)$(SHARE)/web
	install -d $(DESTDIR)$(SHARE)/web $(DESTDIR)$(SHARE)/turn
	cp -R web/dist/. $(DESTDIR)$(SHARE)/web/
	install -m 755 turn/render.sh $(DESTDIR)$(SHARE)/turn/
	install -m 644 turn/turnserver.conf.template $(DESTDIR)$(SHARE)/turn/
	sed -e '$(INSTALL_PATHS)' debian/webcall-turn-setup > $(BUILD)/webcall-turn-setup
	install -D -m 755 $(BUILD)/webcall-turn-setup $(DESTDIR)$(PREFIX)/sbin/webcall-turn-setup
	install -D -m 644 debian/webcall-turn-setup.8 $(DESTDIR)$(PREFIX)/share/man/man8/webcall-turn-setup.8
	install -d $(DESTDIR)$(SYSCONFDIR)/nginx/snippets
	@for f in webcall-http.conf webcall-server.conf webcall-stream.conf; do \
	    sed -e '$(INSTALL_PATHS)' deploy/nginx/$$f > $(BUILD)/$$f; \
	    dest=$(DESTDIR)$(SYSCONFDIR)/nginx/snippets/$$f; \
	    if [ -e $$dest ] && ! cmp -s $(BUILD)/$$f $$dest; then \
	        install -m 644 $(BUILD)/$$f $$dest.new; echo "kept $$dest; the new one is $$dest.new"; \
	    else install -m 644 $(BUILD)/$$f $$dest; fi; \
	done

# --- running ---------------------------------------------------------------

run: deps all
	PORT=$(PORT) tools/run.sh

# --- tests -----------------------------------------------------------------

test: unit fuzz-short integration test-web e2e
	@echo "make test: every suite passed"

$(BUILD)/unit/%: tests/unit/%.cpp $(CORE_SRCS) $(CORE_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_LIBS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
	    echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; \
	done

$(BUILD)/fuzz/%: tests/fuzz/%.cpp $(wildcard tests/fuzz/*.h) $(CORE_SRCS) $(CORE_HDRS) Makefile
	@mkdir -p $(dir $@)
	clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -fno-exceptions -fno-rtti \
	    -Imodule/core -o $@ $< $(CORE_SRCS) -lcrypto -ljansson

fuzz-short: $(FUZZ_TARGETS)
	@FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) tools/fuzz.sh $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh $(FUZZ_TARGETS)

integration: all
	node --test --test-concurrency=1 tests/integration/

# the client's logic (vitest)
test-web:
	npm run test:web

# The simulated internet's slow line (tests/lib/internet.mjs): this
# kernel has no netem, so delay and loss are an NFQUEUE program.
$(BUILD)/delayline: tests/lib/delayline.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lnetfilter_queue -lnfnetlink

# real Chromium (and Firefox) against nginx, coturn and the built client
E2E_TESTS    := $(wildcard tests/e2e/*.test.mjs)

e2e: all $(BUILD)/delayline
	node --test --test-concurrency=1 $(E2E_TESTS)

test-fleet: all
	node --test tests/e2e/fleet.test.mjs

# every pair of simulated networks, 5 calls each (one each in make test)
test-networks: all $(BUILD)/delayline
	NETWORK_RUNS=5 node --test tests/e2e/networks.test.mjs

# The README's phone screenshot (docs/img/room-call-phone.png), taken by the
# phone test from its call (make test leaves docs/ alone and writes its
# screenshots to test-results/screenshots/ only).
.PHONY: screenshots
screenshots: all
	WEBCALL_SCREENSHOTS=1 node --test tests/e2e/phone.test.mjs

# The load generator and the floor it is compared with: optimised, no
# sanitizers (they would measure the client, not the server). Only the codec
# units it uses are linked, so work in progress elsewhere in module/core
# cannot break the bench's build.
BENCH_CORE   := module/core/ws_frame.cpp module/core/ws_handshake.cpp \
                module/core/utf8.cpp
BENCH_CXXFLAGS := -std=c++17 -O2 -g -Wall -Wextra -Werror -fno-exceptions \
                  -fno-rtti -Imodule/core

$(BUILD)/bench/loadgen: tests/bench/loadgen.cpp $(BENCH_CORE) $(CORE_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(BENCH_CXXFLAGS) -o $@ $< $(BENCH_CORE) -levent -lcrypto

$(BUILD)/bench/floor: tests/bench/floor.c Makefile
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# not part of `make test`: numbers, not pass/fail (docs/benchmarks.md).
# The module only: the relay needs no web client (nor a rebuild of web/dist
# under tests that may be serving it).
bench: module $(BUILD)/bench/loadgen $(BUILD)/bench/floor
	node tests/bench/relay.bench.mjs

# not part of `make test`: numbers, not pass/fail (docs/benchmarks.md,
# docs/scale-out.md). The module and the load generator, as for bench; the
# front is stock nginx.
bench-fleet: module $(BUILD)/bench/loadgen
	node tests/bench/fleet.bench.mjs

# not part of `make test`: numbers, not pass/fail (docs/benchmarks.md)
bench-signal: all
	node tests/bench/signal.bench.mjs

# not part of `make test`: times, not pass/fail (docs/benchmarks.md)
bench-recovery: all
	node tests/bench/recovery.bench.mjs

# not part of `make test`: times, not pass/fail (docs/benchmarks.md)
bench-setup: all
	node tests/bench/setup.bench.mjs

clean:
	rm -rf $(BUILD) web/dist
