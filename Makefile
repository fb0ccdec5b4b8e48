# imgw: one non-recursive Makefile. Everything lands in build/.
#
#   make            build all programs and libraries
#   make demo       install what is missing, build, run the two-account demo
#   make check      install what is missing, build, run every test
#   make check-asan the whole integration suite on the sanitizer build
#   make bench      run the benchmarks (ratios against reference tools)
#   make fuzz       build the libFuzzer targets (clang)
#   make install    install into $(DESTDIR)$(PREFIX): programs, library,
#                   header, imgw.pc, man pages, systemd units, docs
#   make uninstall  remove what make install put there

PREFIX	?= /usr/local
VERSION	:= 0.1.0
B	:= build
O	:= $(B)/obj

PKGS	:= libwebsockets msgpack jansson sqlite3 openssl
CC	?= cc
WARN	:= -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
	   -Wno-unused-parameter
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden \
	   -MMD -MP -Iproto -Idb -Iclient-lib
ifdef WERROR
CFLAGS	+= -Werror
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS	= $(PKG_LIBS) -lev

PROTO_SRCS	:= proto/buf.c proto/stomp.c proto/rpc.c proto/log.c proto/paths.c
DB_SRCS		:= db/store.c db/store_schema.c db/store_msg.c db/store_search.c db/store_conv.c \
		   db/store_outbox.c db/store_event.c db/store_obj.c db/store_maint.c \
		   db/store_bulk.c \
		   $(B)/gen/schema.c
# What a program built from DB_SRCS links besides (the event log's encoding).
DB_NEEDS	:= proto/buf.c proto/rpc.c
DB_LIBS		= $(shell pkg-config --libs sqlite3 msgpack jansson)
DAEMON_SRCS	:= daemon/main.c daemon/config.c daemon/upstream.c daemon/session.c \
		   daemon/listener.c daemon/client.c daemon/outq.c \
		   daemon/dispatch.c \
		   daemon/m_session.c daemon/m_message.c daemon/events.c \
		   daemon/outbox.c daemon/m_conversation.c daemon/m_db.c \
		   daemon/social.c daemon/forward.c daemon/m_friend.c \
		   daemon/m_batch.c daemon/caps.c \
		   daemon/m_group.c daemon/state.c daemon/conv.c \
		   daemon/pending.c daemon/sync.c daemon/inbound.c daemon/intake.c \
		   daemon/arg.c daemon/snippet.c
SERVER_SRCS	:= server/main.c server/token.c server/ws.c server/broker.c \
		   server/sstore.c server/sstore_msg.c server/sstore_event.c \
		   server/sstore_group.c server/sstore_social.c server/req.c \
		   server/idlist.c server/chat.c server/group.c \
		   server/group_member.c server/friend.c \
		   server/social.c server/route.c server/sync.c \
		   server/deliver.c
LIB_SRCS	:= client-lib/imgw.c proto/buf.c proto/rpc.c proto/paths.c
CLI_SRCS	:= cli/imgw.c

obj = $(patsubst %.c,$(O)/%.o,$(1))

PROTO_OBJS	:= $(call obj,$(PROTO_SRCS))
DAEMON_OBJS	:= $(call obj,$(DAEMON_SRCS) $(DB_SRCS)) $(PROTO_OBJS)
SERVER_OBJS	:= $(call obj,$(SERVER_SRCS)) $(PROTO_OBJS)
LIB_OBJS	:= $(call obj,$(LIB_SRCS))
CLI_OBJS	:= $(call obj,$(CLI_SRCS))

PROGS	:= $(B)/imserver $(B)/imgwd $(B)/imgw $(B)/libimgw.so $(B)/libimgw.a

# Unit tests: one per module, linked with that module only, under ASan/UBSan.
UNIT_TESTS	:= $(B)/tests/test_stomp $(B)/tests/test_rpc $(B)/tests/test_buf \
		   $(B)/tests/test_store $(B)/tests/test_caps $(B)/tests/test_snippet \
		   $(B)/tests/test_powercut $(B)/tests/test_pending \
		   $(B)/tests/test_conv $(B)/tests/test_outbox $(B)/tests/test_inbound \
		   $(B)/tests/test_events $(B)/tests/test_batch $(B)/tests/test_outq
SAN		:= -fsanitize=address,undefined -fno-omit-frame-pointer

.PHONY: all demo run check unit integration bench fuzz install uninstall clean deps \
	check-asan
all: $(PROGS)

# Install missing Debian packages once; objects wait for it.
$(B)/.deps: scripts/install-deps
	@mkdir -p $(B)
	@scripts/install-deps
	@touch $@
deps: $(B)/.deps

# Each directory sees only the headers it may use: cli/ only imgw.h (not
# the codecs, not the store), client-lib/ and server/ the codecs, db/ the
# codecs' buffers, daemon/ the codecs and the store.
INC_cli		:= -Iclient-lib
INC_client-lib	:= -Iproto -Iclient-lib
INC_proto	:= -Iproto
INC_db		:= -Iproto -Idb
INC_daemon	:= -Iproto -Idb
INC_server	:= -Iproto
INC_bench	:= -Iproto -Idb -Iclient-lib
OBJ_CFLAGS	= $(filter-out -I%,$(CFLAGS)) $(INC_$(firstword $(subst /, ,$<)))

$(O)/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(OBJ_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/imgwd: $(DAEMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/imserver: $(SERVER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/libimgw.so: $(LIB_OBJS) client-lib/libimgw.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libimgw.so.0 \
	    -Wl,--version-script=client-lib/libimgw.map -o $@ $(LIB_OBJS) \
	    $(shell pkg-config --libs msgpack jansson)

$(B)/imgw.pc: client-lib/imgw.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(B)/libimgw.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The CLI links the static library so build/imgw runs from anywhere.
$(B)/imgw: $(CLI_OBJS) $(B)/libimgw.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(B)/libimgw.a \
	    $(shell pkg-config --libs msgpack jansson)

# db/schema.sql as a C string (store_schema_sql), so imgwd carries its schema.
$(B)/gen/schema.c: db/schema.sql
	@mkdir -p $(dir $@)
	{ echo '/* Generated from db/schema.sql by the Makefile. Do not edit. */'; \
	  echo 'extern const char store_schema_sql[];'; \
	  echo 'const char store_schema_sql[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@

$(B)/tests/test_stomp: tests/unit/test_stomp.c proto/stomp.c proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^

$(B)/tests/test_buf: tests/unit/test_buf.c proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^

$(B)/tests/test_outq: tests/unit/test_outq.c daemon/outq.c proto/buf.c \
    proto/log.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^

$(B)/tests/test_rpc: tests/unit/test_rpc.c proto/rpc.c proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $^ \
	    $(shell pkg-config --libs msgpack jansson)

$(B)/tests/test_store: tests/unit/test_store.c $(DB_SRCS) $(DB_NEEDS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -o $@ $^ $(DB_LIBS)

$(B)/tests/test_snippet: tests/unit/test_snippet.c daemon/snippet.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -Idaemon -o $@ $^

$(B)/tests/test_caps: tests/unit/test_caps.c daemon/caps.c proto/log.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ \
	    $(shell pkg-config --libs jansson)

# Daemon modules with the transport stubbed below their hooks.
$(B)/tests/test_pending: tests/unit/test_pending.c daemon/pending.c daemon/caps.c \
    proto/stomp.c proto/buf.c proto/log.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ \
	    $(shell pkg-config --libs jansson) -lev

$(B)/tests/test_conv: tests/unit/test_conv.c daemon/conv.c daemon/arg.c proto/rpc.c \
    proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ \
	    $(shell pkg-config --libs msgpack jansson)

# The daemon's shared leaves: state, ids, caps, the store, the protocols.
UNIT_LEAF_SRCS	:= daemon/state.c daemon/conv.c daemon/caps.c $(DB_SRCS) \
		   proto/stomp.c proto/rpc.c proto/buf.c proto/log.c
UNIT_LEAF_LIBS	= $(shell pkg-config --libs sqlite3 msgpack jansson) -lev
$(B)/tests/test_outbox: tests/unit/test_outbox.c daemon/outbox.c daemon/pending.c \
    daemon/events.c daemon/client.c daemon/outq.c $(UNIT_LEAF_SRCS) \
    | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ $(UNIT_LEAF_LIBS)
$(B)/tests/test_inbound: tests/unit/test_inbound.c daemon/inbound.c daemon/sync.c \
    daemon/pending.c daemon/events.c daemon/client.c daemon/outq.c \
    $(UNIT_LEAF_SRCS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ $(UNIT_LEAF_LIBS)
$(B)/tests/test_events: tests/unit/test_events.c daemon/events.c daemon/client.c \
    daemon/outq.c $(UNIT_LEAF_SRCS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ $(UNIT_LEAF_LIBS)
$(B)/tests/test_batch: tests/unit/test_batch.c daemon/m_batch.c daemon/dispatch.c \
    daemon/client.c daemon/outq.c daemon/arg.c $(UNIT_LEAF_SRCS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Idaemon -o $@ $^ $(UNIT_LEAF_LIBS)

# The Node.js example's dependency, installed from its lock file when that
# changes (tests/integration/test_rpc_clients.py runs the Node demo).
$(B)/.node-deps: examples/node/package.json examples/node/package-lock.json | $(B)/.deps
	@cd examples/node && npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

# install-deps runs first (check's first prerequisite), so everything below,
# clang's fuzz targets included, is built with what it installed: nothing is
# decided while this file is read. tests/run counts the runner's self-test,
# the positive controls, the unit tests, the sanitizer pass, the fuzzers and
# the integration scenarios.
check: $(B)/.deps all $(UNIT_TESTS) $(B)/.node-deps
	@SANITIZE_TESTS="$(SANITIZE_TESTS)" tests/run tests/run_selftest \
	    tests/controls/run tests/layering/check.py $(UNIT_TESTS) \
	    $(CHECK_EXTRA)

demo: $(B)/.deps all
	@scripts/demo

run: demo

# bench/run: every measurement beside its reference, the JSON and the plots
# in bench/results/ (BENCH_ARGS: e.g. --scale 100000,1000000); bench/readme
# writes the README's Performance section from the newest full run.
bench: $(B)/.deps all
	@IMGW_DB_SRCS="$(DB_SRCS)" IMGW_PROTO_SRCS="$(PROTO_SRCS)" bench/run $(BENCH_ARGS)
bench-readme:
	@bench/readme
.PHONY: bench-readme

FUZZ_TARGETS := $(B)/fuzz/fuzz_stomp $(B)/fuzz/fuzz_rpc $(B)/fuzz/fuzz_intake
FUZZ_CFLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined
fuzz: $(FUZZ_TARGETS)
$(B)/fuzz/fuzz_stomp: tests/fuzz/fuzz_stomp.c proto/stomp.c proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iproto -o $@ $^
$(B)/fuzz/fuzz_rpc: tests/fuzz/fuzz_rpc.c proto/rpc.c proto/buf.c | $(B)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iproto $(PKG_CFLAGS) \
	    -o $@ $^ $(shell pkg-config --libs msgpack jansson)
# The server's JSON intake: the session, message and event handlers, the
# event log and an in-memory store; the rest of imgwd is stubbed in the target.
FUZZ_INTAKE_SRCS := daemon/session.c daemon/m_message.c daemon/social.c \
		   daemon/forward.c daemon/state.c daemon/conv.c daemon/arg.c \
		   daemon/pending.c daemon/sync.c daemon/inbound.c daemon/intake.c \
		   daemon/events.c daemon/outq.c daemon/outbox.c daemon/caps.c \
		   daemon/snippet.c \
		   $(DB_SRCS) \
		   proto/stomp.c proto/rpc.c proto/buf.c proto/log.c
$(B)/fuzz/fuzz_intake: tests/fuzz/fuzz_intake.c $(FUZZ_INTAKE_SRCS) | $(B)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -std=c11 -D_GNU_SOURCE -Iproto -Idb -Idaemon \
	    $(PKG_CFLAGS) -o $@ $^ $(LIBS)

# Positive controls (tests/controls/run): faulty programs built with the very
# flags of the unit tests and the sanitizer build ($(SAN)) and of the fuzz
# targets ($(FUZZ_CFLAGS)); the check fails unless each fault is caught.
CONTROLS	:= $(B)/controls/asan_overflow $(B)/controls/lsan_leak \
		   $(B)/controls/ubsan_overflow $(B)/controls/fuzz_asan \
		   $(B)/controls/fuzz_ubsan
$(B)/controls/%: tests/controls/%.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $<
$(B)/controls/fuzz_%: tests/controls/fuzz_%.c | $(B)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $<

# The sanitizer build: every program with ASan and UBSan, objects apart in
# build/asan/obj. `make check-asan` runs the whole integration suite on it
# (tests/sanitize fails on any sanitizer report, leaks at a clean exit
# included); `make check` runs the bounded subset SANITIZE_TESTS, and each
# fuzz target for FUZZ_SECONDS.
ASAN_B		:= $(B)/asan
asan_obj	= $(patsubst %.c,$(ASAN_B)/obj/%.o,$(1))
ASAN_PROGS	:= $(ASAN_B)/imserver $(ASAN_B)/imgwd $(ASAN_B)/imgw \
		   $(ASAN_B)/libimgw.so $(ASAN_B)/libimgw.a
SANITIZE_TESTS	?= test_shutdown.py test_soak.py test_messaging.py test_offline.py \
		   test_robustness.py test_upstream.py
CHECK_EXTRA	= tests/sanitize tests/fuzz/run_fuzzers

$(ASAN_B)/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(OBJ_CFLAGS) $(SAN) $(PKG_CFLAGS) -c -o $@ $<
$(ASAN_B)/imgwd: $(call asan_obj,$(DAEMON_SRCS) $(DB_SRCS) $(PROTO_SRCS))
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LIBS)
$(ASAN_B)/imserver: $(call asan_obj,$(SERVER_SRCS) $(PROTO_SRCS))
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LIBS)
$(ASAN_B)/libimgw.so: $(call asan_obj,$(LIB_SRCS)) client-lib/libimgw.map
	$(CC) $(CFLAGS) $(SAN) -shared -Wl,-soname,libimgw.so.0 \
	    -Wl,--version-script=client-lib/libimgw.map -o $@ \
	    $(call asan_obj,$(LIB_SRCS)) $(shell pkg-config --libs msgpack jansson)
$(ASAN_B)/libimgw.a: $(call asan_obj,$(LIB_SRCS))
	rm -f $@
	ar rcs $@ $^
$(ASAN_B)/imgw: $(call asan_obj,$(CLI_SRCS)) $(ASAN_B)/libimgw.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(shell pkg-config --libs msgpack jansson)

check: $(ASAN_PROGS) $(FUZZ_TARGETS) $(CONTROLS)
check-asan: $(B)/.deps $(ASAN_PROGS) $(B)/controls/asan_overflow
	@tests/sanitize

# Where install puts things: programs, library, header, pkg-config file,
# manual pages, systemd units (@BINDIR@ and @DOCDIR@ filled in) and docs.
BINDIR		= $(PREFIX)/bin
LIBDIR		= $(PREFIX)/lib
INCLUDEDIR	= $(PREFIX)/include
MANDIR		= $(PREFIX)/share/man
DOCDIR		= $(PREFIX)/share/doc/imgw
SYSTEMDUSERDIR	= $(PREFIX)/lib/systemd/user
SYSTEMDSYSTEMDIR = $(PREFIX)/lib/systemd/system
USER_UNITS	:= imgwd.socket imgwd.service imgwd@.socket imgwd@.service
SYSTEM_UNITS	:= imserver.service
UNIT_SED	= -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

# imgw.pc is written here, not taken from build/, so that its prefix is the
# one of this install even when build/ was made with another PREFIX.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDUSERDIR) \
	    $(DESTDIR)$(SYSTEMDSYSTEMDIR)
	install -m 755 $(B)/imgwd $(B)/imgw $(B)/imserver $(DESTDIR)$(BINDIR)
	install -m 755 $(B)/libimgw.so $(DESTDIR)$(LIBDIR)/libimgw.so.$(VERSION)
	ln -sf libimgw.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libimgw.so.0
	ln -sf libimgw.so.0 $(DESTDIR)$(LIBDIR)/libimgw.so
	install -m 644 $(B)/libimgw.a $(DESTDIR)$(LIBDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    client-lib/imgw.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/imgw.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/imgw.pc
	install -m 644 client-lib/imgw.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 man/imgw.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/libimgw.3 $(DESTDIR)$(MANDIR)/man3
	install -m 644 man/imgwd.8 man/imserver.8 $(DESTDIR)$(MANDIR)/man8
	for u in $(USER_UNITS); do \
	    sed $(UNIT_SED) contrib/systemd/$$u > $(DESTDIR)$(SYSTEMDUSERDIR)/$$u && \
	    chmod 644 $(DESTDIR)$(SYSTEMDUSERDIR)/$$u || exit 1; \
	done
	for u in $(SYSTEM_UNITS); do \
	    sed $(UNIT_SED) contrib/systemd/$$u > $(DESTDIR)$(SYSTEMDSYSTEMDIR)/$$u && \
	    chmod 644 $(DESTDIR)$(SYSTEMDSYSTEMDIR)/$$u || exit 1; \
	done
	install -m 644 contrib/imgwd.conf.example README.md proto/RPC.md \
	    $(DESTDIR)$(DOCDIR)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/imgwd $(DESTDIR)$(BINDIR)/imgw \
	    $(DESTDIR)$(BINDIR)/imserver $(DESTDIR)$(LIBDIR)/libimgw.so* \
	    $(DESTDIR)$(LIBDIR)/libimgw.a $(DESTDIR)$(LIBDIR)/pkgconfig/imgw.pc \
	    $(DESTDIR)$(INCLUDEDIR)/imgw.h $(DESTDIR)$(MANDIR)/man1/imgw.1 \
	    $(DESTDIR)$(MANDIR)/man3/libimgw.3 $(DESTDIR)$(MANDIR)/man8/imgwd.8 \
	    $(DESTDIR)$(MANDIR)/man8/imserver.8 \
	    $(addprefix $(DESTDIR)$(SYSTEMDUSERDIR)/,$(USER_UNITS)) \
	    $(addprefix $(DESTDIR)$(SYSTEMDSYSTEMDIR)/,$(SYSTEM_UNITS)) \
	    $(DESTDIR)$(DOCDIR)/imgwd.conf.example $(DESTDIR)$(DOCDIR)/README.md \
	    $(DESTDIR)$(DOCDIR)/RPC.md
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# ---- Packaging (issue 14): shell completion, Python and Node bindings ----
# make install also puts the bash completion of imgw where bash-completion
# looks; debian/ packages the same tree (dpkg-buildpackage -b).
COMPLETIONDIR	= $(PREFIX)/share/bash-completion/completions

.PHONY: install-completion uninstall-completion
install: install-completion
install-completion:
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 contrib/bash-completion/imgw $(DESTDIR)$(COMPLETIONDIR)/imgw
uninstall: uninstall-completion
uninstall-completion:
	rm -f $(DESTDIR)$(COMPLETIONDIR)/imgw

# examples/node depends on bindings/node through a file: dependency that npm
# ci copies (examples/node/.npmrc): copy it again when the package changes.
$(B)/.node-deps: bindings/node/package.json bindings/node/index.js \
		 bindings/node/index.d.ts bindings/node/api.d.ts
# ---- end of packaging ----

# ---- Power loss (issue 15): the power-cut test of the cache ----
# test_powercut (in UNIT_TESTS, so make check runs it: 300 cuts, and 75
# with durability normal, which must lose answered sends) drives the
# store through a VFS shim that loses power at random writes and syncs
# (tests/powercut/pcvfs.c) and checks proto/RPC.md's "Durability" after
# each cut. make powercut cuts POWERCUT_CUTS times (POWERCUT_SEED repeats
# a run).
POWERCUT_CUTS	?= 5000
.PHONY: powercut
$(B)/tests/test_powercut: tests/powercut/test_powercut.c tests/powercut/pcvfs.c \
    $(DB_SRCS) $(DB_NEEDS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -Itests/unit -Itests/powercut -o $@ $^ \
	    $(DB_LIBS)
powercut: $(B)/tests/test_powercut
	POWERCUT_CUTS=$(POWERCUT_CUTS) $(B)/tests/test_powercut
# ---- end of power loss ----

# ---- Soak (issue 15): hours of load ----
# make soak runs tests/soak/soak.py (not part of make check): four gateways,
# 1,000 local clients, sends, group traffic, revokes, stalling subscribers
# and server and gateway restarts for SOAK_SECONDS; it samples RSS, open
# descriptors and database bytes per message, fails on growth without bound
# (the rule is in the script's header) or on any message lost, duplicated
# or stuck, and writes its samples and a plot to tests/soak/results/.
SOAK_SECONDS	?= 600
.PHONY: soak
soak: $(B)/.deps all
	SOAK_SECONDS=$(SOAK_SECONDS) /usr/bin/python3 tests/soak/soak.py
# ---- end of soak ----

# The store's side of ingest and search, timed through the store API
# (tests/perf/store_ingest.c): make store-ingest STORE_INGEST_N=100000.
STORE_INGEST_N	?= 100000
.PHONY: store-ingest
$(B)/tests/store_ingest: tests/perf/store_ingest.c $(DB_SRCS) $(DB_NEEDS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(DB_LIBS)
store-ingest: $(B)/tests/store_ingest
	@d=$$(mktemp -d) && $(B)/tests/store_ingest $$d/store.db $(STORE_INGEST_N); \
	    rc=$$?; rm -rf $$d; exit $$rc

clean:
	rm -rf $(B)

-include $(shell find $(O) $(ASAN_B)/obj -name '*.d' 2>/dev/null)
