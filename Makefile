# Build, install and package libpii as a C library.
#
#   make                       build target/release: libpii.so (SONAME libpii.so.0), libpii.a,
#                              the libpii.so.0 link, ONNX Runtime beside it, and pii.pc /
#                              pii-static.pc for the checkout (target/release/pkgconfig)
#   make install PREFIX=/opt/pii [DESTDIR=/tmp/stage]
#   make uninstall PREFIX=/opt/pii
#   make dist                  target/dist/pii-<version>-linux-x86_64.tar.gz (the install layout)
#
# Why make: it is on every machine that builds C, a packager knows PREFIX/DESTDIR, and the
# layout below is a dozen files; cargo-c would be one more tool to build first, and CMake is
# only needed by CMake users (who get lib/cmake/pii/ without having CMake at install time).
#
# Installed layout (PREFIX):
#   include/pii.h, include/pii.hpp
#   lib/libpii.so.$(VERSION)  libpii.so.$(MAJOR) -> it  libpii.so -> libpii.so.$(MAJOR)  libpii.a
#   lib/libonnxruntime.so.$(ORT_VERSION)  libonnxruntime.so.1 -> it   (found through $ORIGIN;
#       INSTALL_ORT=0 leaves it out, for a system that provides ONNX Runtime itself)
#   lib/pkgconfig/pii.pc, lib/pkgconfig/pii-static.pc
#   lib/cmake/pii/piiConfig.cmake, piiConfigVersion.cmake   (imported targets pii::pii, pii::pii_static)
#   share/pii/model/   the shipped model (pkg-config --variable=modeldir pii; CMake PII_MODEL_DIR)
#   share/doc/pii/     README.md, licences (ONNX Runtime's beside ours)
# The .pc and CMake files locate the prefix from where they lie, so the tree can be moved
# (the release archive is the same tree).

VERSION     := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
MAJOR       := $(firstword $(subst ., ,$(VERSION)))
ORT_VERSION := 1.31.1
PREFIX      ?= /usr/local
DESTDIR     ?=
INSTALL_ORT ?= 1
MODEL       ?= data/model
CARGO       ?= cargo
STRIP       ?= strip

REL         := target/release
ORT_DIR     := .deps/onnxruntime
# The system libraries a static libpii.a needs (rustc --print native-static-libs).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
DIST_NAME   := pii-$(VERSION)-linux-x86_64
DIST_DIR    := target/dist

LIB         := $(DESTDIR)$(PREFIX)/lib
INC         := $(DESTDIR)$(PREFIX)/include
SHARE       := $(DESTDIR)$(PREFIX)/share

.PHONY: all lib install uninstall dist clean-dist

all: lib

# The cargo build, plus what an installation has beside libpii.so: the soname link, ONNX
# Runtime, and .pc files that point at this checkout (PKG_CONFIG_PATH=$PWD/target/release/pkgconfig).
lib:
	$(CARGO) build --release -p pii
	ln -sf libpii.so $(REL)/libpii.so.$(MAJOR)
	@test -e $(ORT_DIR)/libonnxruntime.so.1 || { echo "no ONNX Runtime in $(ORT_DIR): run scripts/setup.sh" >&2; exit 1; }
	cp -P $(ORT_DIR)/libonnxruntime.so.1* $(REL)/
	mkdir -p $(REL)/pkgconfig
	$(call pc_file,$(CURDIR)/$(REL),$(CURDIR)/include,$(CURDIR)/$(MODEL)) > $(REL)/pkgconfig/pii.pc
	$(call pc_static_file,$(CURDIR)/$(REL),$(CURDIR)/include,$(CURDIR)/$(MODEL)) > $(REL)/pkgconfig/pii-static.pc

# pc_file LIBDIR INCLUDEDIR MODELDIR: pii.pc on stdout. `-Wl,-rpath` so that a program built
# with only `pkg-config --cflags --libs pii` runs without LD_LIBRARY_PATH.
# pc_vars LIBDIR INCLUDEDIR MODELDIR: the variables both .pc files define.
pc_vars = 'libdir=$(1)' 'includedir=$(2)' 'modeldir=$(3)' 'ortlibrary=$${libdir}/libonnxruntime.so.1' ''
define pc_file
printf '%s\n' $(call pc_vars,$(1),$(2),$(3)) \
  'Name: pii' 'Description: PII tagger for speech-to-text transcripts' 'Version: $(VERSION)' \
  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lpii'
endef
# pc_static_file LIBDIR INCLUDEDIR MODELDIR: pii-static.pc (libpii.a; `pkg-config --static`
# adds the system libraries). ONNX Runtime is still loaded at run time: from the
# PII_ORT_LIBRARY environment variable, pii_options.ort_library, or beside the program.
define pc_static_file
printf '%s\n' $(call pc_vars,$(1),$(2),$(3)) \
  'Name: pii-static' 'Description: PII tagger for speech-to-text transcripts (static library)' \
  'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: $${libdir}/libpii.a' \
  'Libs.private: $(STATIC_LIBS)'
endef

install: lib
	install -d $(LIB)/pkgconfig $(LIB)/cmake/pii $(INC) $(SHARE)/pii/model $(SHARE)/doc/pii
	install -m 644 include/pii.h examples/cpp/pii.hpp $(INC)/
	install -m 755 $(REL)/libpii.so $(LIB)/libpii.so.$(VERSION)
	$(STRIP) --strip-debug $(LIB)/libpii.so.$(VERSION)
	ln -sf libpii.so.$(VERSION) $(LIB)/libpii.so.$(MAJOR)
	ln -sf libpii.so.$(MAJOR) $(LIB)/libpii.so
	install -m 644 $(REL)/libpii.a $(LIB)/libpii.a
	$(STRIP) --strip-debug $(LIB)/libpii.a
ifeq ($(INSTALL_ORT),1)
	install -m 755 $(ORT_DIR)/libonnxruntime.so.$(ORT_VERSION) $(LIB)/
	ln -sf libonnxruntime.so.$(ORT_VERSION) $(LIB)/libonnxruntime.so.1
	install -m 644 $(ORT_DIR)/LICENSE $(SHARE)/doc/pii/onnxruntime-LICENSE
	install -m 644 $(ORT_DIR)/ThirdPartyNotices.txt $(SHARE)/doc/pii/onnxruntime-ThirdPartyNotices.txt
endif
	install -m 644 $(MODEL)/model.onnx $(MODEL)/pii_model.json $(MODEL)/tokenizer.json $(SHARE)/pii/model/
	install -m 644 packaging/README.md $(SHARE)/doc/pii/README.md
	$(call pc_file,$${pcfiledir}/..,$${pcfiledir}/../../include,$${pcfiledir}/../../share/pii/model) > $(LIB)/pkgconfig/pii.pc
	$(call pc_static_file,$${pcfiledir}/..,$${pcfiledir}/../../include,$${pcfiledir}/../../share/pii/model) > $(LIB)/pkgconfig/pii-static.pc
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@MAJOR@/$(MAJOR)/g' -e 's/@STATIC_LIBS@/$(subst -l,,$(STATIC_LIBS))/g' \
	  packaging/piiConfig.cmake.in > $(LIB)/cmake/pii/piiConfig.cmake
	sed -e 's/@VERSION@/$(VERSION)/g' packaging/piiConfigVersion.cmake.in > $(LIB)/cmake/pii/piiConfigVersion.cmake

uninstall:
	rm -f $(INC)/pii.h $(INC)/pii.hpp $(LIB)/libpii.so $(LIB)/libpii.so.$(MAJOR) \
	  $(LIB)/libpii.so.$(VERSION) $(LIB)/libpii.a $(LIB)/pkgconfig/pii.pc $(LIB)/pkgconfig/pii-static.pc
	rm -rf $(LIB)/cmake/pii $(SHARE)/pii $(SHARE)/doc/pii
ifeq ($(INSTALL_ORT),1)
	rm -f $(LIB)/libonnxruntime.so.1 $(LIB)/libonnxruntime.so.$(ORT_VERSION)
endif

# The release archive: the install layout under pii-<version>-linux-x86_64/, with README.md
# at its top. scripts/test-install.sh checks its contents against packaging/dist-contents.txt.
dist: lib
	rm -rf $(DIST_DIR)/$(DIST_NAME) $(DIST_DIR)/$(DIST_NAME).tar.gz
	$(MAKE) --no-print-directory install PREFIX=/$(DIST_NAME) DESTDIR=$(CURDIR)/$(DIST_DIR) INSTALL_ORT=1
	cp packaging/README.md $(DIST_DIR)/$(DIST_NAME)/README.md
	tar -C $(DIST_DIR) --owner=0 --group=0 --numeric-owner --sort=name -czf $(DIST_DIR)/$(DIST_NAME).tar.gz $(DIST_NAME)
	@echo "dist: $(DIST_DIR)/$(DIST_NAME).tar.gz"

clean-dist:
	rm -rf $(DIST_DIR)
