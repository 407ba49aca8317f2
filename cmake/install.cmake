# Install layout and the .deb (included from the top-level CMakeLists.txt).
#
#   PREFIX/bin/oomharness
#   PREFIX/libexec/oomharness/{oomstress,oomharness-guest}   run inside the guest
#   PREFIX/share/oomharness/vm/          guest image recipe (its hash names the cached image)
#   PREFIX/share/oomharness/scenarios/   shipped scenarios, examples/ and schema/
#   PREFIX/share/doc/oomharness/         README.md, docs/
#
# oomharness finds its files relative to its own binary (harness/vm/include/vm/data_dir.hpp),
# so any prefix works, but only with this bin/, libexec/, share/ shape.
include(GNUInstallDirs)

foreach(dir BINDIR:bin LIBEXECDIR:libexec DATADIR:share)
  string(REPLACE ":" ";" pair ${dir})
  list(GET pair 0 var)
  list(GET pair 1 expected)
  if(NOT CMAKE_INSTALL_${var} STREQUAL expected)
    message(FATAL_ERROR "CMAKE_INSTALL_${var}=${CMAKE_INSTALL_${var}}: oomharness looks for its "
                        "files at <bin>/../${expected} (vm/data_dir.hpp); leave it at '${expected}'")
  endif()
endforeach()

install(TARGETS oomharness RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS oomstress oomharness-guest
        RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/oomharness)
# The recipe exactly as in the source (same files, so the same recipe hash and the
# same cached image); customize.sh and guest/oomharness-job stay executable.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/vm/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/oomharness/vm USE_SOURCE_PERMISSIONS)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/oomharness/scenarios)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/ stays a folder: it has its own README.md, and README.md links docs/...
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB (from the build folder) -> oomharness_<version>_amd64.deb.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME oomharness)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "oomharness")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "test systemd OOM policy in a disposable VM before it reaches production")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(OOMHARNESS_DEB_MAINTAINER
    "oomharness maintainers <oomharness@localhost>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${OOMHARNESS_DEB_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long description under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "A scenario file names services, their systemd OOM settings (OOMScoreAdjust=,
OOMPolicy=, Restart=, MemoryMax= ...), the memory each uses and how it grows,
and what must happen. oomharness boots a disposable Debian VM (qemu) with real
systemd, starts each service as a transient unit under memory pressure from its
own stressor, records what the kernel killed and how systemd reacted, and checks
it against the expectations. Memory pressure only happens inside the guest.")
# Depends: the packages scripts/bootstrap installs for the guest image and the VM,
# read from its "# guest image and VM" line so the two cannot drift apart, plus the
# shared libraries the binaries link (dpkg-shlibdeps, from dpkg-dev).
set(bootstrap_script ${PROJECT_SOURCE_DIR}/scripts/bootstrap)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${bootstrap_script})
file(READ ${bootstrap_script} bootstrap)
if(NOT bootstrap MATCHES "# guest image and VM\n *([^\n]+)")
  message(FATAL_ERROR "${bootstrap_script}: no package line under '# guest image and VM' "
                      "(the .deb's Depends come from it)")
endif()
string(STRIP "${CMAKE_MATCH_1}" vm_packages)
string(REGEX REPLACE " +" ", " CPACK_DEBIAN_PACKAGE_DEPENDS "${vm_packages}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
