# kvm-vmi: build, test and demo.  All outputs go under build/.
#
#   make            QEMU with kvm-vmi (build/qemu-system-x86_64) and its firmware
#   make guest      the test guest: Debian kernel, busybox initramfs, profile
#   make demo       everything above, then boot the guest and print its syscalls
#   make check      style, unit tests, fuzzers, qtests (TCG), vmi-trace, libvirt, docs
#   make check-kvm  the qtests with -accel kvm: on /dev/kvm if this host has
#                   it, else in an L1 guest under TCG with an SVM CPU
#   make check-fresh  make demo in a minimal Debian 12 root, as a new user
#   make bench      guest-measured cost of kvm-vmi (not a test; prints a table)
#   make bench-kvm  the same for the KVM mechanism (nested unless /dev/kvm)
#   make clean      remove build/ (downloads stay cached in ~/.cache/kvm-vmi)

SHELL := /bin/bash
TOP := $(CURDIR)
B := $(TOP)/build
QSRC := $(B)/qemu-src
QBUILD := $(B)/qemu-build
QEMU := $(B)/qemu-system-x86_64
BUNDLE := $(QBUILD)/qemu-bundle/usr/local/share/qemu
GUEST := $(B)/guest
# The same tests on the newest kernel Debian offers bookworm (backports):
# a newer kallsyms layout and pcpu_hot.
GUEST_BPO := $(B)/guest-backports
# the oldest and newest Debian kernels: bullseye's 5.10 and sid's
GUEST_OLDEST := $(B)/guest-bullseye
GUEST_NEWEST := $(B)/guest-sid
ALL_GUESTS := $(GUEST) $(GUEST_BPO) $(GUEST_OLDEST) $(GUEST_NEWEST)
NESTED := $(B)/nested
# A /dev/kvm this user can open, backed by hardware virtualisation
# (kvm_intel or kvm_amd: a software KVM such as PVM cannot boot a stock
# kernel); otherwise KVM runs nested under TCG.  KVM_VMI_NESTED=1 forces
# the nested run.
HOST_KVM := $(shell [ "$$KVM_VMI_NESTED" != 1 ] && [ -r /dev/kvm ] && \
	[ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || \
	[ -d /sys/module/kvm_amd ]; } && echo yes)
PYTHON ?= python3

# ccache under the home directory; paths rewritten relative to the checkout
# so that fresh clones share the cache.
export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1
# The compiler is identified by its content, not its mtime, so that a
# clean root (make check-fresh) and the host share cache entries.
export CCACHE_COMPILERCHECK := content
# Long steps print their progress; their full output goes to build/*.log.
QUIET := scripts/quiet-build

.PHONY: all deps qemu firmware guest check check-style check-unit check-fuzz fuzz check-qtest check-kvm \
	check-asan check-client check-libvirt check-docs \
	demo check-fresh bench bench-kvm clean sync

all: qemu firmware

# Debian packages (apt-get, as root) when something is missing.
deps:
	@scripts/install-deps

# QEMU is reconfigured only when the pinned source, the patch series or
# the schema list change; our own files are copied over on every build.
$(B)/configured: configure qemu/patches/series $(wildcard qemu/patches/*.patch) \
		qemu/accel/vmi/meson.build
	./configure

sync: $(B)/configured
	@scripts/sync-overlay "$(TOP)" "$(QSRC)"

qemu: sync
	@$(QUIET) $(B)/qemu-build.log "building QEMU" ninja -C $(QBUILD) qemu-system-x86_64
	ln -sf qemu-build/qemu-system-x86_64 $(QEMU)

# Debian's QEMU source has no firmware binaries: SeaBIOS comes from the
# seabios package, the option ROMs are built from QEMU's sources.
firmware: $(BUNDLE)/linuxboot_dma.bin

$(BUNDLE)/linuxboot_dma.bin: $(B)/configured
	mkdir -p $(B)/optionrom $(BUNDLE)
	printf 'TOPSRC_DIR=%s\nCC=gcc\nOBJCOPY=objcopy\nPYTHON=python3\nTARGET_DIR=\n' \
		"$(QSRC)" > $(B)/optionrom/config.mak
	@$(QUIET) $(B)/firmware.log "building option ROMs" \
		$(MAKE) -C $(B)/optionrom -f $(QSRC)/pc-bios/optionrom/Makefile
	cp $(B)/optionrom/*.bin $(BUNDLE)/
	for f in /usr/share/seabios/*.bin; do ln -sf "$$f" $(BUNDLE)/; done

GUEST_INPUTS := scripts/mkguest scripts/vmi-profile tests/guest/init \
		$(wildcard tests/guest/*.c)

guest: deps $(GUEST)/profile.json

$(GUEST)/profile.json: $(GUEST_INPUTS)
	scripts/mkguest $(GUEST)

$(GUEST_BPO)/profile.json: $(GUEST_INPUTS)
	KERNEL_SUITE=bookworm-backports scripts/mkguest $(GUEST_BPO)

$(GUEST_OLDEST)/profile.json: $(GUEST_INPUTS)
	KERNEL_SUITE=bullseye scripts/mkguest $(GUEST_OLDEST)

$(GUEST_NEWEST)/profile.json: $(GUEST_INPUTS)
	KERNEL_SUITE=sid scripts/mkguest $(GUEST_NEWEST)

check: check-style check-unit check-fuzz check-qtest check-client check-libvirt check-docs

# QEMU's checkpatch.pl on the patch series and on our files under qemu/
# and tests/qtest/
check-style: $(B)/configured
	scripts/check-style $(QSRC)

check-unit: deps $(GUEST)/profile.json
	$(MAKE) -C tests/unit B=$(B)/unit check
	tests/unit/test-vmi-profile-mutations $(GUEST)/vmlinuz
	tests/unit/test-vmi-profile-isf $(GUEST)/profile.json

# libFuzzer targets (clang): a short run in check, longer by hand with
# make fuzz FUZZ_SECONDS=N.  Findings go to build/fuzz/findings.
check-fuzz: deps
	$(MAKE) -C tests/fuzz B=$(B)/fuzz fuzz FUZZ_SECONDS=20

fuzz: deps
	$(MAKE) -C tests/fuzz B=$(B)/fuzz fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600)

# Every case under TCG on four kernels: bookworm's 6.1 and 6.12
# (backports), and the oldest and newest Debian ships (bullseye, sid).
check-qtest: all $(addsuffix /profile.json,$(ALL_GUESTS))
	ninja -C $(QBUILD) tests/qtest/vmi-test
	@for g in $(ALL_GUESTS); do \
		echo "== vmi-test on $$(cat $$g/kernel-abi)"; \
		QTEST_QEMU_BINARY=$(QEMU) VMI_GUEST_DIR=$$g \
			$(QBUILD)/tests/qtest/vmi-test --tap || exit 1; \
	done

# scripts/vmi-trace against the real QEMU, on both guest kernels
check-client: all guest $(GUEST_BPO)/profile.json
	$(PYTHON) tests/client/test-sanitise
	$(PYTHON) tests/client/test-shutdown $(QEMU) $(GUEST)
	@for g in $(GUEST) $(GUEST_BPO); do \
		echo "== vmi-trace on $$(cat $$g/kernel-abi)"; \
		$(PYTHON) tests/client/test-vmi-trace $(QEMU) $$g || exit 1; \
	done

# The documents against the schema, QEMU and the test guest: coverage of
# every command, event and member, and every QMP and -vmi example run.
check-docs: all guest
	$(PYTHON) tests/docs/check-docs $(QEMU) $(GUEST)

# Through a real libvirt (a private libvirtd in session mode, as "nobody"
# when run as root): virsh qemu-monitor-command / qemu-monitor-event and
# -vmi in a domain's <qemu:commandline>, checked against the ground truth.
check-libvirt: all guest
	$(PYTHON) tests/libvirt/run --qemu $(QEMU) --guest $(GUEST)

# The same qtests under KVM.  Nested, L1 loads kvm_amd from the test
# guest's kernel package and runs vmi-test there (tests/nested): every case
# on the test guest's kernel, and on the other kernels the cases that read
# the kernel (its entry, layouts, ia32, process events), since nested KVM
# under TCG is slow and the rest only exercises the mechanism again.
KVM_EXTRA_KERNEL_CASES := /x86_64/vmi/filter /x86_64/vmi/lifecycle \
	/x86_64/vmi/memory /x86_64/vmi/syscalls/cmdline /x86_64/vmi/syscalls/pti \
	/x86_64/vmi/syscalls/ia32 /x86_64/vmi/processes/forkexec
check-kvm: all guest $(GUEST_BPO)/profile.json $(GUEST_NEWEST)/profile.json
	ninja -C $(QBUILD) tests/qtest/vmi-test
ifeq ($(HOST_KVM),yes)
	@for g in $(GUEST) $(GUEST_BPO) $(GUEST_NEWEST); do \
		echo "== vmi-test -accel kvm on $$(cat $$g/kernel-abi)"; \
		QTEST_QEMU_BINARY=$(QEMU) VMI_ACCEL=kvm VMI_GUEST_DIR=$$g \
			$(QBUILD)/tests/qtest/vmi-test --tap || exit 1; \
	done
else
	@echo "== vmi-test -accel kvm, nested in an L1 guest (TCG, -cpu EPYC)"
	MKNESTED_EXTRA_CASES="$(KVM_EXTRA_KERNEL_CASES)" \
		scripts/mknested $(NESTED) $(QBUILD) $(GUEST) $(GUEST_BPO) $(GUEST_NEWEST)
	tests/nested/run $(QEMU) $(NESTED)
endif

bench-kvm: all guest
	ninja -C $(QBUILD) tests/qtest/vmi-test
ifeq ($(HOST_KVM),yes)
	QTEST_QEMU_BINARY=$(QEMU) VMI_ACCEL=kvm VMI_BENCH=1 \
		VMI_GUEST_DIR=$(GUEST) $(QBUILD)/tests/qtest/vmi-test --tap \
		-p /x86_64/vmi/bench/storm | grep BENCH
else
	scripts/mknested $(NESTED) $(QBUILD) $(GUEST)
	NESTED_APPEND=vmi.bench tests/nested/run $(QEMU) $(NESTED) \
		/x86_64/vmi/bench/storm | grep BENCH
endif

demo: all guest
	@echo "demo: booting the test guest under TCG with -vmi ...,syscalls=on"
	$(PYTHON) scripts/vmi-demo --qemu $(QEMU) --guest $(GUEST)

# README's first command as a new user runs it, in a minimal Debian 12
# root (debootstrap --variant=minbase, cached in ~/.cache/kvm-vmi): a
# clone of HEAD, apt-get install git make, make demo, a traced openat.
# FRESH_TARGETS="demo check" runs more there.
check-fresh:
	tests/fresh/run $(if $(FRESH_TARGETS),--targets "$(FRESH_TARGETS)")

# The same QEMU and qtests built with AddressSanitizer and UBSan; any report
# fails the run.  Not part of make check: the first build takes long.
ASAN := $(B)/qemu-asan
$(ASAN)/build.ninja: $(B)/configured
	./configure --no-deps --asan

check-asan: all guest $(GUEST_BPO)/profile.json $(ASAN)/build.ninja
	ninja -C $(ASAN) qemu-system-x86_64 tests/qtest/vmi-test
	mkdir -p $(ASAN)/qemu-bundle/usr/local/share/qemu
	cp -P $(BUNDLE)/*.bin $(ASAN)/qemu-bundle/usr/local/share/qemu/
	@for g in $(GUEST) $(GUEST_BPO); do \
		echo "== vmi-test (ASan, UBSan) on $$(cat $$g/kernel-abi)"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=8:fast_unwind_on_malloc=0 \
		LSAN_OPTIONS=suppressions=$(TOP)/tests/asan-suppressions.txt \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		QTEST_QEMU_BINARY=$(ASAN)/qemu-system-x86_64 VMI_GUEST_DIR=$$g \
			$(ASAN)/tests/qtest/vmi-test --tap || exit 1; \
	done

# An unpatched build of the same QEMU is the reference; it shares our firmware.
$(B)/qemu-base/qemu-system-x86_64:
	./configure --no-deps --baseline
	ninja -C $(B)/qemu-base qemu-system-x86_64
	mkdir -p $(B)/qemu-base/qemu-bundle/usr/local/share/qemu
	cp -P $(BUNDLE)/*.bin $(B)/qemu-base/qemu-bundle/usr/local/share/qemu/

bench: all guest
	$(MAKE) $(B)/qemu-base/qemu-system-x86_64
	$(PYTHON) scripts/vmi-bench --qemu $(QEMU) --guest $(GUEST) \
		--baseline-qemu $(B)/qemu-base/qemu-system-x86_64

clean:
	rm -rf $(B)
